package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/spe4hd/enclave/pkg/wesclient"
)

// listing describes how a list command prints what it gathered: the API's own JSON shape
// with -o json, else a table, and on standard error how to fetch the next page.
type listing[T any] struct {
	what   string // the items, for "more runs: ..."
	flag   string // the flag that starts at a page, --page-token or --cursor
	header []string
	row    func(T) []string
	json   func(items []T, next string) any // the API's list object
}

// fetchAndPrint fetches the page at token (every page after it too with all) and prints
// the items.
func (l listing[T]) fetchAndPrint(cmd *cobra.Command, o *runOptions, token string, all bool, fetch func(token string) ([]T, string, error)) error {
	what := "page token"
	if l.flag == "--cursor" {
		what = "cursor"
	}
	items, next, err := wesclient.FollowPages(token, all, what, fetch)
	if err != nil {
		return err
	}
	if items == nil {
		items = []T{}
	}
	if o.json() {
		return writeJSON(cmd.OutOrStdout(), l.json(items, next))
	}
	tw := newTable(cmd.OutOrStdout(), l.header...)
	for _, it := range items {
		tw.row(l.row(it)...)
	}
	if next != "" {
		fmt.Fprintf(cmd.ErrOrStderr(), "more %s: %s %s (or --all)\n", l.what, l.flag, next)
	}
	return tw.flush()
}
