package k8sagent

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"sync"
)

// Stream ids in a container log.
const (
	streamStdout byte = 1
	streamStderr byte = 2
)

// logFile is a container's log as a kubelet keeps it: the chunks of stdout and stderr
// in the order they were read, each tagged with its stream, so both the combined log and
// one stream alone can be served. A record is one stream byte, a big-endian uint32
// length and the bytes.
type logFile struct {
	mu   sync.Mutex
	f    *os.File
	path string
}

func createLog(path string) (*logFile, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, err
	}
	return &logFile{f: f, path: path}, nil
}

func (l *logFile) write(stream byte, b []byte) error {
	var hdr [5]byte
	hdr[0] = stream
	binary.BigEndian.PutUint32(hdr[1:], uint32(len(b)))
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, err := l.f.Write(hdr[:]); err != nil {
		return err
	}
	_, err := l.f.Write(b)
	return err
}

// copyFrom records everything read from r as stream until r ends.
func (l *logFile) copyFrom(stream byte, r io.Reader) {
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			_ = l.write(stream, buf[:n])
		}
		if err != nil {
			return
		}
	}
}

func (l *logFile) close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.f.Close()
}

// readLog writes the records of path whose stream is in want to w.
func readLog(path string, want func(byte) bool, w io.Writer) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r := bufio.NewReader(f)
	var hdr [5]byte
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return nil // the end, or a record being written: served next time
			}
			return err
		}
		n := int64(binary.BigEndian.Uint32(hdr[1:]))
		dst := io.Discard
		if want(hdr[0]) {
			dst = w
		}
		if _, err := io.CopyN(dst, r, n); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}
