package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/spe4hd/enclave/api"
	"github.com/spe4hd/enclave/pkg/auth/authtest"
	"github.com/spe4hd/enclave/pkg/egress/egresstest"
	"github.com/spe4hd/enclave/pkg/wesclient"
)

// leakySnakefile is a validated workflow with the bug issue 9's attacker used: a free-text
// parameter pasted into a shell command. Whatever the label says runs inside the zone.
const leakySnakefile = `rule all:
    input: "results/out.txt"

rule count:
    input: config["cohort"] + "/rows.csv"
    output: "results/out.txt"
    shell: "mkdir -p results && wc -l < {input} > {output} && echo label: ` + "\" + config[\"label\"] + \"" + ` >> {output}"
`

// zoneAttack is a sealed deployment with OIDC (the real Dex), results on the real MinIO
// and the local executor, over two cohorts: alice's group may use cohort-a only.
type zoneAttack struct {
	d                  *deployment
	dex                *authtest.Dex
	cohortB, otherWork string // what alice must never read: another cohort's rows, another run's file
}

const (
	cohortBRow   = "patient-b-0042,secret-diagnosis-b"
	otherRunData = "row-of-another-run-7731"
)

func newZoneAttack(t *testing.T, confinement string) *zoneAttack {
	t.Helper()
	dex := authtest.NewDex(t)
	s3 := egresstest.S3Config(t)
	zone := t.TempDir()
	write := func(rel, content string) string {
		p := filepath.Join(zone, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("workflows/leaky/Snakefile", leakySnakefile)
	write("data/cohort-a/rows.csv", "patient-a-1,flu\npatient-a-2,cold\n")
	cohortB := write("data/cohort-b/rows.csv", cohortBRow+"\n")
	sum := sha256.Sum256([]byte(leakySnakefile))
	catalogue := write("catalog.yaml", fmt.Sprintf(`root: workflows
data_root: data
workflows:
  - id: leaky-count
    name: Count rows, with a label
    version: 1.0.0
    workflow_type: SMK
    workflow_type_version: "1.0"
    engine: snakemake
    dir: leaky
    main: Snakefile
    files:
      - {path: Snakefile, sha256: %s}
    params_schema:
      type: object
      additionalProperties: false
      required: [cohort, label]
      properties:
        cohort: {type: string, x-enclave-dataset: true}
        label: {type: string, maxLength: 4000}
    allowed_engine_params:
      - {name: cores, value: "1"}
    outputs: {globs: [results/out.txt]}
    logs: owner
    egress: auto
    groups: [%[2]s]
datasets:
  - {id: cohort-a, name: Cohort A, path: cohort-a, groups: [%[2]s]}
  - {id: cohort-b, name: Cohort B, path: cohort-b, groups: [cohort-b-analysts]}
`, hex.EncodeToString(sum[:]), authtest.ResearcherGroup))

	d := redisDeployment(t,
		"ENCLAVE_ZONE_MODE=sealed",
		"ENCLAVE_ZONE_CATALOG="+catalogue,
		"ENCLAVE_ZONE_RESULTS_STORE=s3",
		"ENCLAVE_ZONE_RESULTS_S3_ENDPOINT="+s3.Endpoint,
		"ENCLAVE_ZONE_RESULTS_S3_ACCESS_KEY="+s3.AccessKey,
		"ENCLAVE_ZONE_RESULTS_S3_SECRET_KEY="+s3.SecretKey,
		"ENCLAVE_ZONE_RESULTS_S3_BUCKET="+s3.Bucket,
		"ENCLAVE_AUTH_MODE=oidc",
		"ENCLAVE_AUTH_OIDC_ISSUER="+dex.Issuer,
		"ENCLAVE_AUTH_OIDC_AUDIENCE="+dex.ClientID+","+dex.CLIClientID,
		"ENCLAVE_AUTH_OIDC_ROLES_RESEARCHER="+authtest.ResearcherGroup,
		"ENCLAVE_AUTH_OIDC_ROLES_DATA_CONTROLLER="+authtest.DataControllerGroup,
		"ENCLAVE_AUTH_OIDC_ROLES_ADMIN="+authtest.AdminGroup,
		"ENCLAVE_EXECUTOR_LOCAL_CONFINEMENT="+confinement,
	)
	// Another run's work dir, as another researcher's run leaves it.
	other := filepath.Join(d.dataDir, "runs", "0000000000000000000000000a", "work", "results", "out.txt")
	if err := os.MkdirAll(filepath.Dir(other), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(other, []byte(otherRunData+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return &zoneAttack{d: d, dex: dex, cohortB: cohortB, otherWork: other}
}

// inject is the label alice sends: it reads the other cohort and the other run into the
// released output. The commands are allowed to fail, so the run completes either way and
// the released file shows what the job could read.
// It also leaves a setsid grandchild behind, "sleep N", which must not outlive the run.
func (z *zoneAttack) inject(sleep string) string {
	return fmt.Sprintf("x; cat %s >> results/out.txt 2>/dev/null || true; cat %s >> results/out.txt 2>/dev/null || true; setsid sleep %s >/dev/null 2>&1 < /dev/null & true",
		z.cohortB, z.otherWork, sleep)
}

func (z *zoneAttack) submit(t *testing.T, alice *wesAPI, sleep string) string {
	t.Helper()
	return alice.mustSubmit(wesclient.RunRequest{
		WorkflowType: "SMK", WorkflowTypeVersion: "1.0", WorkflowURL: "leaky-count",
		WorkflowParams: map[string]any{"cohort": "cohort-a", "label": z.inject(sleep)},
	})
}

// released downloads results/out.txt of run id through the API (from MinIO).
func released(t *testing.T, a *wesAPI, id string) string {
	t.Helper()
	dl, err := a.c.Download(context.Background(), id, "results/out.txt")
	if err != nil {
		t.Fatalf("download of the released output: %v", err)
	}
	defer dl.Close()
	body, err := io.ReadAll(dl)
	if err != nil {
		t.Fatalf("download of the released output: %v", err)
	}
	return string(body)
}

// The attack of issue 9, point 1, through the whole stack: a researcher of cohort A
// injects a command through a free-text parameter of a validated workflow. With the
// local executor's confinement (the sealed default) the job reads neither cohort B nor
// another run's work dir, and its setsid grandchild does not outlive the run; with
// confinement off the same run releases both, so the check is not vacuous.
func TestSealedZoneInjectionIsConfined(t *testing.T) {
	begin(t, "snakemake")
	for _, c := range []struct {
		confinement string
		leaks       bool
		sleep       string // a number no other test sleeps for
	}{{"required", false, "31337"}, {"off", true, "31338"}} {
		t.Run("confinement "+c.confinement, func(t *testing.T) {
			t.Cleanup(func() { killProcessesWithArgs("sleep", c.sleep) })
			z := newZoneAttack(t, c.confinement)
			z.d.startServer()
			alice := z.d.api.as(z.dex.Token(t, "alice"))
			id := z.submit(t, alice, c.sleep)
			alice.waitState(id, runTimeout, api.StateCOMPLETE)
			out := released(t, alice, id)
			if !strings.HasPrefix(out, "2\n") {
				t.Errorf("released output %q; want the row count first", out)
			}
			leaked := strings.Contains(out, cohortBRow) || strings.Contains(out, otherRunData)
			if leaked != c.leaks {
				t.Fatalf("confinement %s: released output %q; want leaks=%v", c.confinement, out, c.leaks)
			}
			if c.leaks {
				return
			}
			if pids := processesWithArgs("sleep", c.sleep); len(pids) > 0 {
				t.Errorf("the job's setsid grandchild outlived its run: pids %v", pids)
			}
			rl := alice.runLog(id)
			if !strings.Contains(strings.Join(rl.RunLog.SystemLogs, "\n"), "confined") {
				t.Errorf("system logs %q do not say how the job was confined", rl.RunLog.SystemLogs)
			}
			z.checkResearcherSeesNoZonePath(t, alice, id)
			z.checkRefusalsAudited(t, alice, id)
		})
	}
}

// checkRefusalsAudited makes refusals happen and finds them in the audit trail: another
// researcher asking for alice's run (a 404) and an engine version the server lacks (a
// 400 naming the installed one); the catalogue's load is there too.
func (z *zoneAttack) checkRefusalsAudited(t *testing.T, alice *wesAPI, id string) {
	t.Helper()
	bob := z.d.api.as(z.dex.Token(t, "bob"))
	if _, err := bob.c.RunLog(context.Background(), id); wesclient.StatusOf(err) != http.StatusNotFound {
		t.Errorf("bob reading alice's run: %v; want 404", err)
	}
	code, body, err := alice.postForm(runRequest{fields: map[string]string{
		"workflow_type": "SMK", "workflow_type_version": "1.0", "workflow_url": "leaky-count",
		"workflow_engine": "snakemake", "workflow_engine_version": "99.9",
		"workflow_params": `{"cohort": "cohort-a", "label": "x"}`,
	}})
	if err != nil || code != http.StatusBadRequest || !strings.Contains(string(body), "99.9") {
		t.Errorf("a bogus engine version: %d %s %v; want 400 naming it", code, body, err)
	}
	dave := z.d.api.as(z.dex.Token(t, "dave"))
	for _, q := range []api.QueryAuditParams{{Action: "run.access", RunId: id}, {Action: "catalog.load"}} {
		page, err := dave.c.QueryAudit(context.Background(), q)
		dave.must("audit query", err)
		if len(page.Entries) == 0 {
			t.Errorf("the audit trail has no event for %+v", q)
		}
		for _, e := range page.Entries {
			if q.Action != "catalog.load" && e.Event.Outcome != "refused" {
				t.Errorf("audit %+v: outcome %q, want refused", q, e.Event.Outcome)
			}
		}
	}
}

// checkResearcherSeesNoZonePath reads everything the owner may read of run id (logs:
// owner) and requires that no absolute path of the zone appears in it.
func (z *zoneAttack) checkResearcherSeesNoZonePath(t *testing.T, a *wesAPI, id string) {
	t.Helper()
	zonePaths := []string{z.d.dataDir, filepath.Dir(filepath.Dir(z.cohortB)), z.d.dir}
	for _, path := range []string{"/runs/" + id, "/runs/" + id + "/tasks", "/runs/" + id + "/outputs",
		"/runs/" + id + "/logs/stdout", "/runs/" + id + "/logs/stderr", "/runs/" + id + "/logs/stderr?offset=3"} {
		code, body := a.get(path)
		if code != http.StatusOK {
			t.Errorf("GET %s: %d %s", path, code, body)
			continue
		}
		if path == "/runs/"+id {
			// The RunLog echoes the request, and the attacker's label names the paths it
			// tried: that is the caller's own text, not something the zone disclosed.
			var rl map[string]any
			if err := json.Unmarshal(body, &rl); err != nil {
				t.Fatal(err)
			}
			delete(rl, "request")
			body, _ = json.Marshal(rl)
		}
		for _, zp := range zonePaths {
			if strings.Contains(string(body), zp) {
				t.Errorf("GET %s shows the zone path %s:\n%s", path, zp, body)
			}
		}
	}
}

// killProcessesWithArgs kills what a failed run left behind.
func killProcessesWithArgs(argv ...string) {
	for _, p := range processesWithArgs(argv...) {
		if pid, err := strconv.Atoi(p); err == nil {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// processesWithArgs lists the pids whose command line is exactly argv.
func processesWithArgs(argv ...string) []string {
	want := strings.Join(argv, "\x00") + "\x00"
	entries, _ := os.ReadDir("/proc")
	var pids []string
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && string(b) == want {
			pids = append(pids, e.Name())
		}
	}
	return pids
}
