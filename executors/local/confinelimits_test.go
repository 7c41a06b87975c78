package local_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/spe4hd/enclave/executors/local"
	"github.com/spe4hd/enclave/pkg/wes"
)

// TestConfinedLimits: a confined job gets its resource limits, also where root may not
// set the limits of another uid's process (no CAP_SYS_RESOURCE), and keeps its
// confinement on that path (the nsexec stage with namespaces).
func TestConfinedLimits(t *testing.T) {
	for _, m := range confinementModes(t) {
		t.Run(m.name, func(t *testing.T) {
			m.simulate(t)
			z := newZone(t)
			job := z.job("limits", "cat /proc/self/limits; id -u; cat "+filepath.Join(z.dsB, "rows.csv")+" 2>/dev/null; true")
			job.Resources = wes.Resources{MemoryMB: 512, TimeLimit: time.Minute}
			if st := run(t, z.executor(t, m.policy), job); st.State != wes.JobSucceeded {
				t.Fatalf("job %s (%q): %s", st.State, st.Message, readFile(t, job.Stderr))
			}
			out := readFile(t, job.Stdout)
			for _, re := range []string{`Max address space\s+536870912\s+536870912`, `Max cpu time\s+60\s+65`} {
				if !regexp.MustCompile(re).MatchString(out) {
					t.Errorf("limits: want %s in\n%s", re, out)
				}
			}
			if leaked := strings.Contains(out, "cohort b"); leaked == m.confined {
				t.Errorf("read another dataset: %v, want %v", leaked, !m.confined)
			}
			if m.name == "namespaces" && !regexp.MustCompile(`(?m)^61234$`).MatchString(out) {
				t.Errorf("the job's uid is not the job user's:\n%s", out)
			}
		})
	}
}

// TestBestEffortWithoutLandlock: as root on a kernel without Landlock, best-effort still
// confines with namespaces (and says so), and another run's work dir is not there.
func TestBestEffortWithoutLandlock(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for namespaces")
	}
	local.SimulateMachine(t, 0, true)
	z := newZone(t)
	ex := z.executor(t, local.ConfineBestEffort)
	job := z.job("nolandlock", "cat "+filepath.Join(z.otherWork, "secret.txt")+" 2>/dev/null; true")
	h, err := ex.Submit(ctx(t), job)
	if err != nil {
		t.Fatal(err)
	}
	if st := waitEnded(t, ex, h); st.State != wes.JobSucceeded {
		t.Fatalf("job %s (%q)", st.State, st.Message)
	}
	if out := readFile(t, job.Stdout); strings.Contains(out, "run b") {
		t.Errorf("the job read another run's work dir: %q", out)
	}
	line, err := ex.JobConfinement(ctx(t), h)
	if err != nil || line != "job confined: mount/pid/net/ipc/uts namespaces, uid 61234, process tree killed at end" {
		t.Errorf("JobConfinement = %q, %v", line, err)
	}
}
