package httpapi

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/spe4hd/enclave/pkg/runs"
	"github.com/spe4hd/enclave/pkg/wes"
)

// Limits on single form fields. JSON fields may be big (workflow inputs); the others are
// names and versions.
const (
	maxJSONField = 1 << 20 // workflow_params, tags, workflow_engine_parameters
	maxTextField = 4096    // every other field
)

// textFields and jsonFields are the RunWorkflow form fields besides workflow_attachment.
var (
	textFields = []string{"workflow_type", "workflow_type_version", "workflow_engine", "workflow_engine_version", "workflow_url"}
	jsonFields = []string{"workflow_params", "tags", "workflow_engine_parameters"}
)

const attachmentField = "workflow_attachment"

// runForm is a parsed RunWorkflow body: the single-valued fields, and the names of the
// attachments already written into the work directory.
type runForm struct {
	fields      map[string]string
	attachments []string // sorted
}

// readRunForm streams the multipart body: fields are kept in memory (bounded), each
// attachment is written straight into the work directory root. Any error leaves the
// caller to remove the directory.
func (s *server) readRunForm(mr *multipart.Reader, root *os.Root) (*runForm, error) {
	f := &runForm{fields: map[string]string{}}
	files := newAttachmentSet()
	for parts := 0; ; parts++ {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, s.bodyError(err)
		}
		if parts >= s.cfg.MaxParts {
			part.Close()
			return nil, wes.Errorf(wes.ETOOLARGE, "the request has more than %d multipart parts", s.cfg.MaxParts)
		}
		err = s.readPart(part, f, files, root)
		part.Close()
		if err != nil {
			return nil, err
		}
	}
	f.attachments = files.sorted()
	return f, nil
}

func (s *server) readPart(part *multipart.Part, f *runForm, files *attachmentSet, root *os.Root) error {
	name, filename, err := disposition(part)
	if err != nil {
		return err
	}
	if name == attachmentField {
		if s.runs.Sealed() {
			// Refused before a byte is written: in the sealed zone only validated
			// catalogue workflows run.
			return runs.ErrSealedAttachment
		}
		if filename == "" {
			return wes.Errorf(wes.EINVALID, "each workflow_attachment part needs a filename in its Content-Disposition header")
		}
		if err := files.add(filename); err != nil {
			return err
		}
		return s.writeAttachment(root, filename, part)
	}
	limit := maxTextField
	switch {
	case slices.Contains(jsonFields, name):
		limit = maxJSONField
	case !slices.Contains(textFields, name):
		return wes.Errorf(wes.EINVALID, "unknown form field %q; the fields are %s, %s and %s",
			truncate(name, 64), strings.Join(jsonFields, ", "), strings.Join(textFields, ", "), attachmentField)
	}
	if _, dup := f.fields[name]; dup {
		return wes.Errorf(wes.EINVALID, "form field %s appears more than once; send it once", name)
	}
	b, err := io.ReadAll(io.LimitReader(part, int64(limit)+1))
	if err != nil {
		return s.bodyError(err)
	}
	if len(b) > limit {
		if limit == maxJSONField {
			return wes.Errorf(wes.ETOOLARGE, "form field %s is larger than %d bytes", name, limit)
		}
		return wes.Errorf(wes.EINVALID, "form field %s is longer than %d bytes", name, limit)
	}
	f.fields[name] = string(b)
	return nil
}

// disposition returns a part's form field name and filename. It parses the header
// itself because multipart.Part.FileName drops the directories of a filename, which
// WES allows.
func disposition(part *multipart.Part) (name, filename string, err error) {
	cd := part.Header.Get("Content-Disposition")
	kind, params, perr := mime.ParseMediaType(cd)
	if perr != nil || kind != "form-data" || params["name"] == "" {
		return "", "", wes.Errorf(wes.EINVALID,
			"every multipart part needs a Content-Disposition: form-data header with a name; got %q", truncate(cd, 100))
	}
	return params["name"], params["filename"], nil
}

// bodyError classifies an error from reading the request body.
func (s *server) bodyError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return tooLargeBody(mbe.Limit)
	}
	return wes.Errorf(wes.EINVALID, "the multipart body could not be read: %v", err)
}

// writeAttachment copies one attachment into the work directory. Directories are made
// 0750 one level at a time and must be real directories; the file is created 0640 with
// O_EXCL, which never follows a symlink, and os.Root keeps every path inside the work
// directory.
func (s *server) writeAttachment(root *os.Root, name string, r io.Reader) error {
	segs := strings.Split(name, "/")
	for i := 1; i < len(segs); i++ {
		dir := strings.Join(segs[:i], "/")
		if err := root.Mkdir(dir, 0o750); err != nil && !errors.Is(err, os.ErrExist) {
			return wes.Internal(err, "could not create a directory for attachment %q", name)
		}
		fi, err := root.Lstat(dir)
		if err != nil || !fi.IsDir() {
			return wes.Internal(err, "attachment directory %q is not a directory", dir)
		}
	}
	f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return wes.Internal(err, "could not create attachment %q", name)
	}
	n, err := io.Copy(f, io.LimitReader(r, s.cfg.MaxAttachmentBytes+1))
	if cerr := f.Close(); err == nil && cerr != nil {
		return wes.Internal(cerr, "could not write attachment %q", name)
	}
	if err != nil {
		return s.bodyError(err)
	}
	if n > s.cfg.MaxAttachmentBytes {
		return wes.Errorf(wes.ETOOLARGE, "attachment %q is larger than the limit of %d bytes", truncate(name, 100), s.cfg.MaxAttachmentBytes)
	}
	return nil
}

// attachmentSet checks attachment names and remembers them, so that duplicates and
// names that are both a file and a directory ("a" and "a/b") are refused.
type attachmentSet struct {
	files, dirs map[string]bool
}

func newAttachmentSet() *attachmentSet {
	return &attachmentSet{files: map[string]bool{}, dirs: map[string]bool{}}
}

func (a *attachmentSet) add(name string) error {
	if err := checkAttachmentName(name); err != nil {
		return err
	}
	q := truncate(name, 100)
	if a.files[name] {
		return wes.Errorf(wes.EINVALID, "attachment %q is sent more than once", q)
	}
	if a.dirs[name] {
		return wes.Errorf(wes.EINVALID, "attachment %q is also used as a directory by another attachment", q)
	}
	segs := strings.Split(name, "/")
	for i := 1; i < len(segs); i++ {
		if dir := strings.Join(segs[:i], "/"); a.files[dir] {
			return wes.Errorf(wes.EINVALID, "attachment %q lies under %q, which is also attached as a file", q, dir)
		}
	}
	for i := 1; i < len(segs); i++ {
		a.dirs[strings.Join(segs[:i], "/")] = true
	}
	a.files[name] = true
	return nil
}

func (a *attachmentSet) sorted() []string {
	out := make([]string, 0, len(a.files))
	for n := range a.files {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// describeList names up to ten items for an error message.
func describeList(items []string) string {
	if len(items) > 10 {
		return fmt.Sprintf("%s and %d more", strings.Join(items[:10], ", "), len(items)-10)
	}
	return strings.Join(items, ", ")
}
