package enginekit

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path"
	"strings"
	"syscall"

	"github.com/spe4hd/enclave/pkg/engines"
)

// Bounds on what WorkflowFiles reads, so a workflow (or a job that wrote into its work
// dir, for runs without pins) cannot make listing tasks expensive.
const (
	MaxWorkflowFiles     = 200
	MaxWorkflowFileBytes = 4 << 20
)

// WorkflowFiles reads a run's workflow files from its work dir, for the names they
// declare. Paths are slash-separated and relative to the work dir; a file is read only
// when it is a regular file inside the work dir (no .., no absolute path, no symlink as
// the file itself, none leading out on the way) of at most MaxWorkflowFileBytes, and,
// when the workflow has pins, only when its sha256 matches its pin. Each file is read
// once; after MaxWorkflowFiles files, no more.
type WorkflowFiles struct {
	root *os.Root
	pins map[string]string
	done map[string]bool
}

// OpenWorkflowFiles opens wf's work dir. When it cannot be opened, every Read refuses.
func OpenWorkflowFiles(wf engines.Workflow) *WorkflowFiles {
	w := &WorkflowFiles{done: map[string]bool{}}
	if wf.Pins != nil {
		w.pins = make(map[string]string, len(wf.Pins))
		for p, sum := range wf.Pins {
			w.pins[path.Clean(p)] = strings.ToLower(sum)
		}
	}
	if wf.WorkDir != "" {
		w.root, _ = os.OpenRoot(wf.WorkDir)
	}
	return w
}

// Close releases the work dir.
func (w *WorkflowFiles) Close() {
	if w.root != nil {
		w.root.Close()
	}
}

// Lines is Read split into lines, as bufio.ScanLines splits them (a line may be as long
// as the file).
func (w *WorkflowFiles) Lines(rel string) ([]string, bool) {
	data, ok := w.Read(rel)
	if !ok {
		return nil, false
	}
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), MaxWorkflowFileBytes)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	return lines, true
}

// Read returns the content of the file at rel, or false when it may not be read (see
// WorkflowFiles), does not exist or was read before.
func (w *WorkflowFiles) Read(rel string) ([]byte, bool) {
	if w.root == nil || rel == "" || path.IsAbs(rel) || strings.Contains(rel, "\\") {
		return nil, false
	}
	rel = path.Clean(rel)
	if rel == ".." || strings.HasPrefix(rel, "../") || w.done[rel] || len(w.done) >= MaxWorkflowFiles {
		return nil, false
	}
	w.done[rel] = true
	pin, pinned := w.pins[rel]
	if w.pins != nil && !pinned {
		return nil, false
	}
	if fi, err := w.root.Lstat(rel); err != nil || !fi.Mode().IsRegular() {
		return nil, false
	}
	// O_NONBLOCK: a FIFO put in the file's place between Lstat and here must not block.
	f, err := w.root.OpenFile(rel, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, false
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() || fi.Size() > MaxWorkflowFileBytes {
		return nil, false // not a FIFO, not a device, whatever took the file's place
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxWorkflowFileBytes+1))
	if err != nil || len(data) > MaxWorkflowFileBytes {
		return nil, false
	}
	if w.pins != nil {
		sum := sha256.Sum256(data)
		if hex.EncodeToString(sum[:]) != pin {
			return nil, false
		}
	}
	return data, true
}

// Ref resolves ref, a relative reference made in the workflow file from (an include, a
// module, a step's run), to a path relative to the work dir; false for absolute paths,
// URLs and references leading out of the work dir.
func Ref(from, ref string) (string, bool) {
	if ref == "" || path.IsAbs(ref) || strings.Contains(ref, "://") || strings.Contains(ref, "\\") {
		return "", false
	}
	p := path.Join(path.Dir(from), ref)
	if p == ".." || strings.HasPrefix(p, "../") {
		return "", false
	}
	return p, true
}
