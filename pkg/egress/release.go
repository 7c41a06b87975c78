package egress

import (
	"context"
	"errors"
	"io"
	"mime"
	"path"
	"path/filepath"
	"strconv"
	"time"

	"github.com/spe4hd/enclave/pkg/wes"
)

// Audit actions Release and Refusal.Event emit.
const (
	ActionRelease = "egress.release"
	ActionRefuse  = "egress.refuse"
)

// Release copies each candidate from workDir to store under keyPrefix + its path and
// returns the released outputs, in the order given. Before copying, it re-opens the file
// without following links and checks it is still the regular file Select saw (device,
// inode, size, a single link); a file that is not is refused (an egress.refuse event),
// not copied, and Release goes on.
//
// audit, when not nil, gets one event per file: egress.release (outcome ok, or error
// when the upload failed) or egress.refuse. Release fills Time, Actor ("system"),
// Action, Outcome, Reason and Detail (path, size, sha256, key, kind); the caller's func
// adds RunID and Workflow.
//
// An upload error stops Release and is returned (the runner ends the run in
// SYSTEM_ERROR); outputs already stored stay, and the caller may DeletePrefix(keyPrefix).
// keyPrefix is per owner and run (see KeyPrefix); EINVALID if it is not a valid prefix.
func Release(ctx context.Context, store wes.ResultStore, keyPrefix string, workDir string, cands []Candidate, audit func(wes.AuditEvent)) ([]wes.Output, error) {
	if err := ValidateKey(keyPrefix, true); err != nil {
		return nil, err
	}
	if audit == nil {
		audit = func(wes.AuditEvent) {}
	}
	root, err := filepath.EvalSymlinks(workDir)
	if err != nil {
		return nil, wes.Internal(err, "the run's work directory cannot be read")
	}
	var out []wes.Output
	for _, c := range cands {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		o, ref, err := releaseOne(ctx, store, keyPrefix, root, c)
		switch {
		case err != nil:
			audit(event(ActionRelease, "error", "the upload to the result store failed", map[string]string{"path": c.Path}))
			return out, err
		case ref != nil:
			audit(ref.Event())
		default:
			audit(event(ActionRelease, "ok", "", map[string]string{
				"path": o.Path, "size": strconv.FormatInt(o.Size, 10), "sha256": o.SHA256,
				"key": o.Key, "content_type": o.ContentType,
			}))
			out = append(out, o)
		}
	}
	return out, nil
}

// releaseOne copies one candidate, or says why it is refused. err is an upload error.
func releaseOne(ctx context.Context, store wes.ResultStore, keyPrefix, root string, c Candidate) (wes.Output, *Refusal, error) {
	refuse := func(kind, reason string) (wes.Output, *Refusal, error) {
		return wes.Output{}, &Refusal{Path: c.Path, Kind: kind, Reason: reason}, nil
	}
	// Candidates normally come from Select, but they may have been stored and read back:
	// check the path before it is opened or becomes a key.
	if ValidateKey(c.Path, false) != nil || path.Clean(c.Path) != c.Path {
		return refuse(RefuseInvalidPath, "is not a clean path relative to the work directory")
	}
	f, err := openBeneath(root, c.Path)
	switch {
	case errors.Is(err, errLink):
		return refuse(RefuseChanged, "was replaced by a symbolic link after it was selected")
	case err != nil:
		return refuse(RefuseChanged, "is gone or unreadable since it was selected")
	}
	defer f.Close()
	fi, err := f.Stat() // fstat of the open descriptor: what we will read
	if err != nil {
		return refuse(RefuseUnreadable, "could not be inspected")
	}
	id, ok := fileIDOf(fi)
	switch {
	case !ok:
		return refuse(RefuseUnreadable, "could not be inspected")
	case !fi.Mode().IsRegular():
		return refuse(RefuseChanged, "is no longer a regular file")
	case id.dev != c.Device || id.ino != c.Inode:
		return refuse(RefuseChanged, "was replaced by another file after it was selected")
	case fi.Size() != c.Size:
		return refuse(RefuseChanged, "changed size after it was selected")
	case id.nlink > 1:
		return refuse(RefuseHardLink, "gained a hard link after it was selected")
	}
	key := keyPrefix + c.Path
	ct := ContentType(c.Path)
	// A SectionReader reads exactly Size bytes with pread and can seek, so a store can
	// hash it in a first pass and upload it in a second.
	info, err := store.Put(ctx, key, io.NewSectionReader(f, 0, c.Size), c.Size, ct)
	if err != nil {
		return wes.Output{}, nil, err
	}
	if info.Size != c.Size {
		return wes.Output{}, nil, wes.Internal(errors.New("size mismatch"), "the result store kept %d of %d bytes of %s", info.Size, c.Size, c.Path)
	}
	return wes.Output{
		Path: c.Path, Size: c.Size, SHA256: info.SHA256, ContentType: ct, Key: key,
		Status: wes.OutputReleased, Released: time.Now().UTC(),
	}, nil, nil
}

// ContentType is the MIME type released outputs get, by file extension; default
// application/octet-stream.
func ContentType(p string) string {
	if t := mime.TypeByExtension(path.Ext(p)); t != "" {
		return t
	}
	return "application/octet-stream"
}

// Event is the audit event for a refusal (egress.refuse, outcome refused); the caller
// adds RunID and Workflow.
func (r Refusal) Event() wes.AuditEvent {
	return event(ActionRefuse, "refused", r.Path+" "+r.Reason, map[string]string{"path": r.Path, "kind": r.Kind})
}

func event(action, outcome, reason string, detail map[string]string) wes.AuditEvent {
	return wes.AuditEvent{
		Time: time.Now().UTC(), Actor: "system", Action: action, Outcome: outcome,
		Reason: reason, Detail: detail,
	}
}
