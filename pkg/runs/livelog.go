package runs

import (
	"bytes"
	"context"
	"io"
	"strings"
	"time"

	"github.com/spe4hd/enclave/pkg/wes"
)

// Limits of a live log read: the backend is asked for the whole log each time (none of
// them reads from an offset), so one read takes at most maxLiveLogBytes of it, and waits
// at most liveLogTimeout for the backend.
const (
	maxLiveLogBytes = 64 << 20
	liveLogTimeout  = 15 * time.Second
)

// liveLogReader is the LogReader of r's executor when r's log is to be read from the
// backend: the job is live (it has a handle and has not ended) and its executor keeps
// the log until the job ends (Docker, Kubernetes, TES copy it into the work directory
// then). nil otherwise.
func (s *Service) liveLogReader(r *wes.Run) wes.LogReader {
	if s.deps.LogReader == nil || r.Handle == nil || r.State.Terminal() {
		return nil
	}
	return s.deps.LogReader(r.Executor)
}

// liveSection is LogSection's answer for a live job: stream's bytes from offset on as the
// backend holds them now, with zone paths rewritten, and the offset to go on from. It
// never ends inside a path that more bytes could still change (as for a growing file),
// so a client following it by offset sees each path rewritten whole. A job whose log the
// backend has not started yet has an empty log.
func (s *Service) liveSection(ctx context.Context, lr wes.LogReader, r *wes.Run, stream string, offset int64) (io.ReadCloser, int64, error) {
	empty := io.NopCloser(strings.NewReader(""))
	ctx, cancel := context.WithTimeout(ctx, liveLogTimeout)
	defer cancel()
	rc, err := lr.Logs(ctx, *r.Handle, stream)
	switch {
	case wes.IsCode(err, wes.ENOTFOUND):
		return empty, offset, nil
	case err != nil:
		s.log.Warn("a live log could not be read from the executor", "run_id", r.ID, "executor", r.Executor, "err", err)
		return nil, 0, wes.Errorf(wes.EUNAVAILABLE, "the %s log of run %s could not be read from its executor just now; try again", stream, r.ID)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, maxLiveLogBytes))
	if err != nil && len(b) == 0 {
		s.log.Warn("a live log could not be read from the executor", "run_id", r.ID, "executor", r.Executor, "err", err)
		return nil, 0, wes.Errorf(wes.EUNAVAILABLE, "the %s log of run %s could not be read from its executor just now; try again", stream, r.ID)
	}
	size := int64(len(b))
	if offset >= size {
		return empty, offset, nil
	}
	body, next, err := s.zoneRewriter(r).Section(bytes.NewReader(b), size, offset, false)
	if err != nil {
		return nil, 0, wes.Internal(err, "the %s log of run %s could not be read", stream, r.ID)
	}
	return io.NopCloser(body), next, nil
}
