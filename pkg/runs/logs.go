package runs

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"syscall"

	"github.com/spe4hd/enclave/pkg/wes"
)

// Log streams of a run.
const (
	Stdout = "stdout"
	Stderr = "stderr"
)

// LogSection returns the engine's stdout or stderr of run id from byte offset on, with
// zone paths rewritten, and the offset to continue from. Only callers the log policy lets
// read the engine's output get it (EFORBIDDEN with the reason otherwise). A log the engine
// has not written yet, or an offset at its end, is an empty body.
func (s *Service) LogSection(ctx context.Context, p *wes.Principal, id, stream string, offset int64) (io.ReadCloser, int64, error) {
	r, err := s.Visible(ctx, p, id)
	if err != nil {
		return nil, 0, err
	}
	if ok, why := s.engineOutputAccess(p, r); !ok {
		return nil, 0, wes.Errorf(wes.EFORBIDDEN, "%s", why)
	}
	if offset < 0 {
		return nil, 0, wes.Errorf(wes.EINVALID, "offset must be 0 or more; got %d", offset)
	}
	if stream == Stdout || stream == Stderr {
		s.auditLogRead(ctx, p, r, stream, offset)
	}
	layout := wes.LayoutFor(s.cfg.DataDir, r.ID)
	var path string
	switch stream {
	case Stdout:
		path = layout.StdoutPath()
	case Stderr:
		path = layout.StderrPath()
	default:
		return nil, 0, wes.Errorf(wes.EINVALID, "stream must be stdout or stderr; got %q", truncate(stream, 32))
	}
	empty := io.NopCloser(strings.NewReader(""))
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if errors.Is(err, fs.ErrNotExist) {
		if lr := s.liveLogReader(r); lr != nil {
			return s.liveSection(ctx, lr, r, stream, offset)
		}
		return empty, offset, nil // the engine has not written anything yet
	}
	if err != nil {
		return nil, 0, wes.Internal(err, "the %s log of run %s could not be opened", stream, r.ID)
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, 0, wes.Internal(err, "the %s log of run %s is not a regular file", stream, r.ID)
	}
	size := fi.Size()
	if offset >= size {
		f.Close()
		return empty, offset, nil
	}
	body, next, err := s.zoneRewriter(r).Section(f, size, offset, r.State.Terminal())
	if err != nil {
		f.Close()
		return nil, 0, wes.Internal(err, "the %s log of run %s could not be read", stream, r.ID)
	}
	return readCloser{body, f}, next, nil
}

// readCloser reads the rewritten section and closes the log file.
type readCloser struct {
	io.Reader
	f *os.File
}

func (r readCloser) Close() error { return r.f.Close() }

// actionLogRead is the audit action of reading a run's engine log.
const actionLogRead = "run.log.read"

// auditLogRead records that p read a stream of run r's engine log from offset: engine
// output may carry data from inside the zone. A client following a log reads it every
// second, so at most a few reads a minute per caller, run and stream are recorded, the
// next recorded one counting those held back.
func (s *Service) auditLogRead(ctx context.Context, p *wes.Principal, r *wes.Run, stream string, offset int64) {
	ok, h := s.logReads.allow(p.Subject + "\x00" + r.ID + "\x00" + stream)
	if !ok {
		return
	}
	ev := runEvent(p.Subject, actionLogRead, "ok", r)
	ev.Detail = map[string]string{"stream": stream, "offset": strconv.FormatInt(offset, 10)}
	addHeld(ev.Detail, h)
	_ = s.record(ctx, ev)
}
