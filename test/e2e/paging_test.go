package e2e

import (
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/spe4hd/enclave/api"
)

// Ten runs submitted concurrently, in two waves, all complete; the run list pages
// through them newest first without duplicates, and the state counts agree.
func TestConcurrentBatch(t *testing.T) {
	begin(t, "snakemake", "cwltool")
	d := redisDeployment(t)
	d.startServer()
	req := exampleRequest(t, "snakemake/hello", "Snakefile", "SMK", "1.0")

	// The second wave is sent after the first was answered, so its runs are newer.
	var waves [2][]string
	for w := range waves {
		ids := make([]string, 5)
		errs := make([]error, 5)
		var wg sync.WaitGroup
		for i := range ids {
			wg.Go(func() { ids[i], errs[i] = d.api.trySubmit(req) })
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		waves[w] = ids
	}
	all := append(slices.Clone(waves[0]), waves[1]...)
	for _, id := range all {
		d.api.waitState(id, runTimeout, api.StateCOMPLETE)
	}

	var listed []string
	var pages []int
	token := ""
	for range 10 {
		page := d.api.listRuns(3, token)
		pages = append(pages, len(page.Runs))
		for _, r := range page.Runs {
			if r.State != api.StateCOMPLETE || r.StartTime == "" || r.EndTime == "" {
				t.Errorf("listed run %+v; want COMPLETE with start and end times", r)
			}
			listed = append(listed, r.RunId)
		}
		if token = page.NextPageToken; token == "" {
			break
		}
	}
	if !slices.Equal(pages, []int{3, 3, 3, 1}) {
		t.Errorf("page sizes %v; want [3 3 3 1] and no token after the last page", pages)
	}
	if got, want := sortedKeys(setOf(listed)), sortedKeys(setOf(all)); len(listed) != len(all) || !slices.Equal(got, want) {
		t.Fatalf("listed %d runs %v; want each of the %d submitted once: %v", len(listed), listed, len(all), all)
	}
	// Newest first: every run of the second wave before every run of the first, and in
	// id order (ids are time-ordered).
	for i, id := range listed {
		if slices.Contains(waves[0], id) && i < len(waves[1]) {
			t.Errorf("run %s of the first wave is listed at %d, before runs of the second wave: %v", id, i, listed)
		}
	}
	if !slices.IsSortedFunc(listed, func(a, b string) int { return strings.Compare(b, a) }) {
		t.Errorf("runs not listed newest first: %v", listed)
	}
	checkCounts(t, d.api.serviceInfo(), map[api.State]int64{api.StateCOMPLETE: int64(len(all))})

	// The CLI walks the same pages to the same list.
	var cli api.RunListResponse
	if err := json.Unmarshal([]byte(d.mustCLI("", "list", "--all", "--page-size", "3", "-o", "json")), &cli); err != nil {
		t.Fatal(err)
	}
	var cliIDs []string
	for _, r := range cli.Runs {
		cliIDs = append(cliIDs, r.RunId)
	}
	if !slices.Equal(cliIDs, listed) {
		t.Errorf("enclave run list --all: %v; want %v", cliIDs, listed)
	}
}

func setOf(ids []string) map[string]bool {
	m := map[string]bool{}
	for _, id := range ids {
		m[id] = true
	}
	return m
}
