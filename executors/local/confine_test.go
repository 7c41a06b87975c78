package local_test

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spe4hd/enclave/executors/executortest"
	"github.com/spe4hd/enclave/executors/local"
	"github.com/spe4hd/enclave/pkg/wes"
)

// zone is a small sealed zone on disk: this run's work dir and another run's, two
// datasets of which the job is given one, the executor's state dir, and a "system"
// directory the job may read that also holds a configuration file it must not.
type zone struct {
	root, state, work, otherWork, dsA, dsB, sys string
}

func newZone(t testing.TB) *zone {
	t.Helper()
	root := t.TempDir()
	z := &zone{root: root, state: filepath.Join(root, "state"),
		work: filepath.Join(root, "data", "runs", "run-a", "work"), otherWork: filepath.Join(root, "data", "runs", "run-b", "work"),
		dsA: filepath.Join(root, "datasets", "cohort-a"), dsB: filepath.Join(root, "datasets", "cohort-b"), sys: filepath.Join(root, "sys")}
	must(t, os.Chmod(root, 0o755))
	for _, d := range []string{z.work, z.otherWork, z.dsA, z.dsB, z.sys} {
		must(t, os.MkdirAll(d, 0o755))
	}
	for p, text := range map[string]string{
		filepath.Join(z.otherWork, "secret.txt"): "run b's result\n",
		filepath.Join(z.dsA, "rows.csv"):         "cohort a\n",
		filepath.Join(z.dsB, "rows.csv"):         "cohort b\n",
		filepath.Join(z.sys, "tool.txt"):         "a system file\n",
		filepath.Join(z.sys, "enclave.yaml"):     "redis: {password: hunter2}\n",
	} {
		must(t, os.WriteFile(p, []byte(text), 0o644))
	}
	return z
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// executor returns a local executor for the zone with the given confinement policy.
func (z *zone) executor(t *testing.T, policy string) *local.Executor {
	t.Helper()
	cfg := config(z.state, time.Second)
	cfg.Confinement = policy
	cfg.ReadOnly = append(slices.Clone(local.DefaultReadOnly), z.sys)
	cfg.Hidden = func() []string {
		return []string{filepath.Join(z.root, "data"), filepath.Join(z.root, "datasets"), filepath.Join(z.sys, "enclave.yaml")}
	}
	ex, err := local.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return ex
}

// job runs script with sh in this run's work dir, given dataset cohort-a only.
func (z *zone) job(id, script string) *wes.Job {
	logs := filepath.Join(filepath.Dir(z.work), "logs")
	return &wes.Job{ID: id, Argv: []string{"sh", "-c", script}, WorkDir: z.work,
		Stdout: filepath.Join(logs, id+".out"), Stderr: filepath.Join(logs, id+".err"),
		Datasets: []wes.DatasetMount{{ID: "cohort-a", Path: z.dsA}}}
}

// confinementModes are the ways a job can be confined on this machine: with namespaces
// (root only), with Landlock alone (as a worker that is not root), and not at all.
func confinementModes(t *testing.T) []struct {
	name     string
	policy   string
	simulate func(*testing.T)
	confined bool
} {
	modes := []struct {
		name     string
		policy   string
		simulate func(*testing.T)
		confined bool
	}{
		{"namespaces", local.ConfineRequired, func(*testing.T) {}, true},
		{"landlock only", local.ConfineRequired, func(t *testing.T) { local.SimulateMachine(t, 99, false) }, true},
		{"off", local.ConfineOff, func(*testing.T) {}, false},
	}
	if os.Geteuid() != 0 {
		t.Log("not root: the namespaces mode is not tested")
		modes = modes[1:]
	}
	return modes
}

// TestConfinementFiles: a confined job reads the system, its own dataset and writes its
// work dir, and cannot read another run's work dir, another dataset, the executor's
// state or a configuration file among the system files, nor write its dataset. The same
// reads succeed unconfined, so the checks are not vacuous.
func TestConfinementFiles(t *testing.T) {
	for _, m := range confinementModes(t) {
		t.Run(m.name, func(t *testing.T) {
			m.simulate(t)
			z := newZone(t)
			ex := z.executor(t, m.policy)
			checks := []struct{ name, cmd string }{
				{"own_dataset", "cat " + filepath.Join(z.dsA, "rows.csv")},
				{"system_file", "cat " + filepath.Join(z.sys, "tool.txt")},
				{"etc_passwd", "cat /etc/passwd"},
				{"write_work", "echo out > out.txt"},
				{"other_dataset", "cat " + filepath.Join(z.dsB, "rows.csv")},
				{"other_run", "cat " + filepath.Join(z.otherWork, "secret.txt")},
				{"list_runs", "ls " + filepath.Dir(filepath.Dir(z.work)) + " | grep -q run-b"},
				{"state_dir", "cat " + filepath.Join(z.state, "files", "job.json")},
				{"config", "cat " + filepath.Join(z.sys, "enclave.yaml")},
				{"write_dataset", "echo x >> " + filepath.Join(z.dsA, "rows.csv")},
			}
			var script strings.Builder
			for _, c := range checks {
				fmt.Fprintf(&script, "if %s >/dev/null 2>&1; then echo '%s yes'; else echo '%s no'; fi\n", c.cmd, c.name, c.name)
			}
			job := z.job("files", script.String())
			if st := run(t, ex, job); st.State != wes.JobSucceeded {
				t.Fatalf("job %s (%q); stderr: %s", st.State, st.Message, readFile(t, job.Stderr))
			}
			out := readFile(t, job.Stdout)
			for i, c := range checks {
				want := "yes"
				if m.confined && i >= 4 {
					want = "no"
				}
				if !strings.Contains(out, c.name+" "+want+"\n") {
					t.Errorf("%s: want %s; the job said:\n%s", c.name, want, out)
				}
			}
		})
	}
}

// TestConfinementNetwork: a confined job cannot connect to a listener on the host's
// loopback (a network namespace with namespaces, Landlock's TCP rules without); an
// unconfined one can.
func TestConfinementNetwork(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	for _, m := range confinementModes(t) {
		t.Run(m.name, func(t *testing.T) {
			m.simulate(t)
			z := newZone(t)
			job := z.job("net", fmt.Sprintf(`/usr/bin/python3 -c "import socket; socket.create_connection(('127.0.0.1', %d), 3); print('connected')"`, port))
			st := run(t, z.executor(t, m.policy), job)
			connected := strings.Contains(readFile(t, job.Stdout), "connected")
			if connected != !m.confined || (st.State == wes.JobSucceeded) != connected {
				t.Fatalf("connected = %v (job %s), want %v; stderr: %s", connected, st.State, !m.confined, readFile(t, job.Stderr))
			}
		})
	}
}

// TestConfinementRequiredRefused: on a machine that cannot confine (no Landlock), a
// required policy refuses the job with a message saying why and what to do; best-effort
// runs it with what there is and says so.
func TestConfinementRequiredRefused(t *testing.T) {
	local.SimulateMachine(t, 0, false)
	z := newZone(t)
	_, err := z.executor(t, local.ConfineRequired).Submit(ctx(t), z.job("refused", "echo ran > ran.txt"))
	if wes.ErrorCode(err) != wes.EINVALID || !strings.Contains(wes.ErrorMessage(err), "Landlock") ||
		!strings.Contains(wes.ErrorMessage(err), "best-effort") {
		t.Fatalf("Submit = %v, want EINVALID naming Landlock and best-effort", err)
	}
	if _, err := os.Stat(filepath.Join(z.work, "ran.txt")); err == nil {
		t.Fatal("the refused job ran")
	}
	ex := z.executor(t, local.ConfineBestEffort)
	h, err := ex.Submit(ctx(t), z.job("best", "echo ran > ran.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if st := waitEnded(t, ex, h); st.State != wes.JobSucceeded {
		t.Fatalf("best-effort job %s (%q)", st.State, st.Message)
	}
	if line, err := ex.JobConfinement(ctx(t), h); err != nil || !strings.HasPrefix(line, "job not confined") {
		t.Errorf("JobConfinement = %q, %v; want it to say the job is not confined", line, err)
	}
}

// TestJobConfinementLine: the system-log line names the mechanisms and no path.
func TestJobConfinementLine(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for namespaces")
	}
	z := newZone(t)
	ex := z.executor(t, local.ConfineRequired)
	h, err := ex.Submit(ctx(t), z.job("line", "true"))
	if err != nil {
		t.Fatal(err)
	}
	waitEnded(t, ex, h)
	line, err := ex.JobConfinement(ctx(t), h)
	want := fmt.Sprintf("mount/pid/net/ipc/uts namespaces, uid %d, process tree killed at end", local.DefaultJobUID)
	if err != nil || !strings.HasPrefix(line, "job confined: landlock (ABI ") || !strings.HasSuffix(line, want) || strings.Contains(line, "/tmp") {
		t.Errorf("JobConfinement = %q, %v", line, err)
	}
	if c := ex.Confinement(); c.Policy != local.ConfineRequired || c.Problem != "" || len(c.Mechanisms) < 3 {
		t.Errorf("Confinement() = %+v", c)
	}
}

// TestConformanceConfined runs the executor conformance suite with every job confined.
// Pids inside a job's pid namespace are not the host's, so HostProcesses is off; the
// process tests in tree_test.go look for the job's processes from the host instead.
func TestConformanceConfined(t *testing.T) {
	state := t.TempDir()
	newEx := func(t *testing.T) wes.Executor {
		cfg := config(state, 2*time.Second)
		cfg.Confinement = local.ConfineRequired
		ex, err := local.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return ex
	}
	executortest.Run(t, newEx(t), executortest.Options{NewJob: newJob, Fresh: newEx, HostProcesses: os.Geteuid() != 0})
	verifyNoLeaks(t)
}
