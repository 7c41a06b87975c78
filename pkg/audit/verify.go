package audit

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// Report is the outcome of a chain verification.
type Report struct {
	OK      bool   `json:"ok"`
	Entries int64  `json:"entries"` // entries checked
	Head    string `json:"head"`    // hash of the last entry: record it elsewhere to anchor the chain
	// Problems found, in chain order; at most maxProblems (then Truncated).
	Problems  []Problem `json:"problems,omitempty"`
	Truncated bool      `json:"truncated,omitempty"`
	// Checkpoints is set by VerifyJSONLinesAnchored only.
	Checkpoints *CheckpointSummary `json:"checkpoints,omitempty"`
}

// Problem is one place where the chain does not hold.
type Problem struct {
	Seq     int64  `json:"seq"`          // the entry's stated seq (0 if unreadable)
	ID      string `json:"id,omitempty"` // stream id, or "line N" for an export
	Kind    string `json:"kind"`         // one of the Problem* constants
	Message string `json:"message"`
}

// Kinds of problem.
const (
	ProblemMalformed = "malformed"     // not a readable entry
	ProblemSequence  = "sequence"      // seq is not the previous seq + 1: an entry deleted, inserted or moved
	ProblemLink      = "broken_link"   // prev is not the previous entry's hash: deleted, inserted or moved
	ProblemHash      = "hash_mismatch" // hash does not cover the entry: edited
	ProblemHead      = "head_mismatch" // the head record disagrees with the last entry: tail cut or forged
	// Kinds of VerifyJSONLinesAnchored.
	ProblemSignature  = "bad_checkpoint"      // a checkpoint's signature does not hold: forged or altered
	ProblemCheckpoint = "checkpoint_mismatch" // the checkpointed entry has another hash or id: the chain was rewritten
	ProblemMissing    = "checkpoint_missing"  // the checkpointed entry is not in the export: the chain was cut
)

const maxProblems = 100

// chain checks entries one after another. After a problem it continues from the
// entry's stated seq and hash, so one tampering shows up where it is, not everywhere after.
type chain struct {
	r        Report
	lastSeq  int64
	lastHash string
	firstSeq int64               // the first readable entry's seq; 0 before one
	anchors  map[int64][]*anchor // checkpoints by seq (VerifyJSONLinesAnchored)
}

func newChain() *chain { return &chain{lastHash: Genesis} }

func (c *chain) problem(seq int64, id, kind, format string, args ...any) {
	if len(c.r.Problems) >= maxProblems {
		c.r.Truncated = true
		return
	}
	c.r.Problems = append(c.r.Problems, Problem{Seq: seq, ID: id, Kind: kind, Message: fmt.Sprintf(format, args...)})
}

func (c *chain) add(e raw, ok bool) {
	c.r.Entries++
	if !ok {
		c.problem(e.Seq, e.ID, ProblemMalformed, "the entry is not a readable audit entry")
		return
	}
	if e.Seq != c.lastSeq+1 {
		c.problem(e.Seq, e.ID, ProblemSequence, "seq %d follows seq %d", e.Seq, c.lastSeq)
	}
	if e.Prev != c.lastHash {
		c.problem(e.Seq, e.ID, ProblemLink, "prev does not match the hash of the entry before it")
	}
	if Hash(e.Seq, e.Prev, e.Event) != e.Hash {
		c.problem(e.Seq, e.ID, ProblemHash, "the hash does not match the entry's content")
	}
	if c.firstSeq == 0 {
		c.firstSeq = e.Seq
	}
	c.anchor(e)
	c.lastSeq, c.lastHash = e.Seq, e.Hash
}

func (c *chain) report() Report {
	c.r.Head = c.lastHash
	c.r.OK = len(c.r.Problems) == 0 && !c.r.Truncated
	return c.r
}

// Verify checks the whole trail in Redis: every entry's hash, seq and link, and that the
// head record matches the last entry. Tampering is reported in the Report (OK false);
// the error is only for Redis failures. Entries appended while Verify runs are
// included up to the head it finally reads.
func (l *Log) Verify(ctx context.Context) (Report, error) {
	c := newChain()
	start := "-"
	for {
		before := c.r.Entries
		for {
			msgs, err := l.c.XRangeN(ctx, l.stream, start, "+", batch).Result()
			if err != nil {
				return Report{}, redisErr(err, "read the audit trail")
			}
			for _, m := range msgs {
				c.add(rawOf(m))
			}
			if len(msgs) > 0 {
				start = "(" + msgs[len(msgs)-1].ID
			}
			if len(msgs) < batch {
				break
			}
		}
		h, err := l.c.HMGet(ctx, l.head, "seq", "hash").Result()
		if err != nil {
			return Report{}, redisErr(err, "read the audit head")
		}
		headSeq, _ := strconv.ParseInt(str(h[0], "0"), 10, 64)
		headHash := str(h[1], Genesis)
		switch {
		case headSeq > c.lastSeq && c.r.Entries > before:
			continue // appended since the scan, probably: read those too
		case headSeq != c.lastSeq || headHash != c.lastHash:
			c.problem(c.lastSeq, "head", ProblemHead,
				"the head names seq %d but the last entry is seq %d (or their hashes differ): entries were cut or added outside Enclave", headSeq, c.lastSeq)
		}
		return c.report(), nil
	}
}

// VerifyJSONLines checks an export written by Export. Blank lines are skipped; a line
// that is not an entry is a malformed problem. An export carries no head record, so a
// cut-off tail is only visible by comparing Report.Head and Entries with the live
// trail's Verify or an anchored head. The error is only for reading r.
func VerifyJSONLines(r io.Reader) (Report, error) {
	c := newChain()
	if err := c.readLines(r); err != nil {
		return Report{}, err
	}
	return c.report(), nil
}

// readLines adds every entry of an export to c.
func (c *chain) readLines(r io.Reader) error {
	br := bufio.NewReader(r)
	for n := 1; ; n++ {
		line, err := br.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			var e raw
			ok := json.Unmarshal(line, &e) == nil && len(e.Event) > 0 && e.Event[0] == '{'
			if e.ID == "" || !ok {
				e.ID = "line " + strconv.Itoa(n)
			}
			c.add(e, ok)
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
