package httpapi

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"strings"
	"syscall"

	"github.com/spe4hd/enclave/api"
	"github.com/spe4hd/enclave/pkg/wes"
)

// GetRunLogStream implements GET /runs/{run_id}/logs/{stream}: the engine's stdout or
// stderr from the byte offset on, with zone paths rewritten (zoneRewriter). Offsets count
// the raw bytes of the file. The file may still be growing: the answer covers what it
// held when opened, up to where a path could still be forming (redact.Rewriter.Section),
// and X-Enclave-Next-Offset says where the next read starts, so a client that follows
// the log by it sees every path rewritten, never cut.
func (s *server) GetRunLogStream(ctx context.Context, req api.GetRunLogStreamRequestObject) (api.GetRunLogStreamResponseObject, error) {
	r, p, err := s.visibleRun(ctx, req.RunId)
	if err != nil {
		return nil, err
	}
	if ok, why := s.engineOutputAccess(p, r); !ok {
		return nil, wes.Errorf(wes.EFORBIDDEN, "%s", why)
	}
	if req.Params.Offset < 0 {
		return nil, wes.Errorf(wes.EINVALID, "offset must be 0 or more; got %d", req.Params.Offset)
	}
	layout := wes.LayoutFor(s.cfg.DataDir, r.ID)
	var path string
	switch req.Stream {
	case api.GetRunLogStreamParamsStreamStdout:
		path = layout.StdoutPath()
	case api.GetRunLogStreamParamsStreamStderr:
		path = layout.StderrPath()
	default:
		return nil, wes.Errorf(wes.EINVALID, "stream must be stdout or stderr; got %q", truncate(string(req.Stream), 32))
	}
	empty := api.GetRunLogStream200TextplainCharsetUtf8Response{
		Body:    strings.NewReader(""),
		Headers: api.GetRunLogStream200ResponseHeaders{XEnclaveNextOffset: req.Params.Offset},
	}
	// O_NOFOLLOW: the log is written by a job; a symlink put in its place must not make
	// the server read some other file.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return empty, nil // the engine has not written anything yet
	}
	if err != nil {
		return nil, wes.Internal(err, "the %s log of run %s could not be opened", req.Stream, r.ID)
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, wes.Internal(err, "the %s log of run %s is not a regular file", req.Stream, r.ID)
	}
	size := fi.Size()
	if req.Params.Offset >= size {
		f.Close()
		return empty, nil
	}
	// A run that has ended writes no more: its log is read to the end.
	body, next, err := s.zoneRewriter(r).Section(f, size, req.Params.Offset, r.State.Terminal())
	if err != nil {
		f.Close()
		return nil, wes.Internal(err, "the %s log of run %s could not be read", req.Stream, r.ID)
	}
	return api.GetRunLogStream200TextplainCharsetUtf8Response{
		// The generated writer closes a Body that is an io.ReadCloser.
		Body:    readCloser{body, f},
		Headers: api.GetRunLogStream200ResponseHeaders{XEnclaveNextOffset: next},
	}, nil
}

// readCloser reads the rewritten log and closes its file.
type readCloser struct {
	io.Reader
	f *os.File
}

func (r readCloser) Close() error { return r.f.Close() }
