package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"unicode/utf8"

	"github.com/redis/go-redis/v9"

	"github.com/spe4hd/enclave/pkg/wes"
)

// Head returns the id, owner and state of run id. It reads the same key as Get, in one
// GET, but decodes only the first members of the record (decodeHead): a status read is
// what clients poll, and decoding the whole run (its request, log, outputs) was the
// largest part of its cost. ENOTFOUND if there is no such run.
func (s *Store) Head(ctx context.Context, id string) (wes.RunHead, error) {
	data, err := s.c.Get(ctx, s.runKey(id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return wes.RunHead{}, notFound(id)
	}
	if err != nil {
		return wes.RunHead{}, storeErr(err, "read a run")
	}
	return decodeHead(data)
}

// decodeHead reads id, owner and state from a stored run. Runs are stored by
// json.Marshal of a wes.Run, which writes the struct's fields in order, so these three
// are the record's first members: scanHead reads them and stops. Anything it does not
// expect sends the record through encoding/json, which gives the same answer for every
// well-formed record; the difference is that the fast path does not look at what follows
// the state, so a record damaged there (which the store, writing whole records with one
// SET, never leaves) still has a state, where Get fails with EINTERNAL.
func decodeHead(data []byte) (wes.RunHead, error) {
	if h, ok := scanHead(data); ok {
		return h, nil
	}
	var h struct {
		ID    string    `json:"id"`
		Owner string    `json:"owner"`
		State wes.State `json:"state"`
	}
	if err := json.Unmarshal(data, &h); err != nil {
		return wes.RunHead{}, wes.Internal(err, "a stored run could not be decoded")
	}
	return wes.RunHead{ID: h.ID, Owner: h.Owner, State: h.State}, nil
}

// scanHead reads the members id, owner and state from the start of a JSON object whose
// leading members have string values, in any order, and gives up (false) at anything
// else before it has all three: whitespace, a value that is not a string, a key that is
// escaped or seen twice (encoding/json would keep the last), the end of the object, or
// malformed input.
func scanHead(data []byte) (wes.RunHead, bool) {
	var h wes.RunHead
	if len(data) == 0 || data[0] != '{' {
		return h, false
	}
	const haveID, haveOwner, haveState = 1, 2, 4
	have, i := 0, 1
	for have != haveID|haveOwner|haveState {
		key, esc, next, ok := scanString(data, i)
		if !ok || esc || next >= len(data) || data[next] != ':' {
			return h, false
		}
		raw, esc, next, ok := scanString(data, next+1)
		if !ok || next >= len(data) || data[next] != ',' {
			return h, false
		}
		var bit int
		var dst *string
		switch string(key) {
		case "id":
			bit, dst = haveID, &h.ID
		case "owner":
			bit, dst = haveOwner, &h.Owner
		case "state":
			bit = haveState
			h.State, ok = state(raw, esc)
		}
		if dst != nil {
			*dst, ok = unquote(raw, esc)
		}
		if !ok || have&bit != 0 {
			return h, false
		}
		have |= bit
		i = next + 1
	}
	return h, true
}

// scanString finds the JSON string starting at data[i]: its raw bytes between the
// quotes, whether they hold an escape, and the index just past the closing quote.
func scanString(data []byte, i int) (raw []byte, escaped bool, next int, ok bool) {
	if i >= len(data) || data[i] != '"' {
		return nil, false, 0, false
	}
	for j := i + 1; j < len(data); j++ {
		switch c := data[j]; {
		case c == '\\':
			escaped = true
			j++ // the escaped character cannot end the string
		case c == '"':
			return data[i+1 : j], escaped, j + 1, true
		case c < 0x20:
			return nil, false, 0, false // a control character must be escaped
		}
	}
	return nil, false, 0, false
}

// unquote returns the string whose raw JSON form scanString found: as it is when it has
// no escape and is valid UTF-8 (as encoding/json writes most strings), else decoded by
// encoding/json, which also replaces invalid UTF-8 as Get's decoding would.
func unquote(raw []byte, escaped bool) (string, bool) {
	if !escaped && utf8.Valid(raw) {
		return string(raw), true
	}
	quoted := make([]byte, 0, len(raw)+2)
	quoted = append(append(append(quoted, '"'), raw...), '"')
	var s string
	if err := json.Unmarshal(quoted, &s); err != nil {
		return "", false
	}
	return s, true
}

// state returns a state without allocating for the states there are.
func state(raw []byte, escaped bool) (wes.State, bool) {
	if !escaped {
		for _, st := range wes.AllStates {
			if string(st) == string(raw) {
				return st, true
			}
		}
	}
	s, ok := unquote(raw, escaped)
	return wes.State(s), ok
}
