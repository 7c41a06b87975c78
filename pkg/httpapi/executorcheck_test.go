package httpapi

import (
	"net/http"
	"strings"
	"testing"

	"github.com/spe4hd/enclave/executors/slurm"
	"github.com/spe4hd/enclave/pkg/wes"
)

// A run for the slurm executor whose partition is not allowed, or whose owner has no
// cluster login, is refused at POST /runs, before anything is stored or queued.
func TestSubmitCheckedByExecutor(t *testing.T) {
	checker, err := slurm.NewChecker(slurm.Config{Mode: slurm.ModeSSH,
		SSH:               slurm.SSHConfig{Addr: "login:22", User: "enclave", KeyFile: "/k", KnownHostsFile: "/kh"},
		Partition:         "debug",
		AllowedPartitions: []string{"gpu"},
		Logins:            map[string]slurm.Login{"alice": {User: "alice"}, "bob": {User: "bob"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, func(c *testConfig, d *testDeps) {
		c.DefaultExecutor = slurm.Name
		d.SubmitCheckers = map[string]wes.SubmitChecker{slurm.Name: checker}
	})
	for _, tt := range []struct {
		name, user, partition string
		status                int
		mention               string
	}{
		{"allowed partition", "alice", "gpu", http.StatusOK, ""},
		{"default partition", "bob", "debug", http.StatusOK, ""},
		{"no partition", "alice", "", http.StatusOK, ""},
		{"partition not allowed", "alice", "bigmem", http.StatusBadRequest, "workflow_engine_parameters.partition"},
		{"owner without login", "carol", "gpu", http.StatusForbidden, "no login on the SLURM cluster"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			parts := validRun()
			if tt.partition != "" {
				parts = validRun(field("workflow_engine_parameters", `{"partition":"`+tt.partition+`"}`))
			}
			before := len(h.runDirs())
			ct, body := form(t, parts...)
			st, b, _ := h.do(http.MethodPost, BasePath+"/runs", tt.user, ct, body)
			if st != tt.status {
				t.Fatalf("POST /runs: %d %s; want %d", st, b, tt.status)
			}
			if tt.status == http.StatusOK {
				return
			}
			if e := errorBody(t, st, b); !strings.Contains(e.Msg, tt.mention) {
				t.Errorf("message %q does not mention %q", e.Msg, tt.mention)
			}
			if got := len(h.runDirs()); got != before {
				t.Errorf("a refused run left a directory: %d run dirs, %d before", got, before)
			}
		})
	}
}
