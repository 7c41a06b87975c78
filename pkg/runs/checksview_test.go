package runs

import (
	"testing"

	"github.com/spe4hd/enclave/pkg/wes"
)

// The owner of a run learns which disclosure checks a held file failed, never where: the
// rows that fail would be a channel out of the zone. Reviewers see where.
func TestCheckDetailsForReviewersOnly(t *testing.T) {
	s := &Service{}
	r := &wes.Run{ID: "r", Owner: "alice", Released: []wes.Output{{Path: "t.csv", Status: wes.OutputPending,
		Checks: []wes.CheckResult{{Check: "min_cell_count", Passed: false, Detail: "row 7, column n"}}}}}
	owner := &wes.Principal{Subject: "alice", Roles: []string{wes.RoleResearcher}}
	dc := &wes.Principal{Subject: "dora", Roles: []string{wes.RoleDataController}}
	if got := s.OutputViews(t.Context(), owner, r)[0].Checks; len(got) != 1 || got[0].Passed || got[0].Detail != "" || got[0].Check != "min_cell_count" {
		t.Errorf("owner sees %+v, want the failed check without where", got)
	}
	if got := s.OutputViews(t.Context(), dc, r)[0].Checks; len(got) != 1 || got[0].Detail != "row 7, column n" {
		t.Errorf("reviewer sees %+v, want where it failed", got)
	}
	if r.Released[0].Checks[0].Detail == "" {
		t.Error("the stored result was changed")
	}
}
