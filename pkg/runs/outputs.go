package runs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path"
	"strconv"
	"syscall"
	"time"

	"github.com/spe4hd/enclave/pkg/wes"
)

// OutputView is one of a run's outputs as a caller may see it.
type OutputView struct {
	// Output is the recorded output; Size, SHA256 and ContentType are zero unless the
	// output was released or the caller is a Reviewer.
	wes.Output
	// URL is a presigned URL of the result store, when one was handed out; "" means the
	// face's own download route (Download), which audits each download.
	URL string
	// Approvals is how many reviewers have approved the file so far (of
	// Output.ApprovalsRequired); Output.ApprovedBy, who they are, is for reviewers only.
	Approvals int
}

// OutputList is what GET /runs/{id}/outputs shows.
type OutputList struct {
	Run *wes.Run
	// Egress is the workflow's output policy (auto or review), "" outside the catalogue.
	Egress  string
	Outputs []OutputView
}

// presignedURL is a released output's presigned URL where Config.PresignedURLs allows it,
// audited here as it is issued (who, which output, how long it is valid), since what is
// fetched with it is not. "" when none is handed out: no presigning, no URL from the
// store, or a trail that cannot record it.
func (s *Service) presignedURL(ctx context.Context, p *wes.Principal, r *wes.Run, o wes.Output) string {
	if !s.cfg.PresignedURLs || s.deps.Results == nil {
		return ""
	}
	u, err := s.deps.Results.URL(ctx, o.Key, s.cfg.OutputURLTTL)
	if err != nil {
		s.log.Warn("no presigned URL for an output; pointing at the download route", "run_id", r.ID, "err", err)
		return ""
	}
	if u == "" {
		return ""
	}
	actor := "anonymous"
	if p != nil {
		actor = p.Subject
	}
	ev := runEvent(actor, actionOutputURL, "ok", r)
	ev.Detail = map[string]string{"path": o.Path, "sha256": o.SHA256, "ttl_seconds": strconv.Itoa(int(s.cfg.OutputURLTTL.Seconds())),
		"expires": time.Now().Add(s.cfg.OutputURLTTL).UTC().Format(time.RFC3339)}
	if s.record(ctx, ev) != nil {
		return ""
	}
	return u
}

// OutputViews lists r's released, pending and rejected outputs as p may see them.
func (s *Service) OutputViews(ctx context.Context, p *wes.Principal, r *wes.Run) []OutputView {
	out := make([]OutputView, 0, len(r.Released))
	for _, o := range r.Released {
		v := OutputView{Output: wes.Output{Path: o.Path, Status: o.Status, Checks: checksFor(p, o.Checks),
			ApprovalsRequired: o.ApprovalsRequired}, Approvals: len(o.ApprovedBy)}
		if o.Status == wes.OutputReleased || Reviewer(p) {
			v.Size, v.SHA256, v.ContentType = o.Size, o.SHA256, o.ContentType
		}
		if Reviewer(p) {
			v.ApprovedBy = o.ApprovedBy
		}
		if o.Status == wes.OutputReleased {
			v.Released = o.Released
			v.URL = s.presignedURL(ctx, p, r, o)
		} else {
			v.Reason = o.Reason
		}
		out = append(out, v)
	}
	return out
}

// checksFor is what p sees of an output's disclosure check results. Reviewers see where
// each check failed (row, column). Everyone else sees which checks passed and failed, not
// where: which rows of a held table fail a check says something about data no reviewer
// has passed, and a workflow could be written to spell data out that way, a bit a row.
func checksFor(p *wes.Principal, in []wes.CheckResult) []wes.CheckResult {
	if len(in) == 0 || Reviewer(p) {
		return in
	}
	out := make([]wes.CheckResult, len(in))
	for i, c := range in {
		out[i] = wes.CheckResult{Check: c.Check, Passed: c.Passed}
	}
	return out
}

// Outputs returns run id's outputs as p may see them, with the workflow's output policy.
func (s *Service) Outputs(ctx context.Context, p *wes.Principal, id string) (*OutputList, error) {
	r, err := s.Visible(ctx, p, id)
	if err != nil {
		return nil, err
	}
	return s.outputList(ctx, p, r), nil
}

func (s *Service) outputList(ctx context.Context, p *wes.Principal, r *wes.Run) *OutputList {
	l := &OutputList{Run: r, Outputs: s.OutputViews(ctx, p, r)}
	if cat := s.currentCatalog(); cat != nil && r.Workflow != "" {
		if e, ok := cat.Entry(r.Workflow); ok {
			l.Egress = e.Egress
		}
	}
	return l
}

// findOutput returns the output of r at p.
func findOutput(r *wes.Run, p string) (wes.Output, bool) {
	for _, o := range r.Released {
		if o.Path == p {
			return o, true
		}
	}
	return wes.Output{}, false
}

// Download is a released output's content, to be sent as an attachment.
type Download struct {
	Body        io.ReadCloser // the caller closes it
	Size        int64
	ContentType string
	SHA256      string
	Name        string // the file's base name
}

// Download returns a released output's bytes from the result store, checked against the
// sha256 recorded at release. A reviewer (not the run's owner) also gets a pending
// output, read from the run's work directory, to decide on it (inspect). Each download is
// audited before a byte is sent.
func (s *Service) Download(ctx context.Context, p *wes.Principal, id, outPath string) (*Download, error) {
	r, err := s.Visible(ctx, p, id)
	if err != nil {
		return nil, err
	}
	o, ok := findOutput(r, outPath)
	switch {
	case !ok:
		return nil, wes.Errorf(wes.ENOTFOUND, "run %s has no output %q; GET /runs/%s/outputs lists them", r.ID, truncate(outPath, 200), r.ID)
	case o.Status == wes.OutputPending && Reviewer(p) && !ownRun(p, r) && s.stewardOf(p, r) == nil:
		return s.inspect(ctx, p, r, o)
	case o.Status == wes.OutputPending:
		return nil, wes.Errorf(wes.ECONFLICT, "output %q of run %s is waiting for a data controller's review", o.Path, r.ID)
	case o.Status != wes.OutputReleased:
		why := o.Reason
		if why == "" {
			why = "a data controller rejected it"
		}
		return nil, wes.Errorf(wes.EFORBIDDEN, "output %q of run %s was not released: %s", o.Path, r.ID, why)
	case s.deps.Results == nil:
		return nil, wes.Errorf(wes.EUNAVAILABLE, "this server has no result store to download outputs from")
	}
	rc, info, err := s.deps.Results.Get(ctx, o.Key)
	if err != nil {
		if wes.IsCode(err, wes.ENOTFOUND) {
			return nil, wes.Errorf(wes.ENOTFOUND, "output %q of run %s is no longer stored", o.Path, r.ID)
		}
		return nil, err
	}
	ev := runEvent(p.Subject, actionDownload, "ok", r)
	ev.Detail = map[string]string{"path": o.Path, "sha256": o.SHA256, "size": strconv.FormatInt(o.Size, 10)}
	if info.SHA256 != "" && info.SHA256 != o.SHA256 {
		rc.Close()
		ev.Outcome, ev.Reason = "error", "the stored object does not match the sha256 recorded at release"
		_ = s.record(ctx, ev)
		return nil, wes.Internal(fmt.Errorf("object %s has sha256 %s, recorded %s", o.Key, info.SHA256, o.SHA256),
			"output %q of run %s failed its integrity check", o.Path, r.ID)
	}
	if s.record(ctx, ev) != nil {
		rc.Close()
		return nil, errAuditDown
	}
	size := info.Size
	if size <= 0 {
		size = o.Size
	}
	return &Download{Body: rc, Size: size, ContentType: o.ContentType, SHA256: o.SHA256, Name: path.Base(o.Path)}, nil
}

// actionInspect is the audit action of a reviewer reading a pending output.
const actionInspect = "output.inspect"

// inspect hands a reviewer a pending output from the run's work directory: opened without
// following a link, only while it is a regular file of the recorded size and sha256 (it
// is hashed before anything is sent, and again as it is sent: a file changed in between
// ends the transfer with an error rather than deliver other bytes). Audited before a byte
// is sent.
func (s *Service) inspect(ctx context.Context, p *wes.Principal, r *wes.Run, o wes.Output) (*Download, error) {
	workDir := wes.LayoutFor(s.cfg.DataDir, r.ID).WorkDir()
	open := func() (*os.File, error) {
		root, err := os.OpenRoot(workDir)
		if err != nil {
			return nil, err
		}
		defer root.Close()
		f, err := root.OpenFile(o.Path, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
		if err != nil {
			return nil, err
		}
		if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() || fi.Size() != o.Size {
			f.Close()
			return nil, errors.New("not the file that was held")
		}
		return f, nil
	}
	changed := wes.Errorf(wes.ECONFLICT, "output %q of run %s is no longer the file that was held for review; it cannot be released", o.Path, r.ID)
	f, err := open()
	if err != nil {
		return nil, changed
	}
	h := sha256.New()
	_, err = io.Copy(h, f)
	f.Close()
	if err != nil || hex.EncodeToString(h.Sum(nil)) != o.SHA256 {
		return nil, changed
	}
	ev := runEvent(p.Subject, actionInspect, "ok", r)
	ev.Detail = map[string]string{"path": o.Path, "sha256": o.SHA256, "size": strconv.FormatInt(o.Size, 10), "status": o.Status}
	if s.record(ctx, ev) != nil {
		return nil, errAuditDown
	}
	if f, err = open(); err != nil {
		return nil, changed
	}
	return &Download{Body: &verifying{f: f, h: sha256.New(), want: o.SHA256, size: o.Size}, Size: o.Size,
		ContentType: o.ContentType, SHA256: o.SHA256, Name: path.Base(o.Path)}, nil
}

// verifying reads a file of a known size while hashing it. Its last bytes are held back
// unless the whole has the expected sha256, so a file changed after it was checked never
// reaches the reader complete: the transfer ends short, with an error.
type verifying struct {
	f    *os.File
	h    hash.Hash
	want string
	size int64
	read int64
}

func (v *verifying) Read(b []byte) (int, error) {
	if rest := v.size - v.read; int64(len(b)) > rest {
		b = b[:rest]
	}
	if len(b) == 0 {
		return 0, io.EOF
	}
	n, err := v.f.Read(b)
	v.h.Write(b[:n])
	v.read += int64(n)
	if v.read == v.size && hex.EncodeToString(v.h.Sum(nil)) != v.want {
		return 0, errors.New("the file changed while it was sent")
	}
	if errors.Is(err, io.EOF) && v.read < v.size {
		return n, io.ErrUnexpectedEOF
	}
	return n, err
}

func (v *verifying) Close() error { return v.f.Close() }
