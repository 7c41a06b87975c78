package portal

import (
	"bytes"
	"encoding/csv"
	"io"
	"path"
	"strings"
	"unicode/utf8"
)

// Limits of a preview on the review page. A bigger file is offered as a download.
const (
	maxPreviewBytes = 64 << 10
	maxPreviewRows  = 500
	maxPreviewCols  = 50
)

// preview is a pending output shown to its reviewer. Its content comes from inside the
// zone and is hostile until reviewed: it only ever reaches the page as template data,
// escaped by html/template, never as markup.
type preview struct {
	Table [][]string // a CSV or TSV, first row the header
	Text  string     // any other text
	Cut   bool       // rows or columns were left out
	Why   string     // why there is no preview
}

// previewable reports whether a file of this name, type and size gets a preview.
func previewable(name, contentType string, size int64) bool {
	if size > maxPreviewBytes {
		return false
	}
	switch strings.ToLower(path.Ext(name)) {
	case ".csv", ".tsv", ".txt", ".tab", ".log", ".md", ".json":
		return true
	}
	return strings.HasPrefix(contentType, "text/")
}

// makePreview reads at most maxPreviewBytes of body and renders it as a table (CSV, TSV)
// or text.
func makePreview(name, contentType string, body io.Reader) preview {
	b, err := io.ReadAll(io.LimitReader(body, maxPreviewBytes+1))
	if err != nil {
		return preview{Why: "The file could not be read for a preview; download it to inspect it."}
	}
	if len(b) > maxPreviewBytes {
		return preview{Why: "The file is too large for a preview; download it to inspect it."}
	}
	if !utf8.Valid(b) {
		return preview{Why: "The file is not text; download it to inspect it."}
	}
	ext := strings.ToLower(path.Ext(name))
	ct := strings.ToLower(contentType)
	sep := rune(0)
	switch {
	case ext == ".tsv" || ext == ".tab" || strings.HasPrefix(ct, "text/tab-separated-values"):
		sep = '\t'
	case ext == ".csv" || strings.HasPrefix(ct, "text/csv"):
		sep = ','
	}
	if sep != 0 {
		if pv, ok := table(b, sep); ok {
			return pv
		}
	}
	return preview{Text: string(b)}
}

// table parses b as delimited rows; ok false when it is not.
func table(b []byte, sep rune) (preview, bool) {
	r := csv.NewReader(bytes.NewReader(b))
	r.Comma, r.FieldsPerRecord, r.LazyQuotes = sep, -1, true
	var pv preview
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return preview{}, false
		}
		if len(pv.Table) == maxPreviewRows {
			pv.Cut = true
			break
		}
		if len(rec) > maxPreviewCols {
			rec, pv.Cut = rec[:maxPreviewCols], true
		}
		pv.Table = append(pv.Table, rec)
	}
	return pv, len(pv.Table) > 0
}
