package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/spe4hd/enclave/api"
	"github.com/spe4hd/enclave/pkg/engines"
	"github.com/spe4hd/enclave/pkg/engines/cwl"
	"github.com/spe4hd/enclave/pkg/engines/snakemake"
)

// A workflow_engine_version the server does not have is refused, naming the ones it has,
// for a catalogue entry without a version pin as for an open run; a version it has is the
// one the run uses and the RunLog echoes.
func TestEngineVersionMustBeInstalled(t *testing.T) {
	h := newSealedHarness(t, func(_ *testConfig, d *testDeps) {
		d.Engines = engines.NewRegistry(snakemake.New(snakemake.Config{Versions: []string{"7.21.0", "8.1.0"}}, nil),
			cwl.New(cwl.Config{Versions: []string{"3.1.20230209161050"}}, nil), testEngine{"tester"})
	})
	smk := func(extra ...part) []part {
		return append([]part{field("workflow_url", "cohort-count-smk"), field("workflow_params", `{"cohort": "cohort-demo"}`),
			field("workflow_engine", "snakemake")}, extra...)
	}
	ct, body := form(t, smk(field("workflow_engine_version", "99.9"))...)
	st, b, _ := h.do(http.MethodPost, BasePath+"/runs", "alice", ct, body)
	if msg := errorBody(t, st, b).Msg; st != http.StatusBadRequest || !strings.Contains(msg, "99.9") || !strings.Contains(msg, "7.21.0, 8.1.0") {
		t.Errorf("bogus version of an unpinned entry: %d %s", st, b)
	}
	if len(h.runDirs()) != 0 {
		t.Errorf("a refused run left files: %v", h.runDirs())
	}

	for _, tt := range []struct{ asked, runs string }{{"7.21.0", "7.21.0"}, {"", "8.1.0"}} {
		id := h.submit("alice", smk(field("workflow_engine_version", tt.asked))...)
		r, err := h.store.Get(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		var rl api.RunLog
		_, b, _ := h.do(http.MethodGet, BasePath+"/runs/"+id, "alice", "", nil)
		if err := json.Unmarshal(b, &rl); err != nil {
			t.Fatal(err)
		}
		if r.EngineVer != tt.runs || rl.Request.WorkflowEngineVersion != tt.runs {
			t.Errorf("asked %q: runs %q, RunLog says %q; want %q", tt.asked, r.EngineVer, rl.Request.WorkflowEngineVersion, tt.runs)
		}
	}

	open := newHarness(t)
	ct, body = form(t, validRun(field("workflow_engine", "tester"), field("workflow_engine_version", "1.3"))...)
	st, b, _ = open.do(http.MethodPost, BasePath+"/runs", "alice", ct, body)
	if msg := errorBody(t, st, b).Msg; st != http.StatusBadRequest || !strings.Contains(msg, "available: 1.2, 1.10") {
		t.Errorf("bogus version of an open run: %d %s", st, b)
	}
}
