// Package localfs is a wes.ResultStore on a local directory, for the embedded default
// deployment that has no object storage. Downloads go through the API's route (URL
// returns ""). Objects live under <root>/objects/<key>, and each object's content type
// and sha256 under <root>/meta/<key>.json, so no key can collide with metadata.
package localfs

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/spe4hd/enclave/pkg/egress"
	"github.com/spe4hd/enclave/pkg/wes"
)

const (
	objDir   = "objects"
	metaDir  = "meta"
	fileMode = 0o640
	dirMode  = 0o750
)

// Store keeps objects in a directory. Every file operation goes through an os.Root, so
// even a link planted inside the directory cannot lead a key outside it. Safe for
// concurrent use: a Put writes a temporary file and renames it into place.
type Store struct {
	root *os.Root
}

var _ wes.ResultStore = (*Store)(nil)

// New opens (creating it if needed, mode 0750) the store directory dir. Close releases it.
func New(dir string) (*Store, error) {
	for _, d := range []string{dir, dir + "/" + objDir, dir + "/" + metaDir} {
		if err := os.MkdirAll(d, dirMode); err != nil {
			return nil, wes.Internal(err, "the result store directory cannot be created")
		}
	}
	r, err := os.OpenRoot(dir)
	if err != nil {
		return nil, wes.Internal(err, "the result store directory cannot be opened")
	}
	return &Store{root: r}, nil
}

// Close releases the store's directory handle.
func (s *Store) Close() error { return s.root.Close() }

type meta struct {
	ContentType string `json:"content_type"`
	SHA256      string `json:"sha256"`
	Size        int64  `json:"size"`
}

// Put stores size bytes of r under key (EINVALID for a bad key, see egress.ValidateKey).
// A reader with fewer or more than size bytes is an error and stores nothing.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) (wes.ObjectInfo, error) {
	if err := egress.ValidateKey(key, false); err != nil {
		return wes.ObjectInfo{}, err
	}
	obj, mpath := objDir+"/"+key, metaDir+"/"+key+".json"
	for _, d := range []string{path.Dir(obj), path.Dir(mpath)} {
		if err := s.root.MkdirAll(d, dirMode); err != nil {
			return wes.ObjectInfo{}, wes.Internal(err, "the result store cannot create a directory for %s", key)
		}
	}
	h := sha256.New()
	n, err := s.writeAtomic(obj, func(w io.Writer) (int64, error) {
		n, err := io.Copy(w, io.TeeReader(&ctxReader{ctx, io.LimitReader(r, size+1)}, h))
		if err == nil && n != size {
			err = fmt.Errorf("got %d bytes, want %d", n, size)
		}
		return n, err
	})
	if err != nil {
		return wes.ObjectInfo{}, wes.Internal(err, "the result store could not write %s", key)
	}
	info := wes.ObjectInfo{Key: key, Size: n, SHA256: hex.EncodeToString(h.Sum(nil)), ContentType: contentType}
	b, _ := json.Marshal(meta{ContentType: contentType, SHA256: info.SHA256, Size: n})
	if _, err := s.writeAtomic(mpath, func(w io.Writer) (int64, error) {
		n, err := w.Write(b)
		return int64(n), err
	}); err != nil {
		return wes.ObjectInfo{}, wes.Internal(err, "the result store could not write metadata for %s", key)
	}
	return info, nil
}

// writeAtomic writes name through a temporary file in the same directory, synced and
// renamed into place, so readers see the old object or the whole new one.
func (s *Store) writeAtomic(name string, write func(io.Writer) (int64, error)) (int64, error) {
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	tmp := path.Dir(name) + "/.tmp-" + hex.EncodeToString(rnd[:])
	f, err := s.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fileMode)
	if err != nil {
		return 0, err
	}
	n, err := write(f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = s.root.Rename(tmp, name)
	}
	if err != nil {
		_ = s.root.Remove(tmp)
		return 0, err
	}
	return n, nil
}

// Get opens the object under key. ENOTFOUND if there is none.
func (s *Store) Get(ctx context.Context, key string) (io.ReadCloser, wes.ObjectInfo, error) {
	if err := egress.ValidateKey(key, false); err != nil {
		return nil, wes.ObjectInfo{}, err
	}
	b, err := s.root.ReadFile(metaDir + "/" + key + ".json")
	if errors.Is(err, fs.ErrNotExist) {
		return nil, wes.ObjectInfo{}, wes.Errorf(wes.ENOTFOUND, "no stored output %s", key)
	}
	if err != nil {
		return nil, wes.ObjectInfo{}, wes.Internal(err, "the result store could not read %s", key)
	}
	var m meta
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, wes.ObjectInfo{}, wes.Internal(err, "the result store's metadata for %s is damaged", key)
	}
	f, err := s.root.Open(objDir + "/" + key)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, wes.ObjectInfo{}, wes.Errorf(wes.ENOTFOUND, "no stored output %s", key)
	}
	if err != nil {
		return nil, wes.ObjectInfo{}, wes.Internal(err, "the result store could not open %s", key)
	}
	return f, wes.ObjectInfo{Key: key, Size: m.Size, SHA256: m.SHA256, ContentType: m.ContentType}, nil
}

// URL returns "": a local store has no direct download URLs; clients use the API's route.
func (s *Store) URL(ctx context.Context, key string, ttl time.Duration) (string, error) {
	return "", egress.ValidateKey(key, false)
}

// DeletePrefix removes every object whose key starts with prefix, and the directories
// it leaves empty. EINVALID for an empty or malformed prefix (a bug must not wipe the
// store).
func (s *Store) DeletePrefix(ctx context.Context, prefix string) error {
	if err := egress.ValidateKey(prefix, true); err != nil {
		return err
	}
	for _, tree := range []string{objDir, metaDir} {
		if err := s.deleteIn(ctx, tree, prefix); err != nil {
			return wes.Internal(err, "the result store could not delete outputs under %s", prefix)
		}
	}
	return nil
}

// deleteIn removes tree/<key> for each key with the prefix. Only the directory holding
// the prefix's last element needs a walk.
func (s *Store) deleteIn(ctx context.Context, tree, prefix string) error {
	full := tree + "/" + prefix
	dir := path.Dir(full)
	if strings.HasSuffix(prefix, "/") {
		dir = strings.TrimSuffix(full, "/")
	}
	fsys := s.root.FS()
	var dirs []string
	err := fs.WalkDir(fsys, dir, func(p string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) && p == dir {
			return fs.SkipAll // nothing stored under this prefix
		}
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() {
			if p != dir && !strings.HasPrefix(p+"/", full) && !strings.HasPrefix(full, p+"/") {
				return fs.SkipDir
			}
			dirs = append(dirs, p)
			return nil
		}
		if strings.HasPrefix(p, full) {
			return s.root.Remove(p)
		}
		return nil
	})
	if err != nil {
		return err
	}
	// Deepest first; a directory still holding other keys is simply not empty.
	for i := len(dirs) - 1; i >= 0; i-- {
		if dirs[i] != tree {
			_ = s.root.Remove(dirs[i])
		}
	}
	return nil
}

// ctxReader stops a copy when the context ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// ListKeys returns the keys of the objects whose key starts with prefix, sorted
// (EINVALID for a malformed prefix). Temporary files of Puts in flight are not objects.
func (s *Store) ListKeys(ctx context.Context, prefix string) ([]string, error) {
	if err := egress.ValidateKey(prefix, true); err != nil {
		return nil, err
	}
	full := objDir + "/" + prefix
	dir := path.Dir(full)
	if strings.HasSuffix(prefix, "/") {
		dir = strings.TrimSuffix(full, "/")
	}
	var keys []string
	err := fs.WalkDir(s.root.FS(), dir, func(p string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) && p == dir {
			return fs.SkipAll
		}
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.Type().IsRegular() && strings.HasPrefix(p, full) && !strings.HasPrefix(d.Name(), ".tmp-") {
			keys = append(keys, strings.TrimPrefix(p, objDir+"/"))
		}
		return nil
	})
	if err != nil {
		return nil, wes.Internal(err, "the result store could not list %s", prefix)
	}
	slices.Sort(keys)
	return keys, nil
}
