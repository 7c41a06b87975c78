package engines_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spe4hd/enclave/pkg/engines"
	"github.com/spe4hd/enclave/pkg/engines/cwl"
	"github.com/spe4hd/enclave/pkg/engines/nextflow"
	"github.com/spe4hd/enclave/pkg/engines/snakemake"
	"github.com/spe4hd/enclave/pkg/wes"
)

// gatedSnakemake writes a `snakemake` whose --version blocks until the file it returns
// exists, then prints a version; each call appends a line to dir/calls. With failFirst
// it exits 1 at once instead of blocking.
func gatedSnakemake(t *testing.T, failFirst bool) (bin, release, calls string) {
	t.Helper()
	dir := t.TempDir()
	bin, release, calls = filepath.Join(dir, "snakemake"), filepath.Join(dir, "release"), filepath.Join(dir, "calls")
	wait := `while [ ! -e "` + release + `" ]; do sleep 0.02; done`
	if failFirst {
		wait = `[ -e "` + release + `" ] || { echo "snakemake: broken" >&2; exit 1; }`
	}
	script := "#!/bin/sh\necho call >> \"" + calls + "\"\n" + wait + "\necho 7.32.4\n"
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return bin, release, calls
}

func callCount(path string) int {
	b, _ := os.ReadFile(path)
	return strings.Count(string(b), "call\n")
}

// waitFor polls cond until it holds, failing the test after a generous deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond) // polling a condition with a deadline
	}
}

func waitDone(t *testing.T, done <-chan struct{}) {
	t.Helper()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Watch did not finish within 30s of the engine answering")
	}
}

// wantRetry checks that err is the 503 of an engine that is not ready yet.
func wantRetry(t *testing.T, err error) {
	t.Helper()
	var re *engines.RetryError
	if !wes.IsCode(err, wes.EUNAVAILABLE) || !errors.As(err, &re) || re.RetryAfter() < time.Second {
		t.Fatalf("Resolve while the engine is not ready = %v; want EUNAVAILABLE with a Retry-After", err)
	}
	if msg := wes.ErrorMessage(err); !strings.Contains(msg, "snakemake is not ready on this server yet") {
		t.Errorf("message %q", msg)
	}
}

// The case: `snakemake --version` is slow when the server starts. Until it
// answers, runs for Snakemake are refused with 503 (not 400), the engine is not
// advertised and the server is not ready; then it is offered without a restart.
func TestWatchWaitsForASlowVersion(t *testing.T) {
	bin, release, calls := gatedSnakemake(t, false)
	r := engines.NewRegistry(snakemake.New(snakemake.Config{Binary: bin}, nil))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, done := r.Watch(ctx, nil, engines.WatchConfig{})

	waitFor(t, "the first --version call", func() bool { return callCount(calls) == 1 })
	if st := r.State(snakemake.Name); st != engines.StatePending {
		t.Fatalf("state while --version runs = %s", st)
	}
	_, _, err := r.Resolve(snakemake.WorkflowType, snakemake.TypeVersion, "", "")
	wantRetry(t, err)
	if got := r.NotReady(); !slices.Equal(got, []string{snakemake.Name}) {
		t.Errorf("NotReady = %v", got)
	}
	if got := r.Available(); len(got) != 0 {
		t.Errorf("Available while pending = %v", got)
	}

	ready := r.ReadyC(snakemake.Name)
	select {
	case <-ready:
		t.Fatal("ReadyC is closed before the engine answered")
	default:
	}
	if err := os.WriteFile(release, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	waitDone(t, done)
	<-ready
	if _, v, err := r.Resolve(snakemake.WorkflowType, snakemake.TypeVersion, "", ""); err != nil || v != "7.32.4" {
		t.Fatalf("Resolve after discovery = %q, %v", v, err)
	}
	if len(r.NotReady()) != 0 || len(r.Available()) != 1 {
		t.Errorf("after discovery NotReady = %v, Available = %v", r.NotReady(), r.Available())
	}
}

// A --version that fails, or times out, is tried again with backoff until it works.
func TestWatchRetriesAFailingVersion(t *testing.T) {
	for _, tc := range []struct {
		name      string
		failFirst bool
		timeout   time.Duration
	}{
		{"fails", true, 0},
		{"times out", false, 300 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bin, release, calls := gatedSnakemake(t, tc.failFirst)
			r := engines.NewRegistry(snakemake.New(snakemake.Config{Binary: bin}, nil))
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			_, done := r.Watch(ctx, nil, engines.WatchConfig{Timeout: tc.timeout, FirstRetry: 10 * time.Millisecond, MaxRetry: 50 * time.Millisecond})
			waitFor(t, "a second attempt", func() bool { return callCount(calls) >= 2 })
			if st := r.State(snakemake.Name); st != engines.StateFailing && st != engines.StatePending {
				t.Fatalf("state = %s", st)
			}
			_, _, err := r.Resolve(snakemake.WorkflowType, snakemake.TypeVersion, "", "")
			wantRetry(t, err)
			if err := os.WriteFile(release, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			waitDone(t, done)
			if st := r.State(snakemake.Name); st != engines.StateReady {
				t.Fatalf("state after the engine answered = %s", st)
			}
		})
	}
}

// A configured version list does not advertise a program that is not there, and a run
// for an engine that is not installed is refused with a 400 naming what is.
func TestAbsentEnginesAreNotOffered(t *testing.T) {
	dir := t.TempDir()
	ok := filepath.Join(dir, "cwltool")
	if err := os.WriteFile(ok, []byte("#!/bin/sh\necho 3.1.20230209161050\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	broken := filepath.Join(dir, "snakemake")
	if err := os.WriteFile(broken, []byte("#!/bin/sh\nexit 3\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	r := engines.NewRegistry(
		snakemake.New(snakemake.Config{Binary: broken, Versions: []string{"8.0.0"}}, nil),
		cwl.New(cwl.Config{Binary: ok}, nil),
		nextflow.New(nextflow.Config{Versions: []string{"24.10.0"}}, nil),
	)
	r.SetProbes(map[string]engines.Probe{
		snakemake.Name: {Binary: broken, Args: []string{"--version"}},
		nextflow.Name:  {Binary: filepath.Join(dir, "no-such-nextflow")},
	})
	r.Discover(context.Background(), nil)

	for name, want := range map[string]engines.State{snakemake.Name: engines.StateFailing, cwl.Name: engines.StateReady, nextflow.Name: engines.StateAbsent} {
		if got := r.State(name); got != want {
			t.Errorf("State(%s) = %s, want %s", name, got, want)
		}
	}
	if av := r.Available(); len(av) != 1 || av[0].Name() != cwl.Name {
		t.Errorf("Available = %v, want cwltool only", av)
	}
	if got := r.NotReady(); !slices.Equal(got, []string{snakemake.Name}) {
		t.Errorf("NotReady = %v: an absent engine is not waited for", got)
	}
	_, _, err := r.Resolve(nextflow.WorkflowType, nextflow.TypeVersion, "", "")
	msg := wes.ErrorMessage(err)
	if !wes.IsCode(err, wes.EINVALID) || !strings.Contains(msg, "workflow_engine nextflow is not installed on this server") ||
		!strings.Contains(msg, "installed: cwltool 3.1.20230209161050 (CWL)") || strings.Contains(msg, dir) {
		t.Errorf("run for an absent engine: %v", err)
	}
	_, _, err = r.Resolve(snakemake.WorkflowType, snakemake.TypeVersion, "", "")
	if !wes.IsCode(err, wes.EUNAVAILABLE) || strings.Contains(wes.ErrorMessage(err), dir) {
		t.Errorf("run for an engine that does not answer: %v", err)
	}
}

// A discovering engine whose program is missing is absent, not failing.
func TestDiscoverMissingProgram(t *testing.T) {
	r := engines.NewRegistry(snakemake.New(snakemake.Config{Binary: filepath.Join(t.TempDir(), "snakemake")}, nil),
		cwl.New(cwl.Config{Binary: "enclave-test-no-such-cwltool"}, nil))
	r.Discover(context.Background(), nil)
	for _, n := range []string{snakemake.Name, cwl.Name} {
		if st := r.State(n); st != engines.StateAbsent {
			t.Errorf("State(%s) = %s, want absent", n, st)
		}
	}
	_, _, err := r.Resolve(cwl.WorkflowType, "v1.2", "", "")
	if !wes.IsCode(err, wes.EINVALID) || !strings.Contains(wes.ErrorMessage(err), "installed: none") {
		t.Errorf("err = %v", err)
	}
}

// An engine whose --version is always slower than the first check's timeout (the issue's
// 35 s against 30 s) is still found: each failed check gives the next one twice as long.
func TestWatchGivesASlowEngineLonger(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "snakemake")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\nsleep 0.5\necho 7.32.4\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	r := engines.NewRegistry(snakemake.New(snakemake.Config{Binary: bin}, nil))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	checked, done := r.Watch(ctx, nil, engines.WatchConfig{Timeout: 100 * time.Millisecond, FirstRetry: 10 * time.Millisecond})
	select {
	case <-checked:
	case <-time.After(30 * time.Second):
		t.Fatal("the first check did not end")
	}
	if st := r.State(snakemake.Name); st != engines.StateFailing {
		t.Fatalf("state after a first check that timed out = %s", st)
	}
	waitDone(t, done)
	if st := r.State(snakemake.Name); st != engines.StateReady {
		t.Fatalf("state = %s", st)
	}
}
