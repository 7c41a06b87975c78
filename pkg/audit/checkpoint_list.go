package audit

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/spe4hd/enclave/pkg/wes"
)

// KeyLister is a result store that can list its keys (both of Enclave's stores can).
type KeyLister interface {
	// ListKeys returns the keys starting with prefix, sorted.
	ListKeys(ctx context.Context, prefix string) ([]string, error)
}

// StoredCheckpoint is one line of ExportCheckpoints: an object of the checkpoint prefix
// as stored (Object), under Key. The server only carries it: the reader checks it.
type StoredCheckpoint struct {
	Key    string          `json:"key"`
	Object json.RawMessage `json:"object"`
}

// ExportCheckpoints writes every checkpoint of l's chain in store to w as JSON lines
// (StoredCheckpoint), in key order, which is seq order. What is stored is passed on
// unchecked (an object that is not JSON as a JSON string): the signatures are for the
// reader to check with a public key it holds, so a server with a rewritten Redis can
// withhold checkpoints but not forge them. ENOTFOUND for a store that cannot list.
func (l *Log) ExportCheckpoints(ctx context.Context, store wes.ResultStore, w io.Writer) error {
	lister, ok := store.(KeyLister)
	if !ok {
		return wes.Errorf(wes.ENOTFOUND, "this server's result store cannot list audit checkpoints")
	}
	keys, err := lister.ListKeys(ctx, checkpointDir(l.stream))
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	for _, k := range keys {
		b, err := readObject(ctx, store, k)
		if err != nil {
			return err
		}
		var c bytes.Buffer
		if json.Compact(&c, b) != nil {
			s, _ := json.Marshal(string(b))
			c.Reset()
			c.Write(s)
		}
		if err := enc.Encode(StoredCheckpoint{Key: k, Object: c.Bytes()}); err != nil {
			return err
		}
	}
	return bw.Flush()
}

func readObject(ctx context.Context, store wes.ResultStore, key string) ([]byte, error) {
	rc, _, err := store.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, maxCheckpointFile))
	if err != nil {
		return nil, wes.Internal(err, "the audit checkpoint %s could not be read", key)
	}
	return b, nil
}

// ReadCheckpoints parses the output of ExportCheckpoints. An object that is not a
// checkpoint is an error naming its key, and so is an answer without any.
func ReadCheckpoints(r io.Reader) ([]NamedCheckpoint, error) {
	var out []NamedCheckpoint
	dec := json.NewDecoder(r)
	for {
		var sc StoredCheckpoint
		err := dec.Decode(&sc)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("the list of checkpoints is not readable: %w", err)
		}
		cp, err := ParseCheckpoint(sc.Object)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", sc.Key, err)
		}
		out = append(out, NamedCheckpoint{Name: sc.Key, SignedCheckpoint: cp})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no audit checkpoints are stored (is audit.checkpoint.key_file set on the workers?)")
	}
	return out, nil
}
