package audit

import (
	"crypto/ed25519"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// CheckpointSummary says what the checkpoints of an anchored verification covered.
type CheckpointSummary struct {
	Given    int `json:"given"`    // checkpoints read
	Anchored int `json:"anchored"` // signed correctly and matched against an entry of the export
	// Older were signed correctly but name an entry before the export's first one, so
	// they could not be checked. The trail is never trimmed today, so an export from
	// the server always starts at seq 1 and Older is 0; a partial export (or a trail
	// trimmed one day) still verifies against the checkpoints it contains.
	Older int `json:"older"`
	// Newest is the valid checkpoint with the highest seq: entries after it are held
	// only by the chain, so compare its time with the interval.
	Newest *Checkpoint `json:"newest,omitempty"`
}

// NamedCheckpoint is a checkpoint and where it was read from (file or object key),
// which problems name.
type NamedCheckpoint struct {
	Name string
	SignedCheckpoint
}

type anchor struct {
	cp   NamedCheckpoint
	seen bool
}

// anchor checks the entry against every checkpoint of its seq.
func (c *chain) anchor(e raw) {
	for _, a := range c.anchors[e.Seq] {
		a.seen = true
		if a.cp.Hash != e.Hash {
			c.problem(e.Seq, e.ID, ProblemCheckpoint,
				"checkpoint %s (made %s) says entry seq %d had hash %s, but it has %s: the chain was rewritten after the checkpoint",
				a.cp.Name, a.cp.Time, e.Seq, short(a.cp.Hash), short(e.Hash))
		} else {
			c.r.Checkpoints.Anchored++
		}
	}
}

func short(h string) string {
	if len(h) > 16 {
		return h[:16] + "..."
	}
	return h
}

// VerifyJSONLinesAnchored checks an export as VerifyJSONLines does, and also each
// checkpoint: its signature must hold under one of keys (by key id), and the export's
// entry with the checkpoint's seq must have the checkpoint's hash. A chain rewritten
// with fresh hashes passes VerifyJSONLines but fails here at every checkpoint before the
// rewrite; a chain cut behind a checkpoint fails with checkpoint_missing. A checkpoint
// of an entry before the export's first is counted as Older, not checked. All
// checkpoints must be of one chain (else an error, as for reading r).
func VerifyJSONLinesAnchored(r io.Reader, cps []NamedCheckpoint, keys []ed25519.PublicKey) (Report, error) {
	c := newChain()
	c.r.Checkpoints = &CheckpointSummary{Given: len(cps)}
	c.anchors = map[int64][]*anchor{}
	var chains []string
	for _, cp := range cps {
		if !slices.Contains(chains, cp.Chain) {
			chains = append(chains, cp.Chain)
		}
	}
	if len(chains) > 1 {
		return Report{}, fmt.Errorf("the checkpoints are of %d chains (%s): give the checkpoints of one deployment", len(chains), strings.Join(chains, ", "))
	}
	for _, cp := range cps {
		if err := cp.Check(keys); err != nil {
			c.problem(cp.Seq, cp.Name, ProblemSignature, "checkpoint %s: %v", cp.Name, err)
			continue
		}
		c.anchors[cp.Seq] = append(c.anchors[cp.Seq], &anchor{cp: cp})
		if n := c.r.Checkpoints.Newest; n == nil || cp.Seq > n.Seq || cp.Seq == n.Seq && cp.Time > n.Time {
			c.r.Checkpoints.Newest = &cp.Checkpoint
		}
	}
	if err := c.readLines(r); err != nil {
		return Report{}, err
	}
	seqs := make([]int64, 0, len(c.anchors))
	for s := range c.anchors {
		seqs = append(seqs, s)
	}
	slices.Sort(seqs)
	for _, s := range seqs {
		for _, a := range c.anchors[s] {
			switch {
			case a.seen:
			case c.firstSeq > 0 && s < c.firstSeq:
				c.r.Checkpoints.Older++
			default:
				c.problem(s, a.cp.Name, ProblemMissing,
					"checkpoint %s (made %s) names entry seq %d, which the export lacks (it ends at seq %d): entries were cut or the export is not of this chain",
					a.cp.Name, a.cp.Time, s, c.lastSeq)
			}
		}
	}
	return c.report(), nil
}

// maxCheckpointFile bounds one checkpoint file; one is about 400 bytes.
const maxCheckpointFile = 64 << 10

// LoadCheckpoints reads every *.json file under dir (recursively, as `mc mirror` or
// `aws s3 sync` copies CheckpointPrefix out of the bucket) as a checkpoint. A file that
// is not one is an error naming it, and so is a directory without any: verifying
// against no checkpoints would prove nothing.
func LoadCheckpoints(dir string) ([]NamedCheckpoint, error) {
	var out []NamedCheckpoint
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() || !strings.HasSuffix(p, ".json") {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		b, err := io.ReadAll(io.LimitReader(f, maxCheckpointFile))
		if err != nil {
			return err
		}
		cp, err := ParseCheckpoint(b)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		rel, _ := filepath.Rel(dir, p)
		out = append(out, NamedCheckpoint{Name: rel, SignedCheckpoint: cp})
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no checkpoint files (*.json) under %s; copy them from the result store's %s prefix", dir, CheckpointPrefix)
	}
	return out, nil
}
