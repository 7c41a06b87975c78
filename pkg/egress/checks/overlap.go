package checks

import (
	"encoding/csv"
	"errors"
	"hash/maphash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// RowIndex holds a 64-bit hash of every data row of the tabular files (CSV, TSV) of a
// run's input datasets, so that the overlap check can tell whether an output holds one:
// an open-addressing table of 16 to 32 bytes a row, one probe a lookup in the common case.
// A row is hashed as the sorted set of its trimmed fields, and an output row is looked up
// through every run of adjacent fields as wide as some dataset row: a dataset row copied
// with its columns reordered, or with columns added before or after it, is found. One
// whose fields are split up by other columns in between is not. Rows with fewer than two
// non-empty fields are left out on both sides (a lone number or name would match by
// chance). A 64-bit hash may take an unrelated row for a dataset row (about one in 10^19
// per pair): the check then errs on the side of keeping the file.
type RowIndex struct {
	seed       maphash.Seed
	hashes     []uint64 // while building: every row's hash
	table      []uint64 // built: open addressing, 0 = empty (a hash of 0 is stored as 1)
	rows       int      // distinct rows in table
	widths     []int    // the field counts of the dataset rows, ascending
	incomplete bool     // a limit was reached: some rows were not indexed
}

// IndexLimits bound the work of BuildIndex. Zero fields take the defaults.
type IndexLimits struct {
	MaxRows  int   // default 10,000,000 rows (at most 256 MiB of table)
	MaxBytes int64 // default 2 GiB read (a finalize step must end within worker.step_timeout)
	MaxFiles int   // default 100,000 files
}

func (l IndexLimits) withDefaults() IndexLimits {
	if l.MaxRows <= 0 {
		l.MaxRows = 10_000_000
	}
	if l.MaxBytes <= 0 {
		l.MaxBytes = 2 << 30
	}
	if l.MaxFiles <= 0 {
		l.MaxFiles = 100_000
	}
	return l
}

// errLimit ends indexing when a limit is reached.
var errLimit = errors.New("limit reached")

// BuildIndex hashes the data rows of the CSV and TSV files at paths (files, or
// directories walked without following links). A file that cannot be read as a table is
// skipped: it has no rows a table output could repeat. When a limit is reached the index
// says so (Incomplete), and the overlap check fails rather than pass unchecked.
func BuildIndex(paths []string, lim IndexLimits) (*RowIndex, error) {
	lim = lim.withDefaults()
	ix := &RowIndex{seed: maphash.MakeSeed()}
	var read int64
	files := 0
	for _, root := range paths {
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.Type().IsRegular() || !isTable(p) {
				return nil
			}
			if files++; files > lim.MaxFiles {
				return errLimit
			}
			n, err := ix.addFile(p, lim, &read)
			read += n
			return err
		})
		if errors.Is(err, errLimit) {
			ix.incomplete = true
			break
		}
		if err != nil {
			return nil, err
		}
	}
	ix.build()
	return ix, nil
}

// build moves the collected hashes into the lookup table, at most half full.
func (ix *RowIndex) build() {
	size := 1024
	for size < 2*len(ix.hashes) {
		size <<= 1
	}
	ix.table = make([]uint64, size)
	mask := uint64(size - 1)
	for _, h := range ix.hashes {
		if h == 0 {
			h = 1
		}
		for i := h & mask; ; i = (i + 1) & mask {
			if ix.table[i] == h {
				break
			}
			if ix.table[i] == 0 {
				ix.table[i] = h
				ix.rows++
				break
			}
		}
	}
	ix.hashes = nil
}

func isTable(p string) bool {
	ext := strings.ToLower(filepath.Ext(p))
	return ext == ".csv" || ext == ".tsv"
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// addFile hashes the data rows of one table; it returns the bytes it read.
func (ix *RowIndex) addFile(p string, lim IndexLimits, read *int64) (int64, error) {
	f, err := os.Open(p)
	if err != nil {
		return 0, nil // unreadable: nothing to index
	}
	defer f.Close()
	cnt := &countingReader{r: f}
	cr := csv.NewReader(cnt)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	if strings.EqualFold(filepath.Ext(p), ".tsv") {
		cr.Comma, cr.LazyQuotes = '\t', true
	}
	for line := 0; ; line++ {
		rec, err := cr.Read()
		if err != nil {
			return cnt.n, nil // EOF, or not a table from here on
		}
		if *read+cnt.n > lim.MaxBytes || len(ix.hashes) >= lim.MaxRows {
			return cnt.n, errLimit
		}
		if line == 0 {
			continue // the header
		}
		if h, ok := ix.hash(rec, nil); ok {
			ix.hashes = append(ix.hashes, h)
			if !slices.Contains(ix.widths, len(rec)) {
				ix.widths = append(ix.widths, len(rec))
				slices.Sort(ix.widths)
			}
		}
	}
}

// hash is the hash of the sorted set of a row's trimmed fields, or false for a row with
// fewer than two non-empty fields. scratch, when given, is reused for the sorting.
func (ix *RowIndex) hash(rec []string, scratch *[]string) (uint64, bool) {
	var fields []string
	if scratch != nil {
		fields = (*scratch)[:0]
	}
	nonEmpty := 0
	for _, f := range rec {
		f = strings.TrimSpace(f)
		if f != "" {
			nonEmpty++
		}
		fields = append(fields, f)
	}
	if scratch != nil {
		*scratch = fields
	}
	if nonEmpty < 2 {
		return 0, false
	}
	slices.Sort(fields)
	var h maphash.Hash
	h.SetSeed(ix.seed)
	for i, f := range fields {
		if i > 0 {
			h.WriteByte(0x1f)
		}
		h.WriteString(f)
	}
	return h.Sum64(), true
}

// Contains reports whether rec holds a row of an input dataset: some run of adjacent
// fields, as wide as a dataset row, has the same set of fields.
func (ix *RowIndex) Contains(rec []string) bool {
	var scratch []string
	for _, k := range ix.widths {
		if k > len(rec) {
			break
		}
		for i := 0; i+k <= len(rec); i++ {
			if h, ok := ix.hash(rec[i:i+k], &scratch); ok && ix.has(h) {
				return true
			}
		}
	}
	return false
}

// has looks h up in the table.
func (ix *RowIndex) has(h uint64) bool {
	if h == 0 {
		h = 1
	}
	mask := uint64(len(ix.table) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		switch ix.table[i] {
		case h:
			return true
		case 0:
			return false
		}
	}
}

// Rows is the number of distinct dataset rows indexed.
func (ix *RowIndex) Rows() int { return ix.rows }

// Incomplete reports whether a limit stopped the index before every row was hashed.
func (ix *RowIndex) Incomplete() bool { return ix.incomplete }
