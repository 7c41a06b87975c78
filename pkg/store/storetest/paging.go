package storetest

import (
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/spe4hd/enclave/pkg/wes"
)

// listAll pages through List with the given filter and returns the ids in order, and the
// number of pages.
func listAll(t *testing.T, s wes.RunStore, f wes.RunFilter) ([]string, int) {
	t.Helper()
	var ids []string
	pages := 0
	for {
		p, err := s.List(ctx(t), f)
		if err != nil {
			t.Fatalf("List(%+v): %v", f, err)
		}
		pages++
		if len(p.Runs) > f.PageSize {
			t.Fatalf("List returned %d runs for page size %d", len(p.Runs), f.PageSize)
		}
		for _, r := range p.Runs {
			ids = append(ids, r.ID)
		}
		if p.NextPageToken == "" {
			return ids, pages
		}
		if len(p.Runs) == 0 {
			t.Fatalf("List returned an empty page with a next page token")
		}
		if pages > 1000 {
			t.Fatalf("List keeps returning page tokens")
		}
		f.PageToken = p.NextPageToken
	}
}

func newestFirst(ids []string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	slices.Reverse(out)
	return out
}

// createShuffled creates runs for ids in random order, so that the order List returns
// is shown to come from the ids, not from insertion.
func createShuffled(t *testing.T, s wes.RunStore, ids []string, owner func(i int) string) {
	t.Helper()
	for _, i := range rand.Perm(len(ids)) {
		mustCreate(t, s, newRun(ids[i], owner(i), wes.StateQueued))
	}
}

func testListNewestFirst(t *testing.T, s wes.RunStore) {
	ids := newIDs(t, 13)
	createShuffled(t, s, ids, func(int) string { return "alice" })
	for _, size := range []int{1, 3, 13, 50} {
		got, pages := listAll(t, s, wes.RunFilter{PageSize: size})
		if !slices.Equal(got, newestFirst(ids)) {
			t.Errorf("page size %d: ids %v, want newest first %v", size, got, newestFirst(ids))
		}
		if want := (13 + size - 1) / size; pages != want {
			t.Errorf("page size %d: %d pages, want %d", size, pages, want)
		}
	}
}

func testListOwnerFilter(t *testing.T, s wes.RunStore) {
	ids := newIDs(t, 14)
	owner := func(i int) string {
		if i%3 == 0 {
			return "bob"
		}
		return "alice"
	}
	createShuffled(t, s, ids, owner)
	var alice, bob []string
	for i, id := range ids {
		if owner(i) == "bob" {
			bob = append(bob, id)
		} else {
			alice = append(alice, id)
		}
	}
	for _, tc := range []struct {
		owner string
		want  []string
	}{{"alice", alice}, {"bob", bob}, {"carol", nil}, {"", ids}} {
		got, _ := listAll(t, s, wes.RunFilter{Owner: tc.owner, PageSize: 4})
		if !slices.Equal(got, newestFirst(tc.want)) {
			t.Errorf("owner %q: ids %v, want %v", tc.owner, got, newestFirst(tc.want))
		}
	}
	p, err := s.List(ctx(t), wes.RunFilter{Owner: "bob", PageSize: 100})
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	for _, r := range p.Runs {
		if r.Owner != "bob" {
			t.Errorf("owner filter bob returned a run of %q", r.Owner)
		}
	}
}

func testListEdges(t *testing.T, s wes.RunStore) {
	p, err := s.List(ctx(t), wes.RunFilter{PageSize: 10})
	if err != nil || len(p.Runs) != 0 || p.NextPageToken != "" {
		t.Errorf("List of an empty store = %d runs, token %q, err %v; want nothing", len(p.Runs), p.NextPageToken, err)
	}
	ids := newIDs(t, 8)
	createShuffled(t, s, ids, func(int) string { return "alice" })
	// A page size that divides the total: the last full page has no token.
	_, pages := listAll(t, s, wes.RunFilter{PageSize: 4})
	if pages != 2 {
		t.Errorf("8 runs in pages of 4 took %d pages, want 2 (no empty last page)", pages)
	}
	for _, size := range []int{0, -1} {
		_, err := s.List(ctx(t), wes.RunFilter{PageSize: size})
		wantCode(t, fmt.Sprintf("List with page size %d", size), err, wes.EINVALID)
	}
	// The runs in a page are complete runs, not just ids.
	p, err = s.List(ctx(t), wes.RunFilter{PageSize: 1})
	if err != nil || len(p.Runs) != 1 || p.Runs[0].Engine != "snakemake" || p.Runs[0].Owner != "alice" {
		t.Errorf("List(page size 1) = %+v, %v; want the newest run with all its fields", p.Runs, err)
	}
}

// testListStableWhileInserting pages through older runs while newer runs are being
// created: tokens stay valid and the pages neither skip nor repeat a run.
func testListStableWhileInserting(t *testing.T, s wes.RunStore) {
	ids := newIDs(t, 60)
	old, fresh := ids[:30], ids[30:]
	createShuffled(t, s, old, func(int) string { return "alice" })

	f := wes.RunFilter{PageSize: 7}
	first, err := s.List(ctx(t), f)
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for _, id := range fresh {
			if err := s.Create(ctx(t), newRun(id, "alice", wes.StateQueued)); err != nil {
				t.Errorf("Create during paging: %v", err)
				return
			}
		}
	})
	got := make([]string, 0, len(old))
	for _, r := range first.Runs {
		got = append(got, r.ID)
	}
	f.PageToken = first.NextPageToken
	rest, _ := listAll(t, s, f)
	got = append(got, rest...)
	wg.Wait()
	if !slices.Equal(got, newestFirst(old)) {
		t.Errorf("paging while inserting returned %v, want the older runs %v", got, newestFirst(old))
	}
	// A token from before the inserts still leads to the same next page.
	again, err := s.List(ctx(t), wes.RunFilter{PageSize: 7, PageToken: first.NextPageToken})
	if err != nil || len(again.Runs) == 0 || again.Runs[0].ID != newestFirst(old)[7] {
		t.Errorf("an old page token after inserts: %v, %v; want the page after the first", again.Runs, err)
	}
	all, _ := listAll(t, s, wes.RunFilter{PageSize: 7})
	if !slices.Equal(all, newestFirst(ids)) {
		t.Errorf("after the inserts, paging returned %d runs, want all %d newest first", len(all), len(ids))
	}
}

func testListBadToken(t *testing.T, s wes.RunStore) {
	ids := newIDs(t, 3)
	createShuffled(t, s, ids, func(int) string { return "alice" })
	b64 := base64.RawURLEncoding.EncodeToString
	for _, tok := range []string{
		"garbage!!",
		"not a token",
		"%%%",
		b64([]byte{0xff}),
		b64([]byte("\x09" + ids[0])), // a version that does not exist
		b64([]byte("\x01\x00\n")),
		strings.Repeat("A", 4097),
	} {
		_, err := s.List(ctx(t), wes.RunFilter{PageSize: 2, PageToken: tok})
		wantCode(t, "List with page token "+tok[:min(len(tok), 20)], err, wes.EINVALID)
		if err != nil && !strings.Contains(wes.ErrorMessage(err), "page_token") {
			t.Errorf("bad page token message %q does not name page_token", wes.ErrorMessage(err))
		}
	}
}
