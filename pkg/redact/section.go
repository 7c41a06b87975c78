package redact

import (
	"bytes"
	"errors"
	"io"
	"strings"
)

// Logs are read by raw byte offset while the job may still be writing them, so a read can
// end inside a path the next write completes, or start inside one. Section keeps both
// from showing a piece of a path:
//
//   - No rule's path holds a line break, so no path crosses one, and scanning from the
//     start of a line finds the same paths as scanning the whole log. A read scans from
//     the start of the line its offset falls in; when the offset falls inside a path, the
//     text starts with that path's placeholder.
//   - A read of a log that may grow stops where the text could still become a path (or a
//     longer one) once more is written: at the first position, in the last bytes, that
//     starts a proper prefix of a rule's path. The raw offset it stopped at is the offset
//     for the next read, so following a log by it shows each path once, rewritten.
//
// lookback bounds the search for the start of a line (a line longer than this is scanned
// from this far back); chunk is how much of the log a read rewrites at a time.
const (
	lookback = 1 << 20
	chunk    = 64 << 10
)

// Section returns the rewritten text of the log in src (size bytes long now) from raw
// byte offset off, and the raw offset the next read should start at. With final false
// the log may still grow, and the text stops at a safe point (see above); with final
// true it runs to size.
func (w *Rewriter) Section(src io.ReaderAt, size, off int64, final bool) (io.Reader, int64, error) {
	if off >= size {
		return strings.NewReader(""), off, nil
	}
	if w == nil || len(w.rules) == 0 {
		return io.NewSectionReader(src, off, size-off), size, nil
	}
	end := size
	if !final {
		var err error
		if end, err = w.safeEnd(src, size); err != nil {
			return nil, 0, err
		}
		if end <= off {
			return strings.NewReader(""), off, nil
		}
	}
	start, err := lineStart(src, off)
	if err != nil {
		return nil, 0, err
	}
	return &sectionReader{w: w, src: src, size: size, pos: start, stop: end, keep: off}, end, nil
}

// safeEnd is where a read of a growing log of size bytes must stop: before the first
// path that more bytes could still change, or at size.
func (w *Rewriter) safeEnd(src io.ReaderAt, size int64) (int64, error) {
	// Only a path starting in the last w.max bytes can still be unfinished; scan from the
	// start of their line so paths are found as a scan from the start would find them.
	s, err := lineStart(src, max(0, size-int64(w.max)))
	if err != nil {
		return 0, err
	}
	buf, err := readAt(src, s, size)
	if err != nil {
		return 0, err
	}
	for i := 0; i < len(buf); {
		j := bytes.IndexByte(buf[i:], '/')
		if j < 0 {
			break
		}
		i += j
		if w.unfinished(buf[i:]) {
			return s + int64(i), nil
		}
		if r := w.match(buf[i:]); r != nil {
			i += len(r.Path)
			continue
		}
		i++
	}
	return size, nil
}

// unfinished reports whether b is a proper prefix of a rule's path: more bytes could
// still make it one.
func (w *Rewriter) unfinished(b []byte) bool {
	for _, r := range w.rules {
		if len(b) < len(r.Path) && strings.HasPrefix(r.Path, string(b)) {
			return true
		}
	}
	return false
}

// lineStart returns the offset of the start of the line holding off, looking back at most
// lookback bytes, a block at a time (lines are usually short).
func lineStart(src io.ReaderAt, off int64) (int64, error) {
	const block = 8 << 10
	limit := max(0, off-lookback)
	for to := off; to > limit; {
		from := max(limit, to-block)
		buf, err := readAt(src, from, to)
		if err != nil {
			return 0, err
		}
		if k := bytes.LastIndexAny(buf, "\r\n"); k >= 0 {
			return from + int64(k) + 1, nil
		}
		to = from
	}
	return limit, nil
}

// readAt reads src[from:to].
func readAt(src io.ReaderAt, from, to int64) ([]byte, error) {
	buf := make([]byte, to-from)
	n, err := src.ReadAt(buf, from)
	if n == len(buf) {
		return buf, nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF // the log shrank while being read
	}
	return nil, err
}

// sectionReader rewrites src[pos:stop], a chunk at a time, dropping the text before keep.
type sectionReader struct {
	w                *Rewriter
	src              io.ReaderAt
	size             int64 // src may be read up to here, for a path that starts before stop
	pos, stop, keep  int64
	buf, out, outBuf []byte
}

func (r *sectionReader) Read(p []byte) (int, error) {
	for len(r.out) == 0 {
		if r.pos >= r.stop {
			return 0, io.EOF
		}
		if err := r.fill(); err != nil {
			return 0, err
		}
	}
	n := copy(p, r.out)
	r.out = r.out[n:]
	return n, nil
}

// fill rewrites the next chunk: it reads chunk bytes and the longest path's length more,
// so a path starting in the chunk is seen whole.
func (r *sectionReader) fill() error {
	n := min(int64(chunk+r.w.max), r.size-r.pos)
	if cap(r.buf) < int(n) {
		r.buf = make([]byte, chunk+r.w.max)
	}
	buf := r.buf[:n]
	if m, err := r.src.ReadAt(buf, r.pos); m < len(buf) {
		if err == nil || errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return err
	}
	stop := min(int64(chunk), r.stop-r.pos)
	keep := max(0, r.keep-r.pos)
	out, i, _ := r.w.scan(r.outBuf[:0], buf, 0, int(stop), int(min(keep, n)))
	r.outBuf, r.out = out, out
	r.pos += int64(i)
	return nil
}
