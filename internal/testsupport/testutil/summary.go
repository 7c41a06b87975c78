package testutil

import (
	"encoding/csv"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// ExampleSummary is what the example catalogue's summarise.py writes for the dataset CSV
// at patients grouped by column with counts below min suppressed, computed here from the
// dataset itself: a header "<column>,count", then each group in sorted order with its
// count or "<min", rows ending in "\r\n" as Python's csv writer ends them.
func ExampleSummary(tb testing.TB, patients, column string, min int) string {
	tb.Helper()
	f, err := os.Open(patients)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		tb.Fatal(err)
	}
	col := slices.Index(rows[0], column)
	if col < 0 {
		tb.Fatalf("%s has no column %q", patients, column)
	}
	counts := map[string]int{}
	for _, r := range rows[1:] {
		counts[r[col]]++
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	fmt.Fprintf(&b, "%s,count\r\n", column)
	for _, k := range keys {
		n := strconv.Itoa(counts[k])
		if counts[k] < min {
			n = "<" + strconv.Itoa(min)
		}
		fmt.Fprintf(&b, "%s,%s\r\n", k, n)
	}
	return b.String()
}
