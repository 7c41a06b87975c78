package local_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/spe4hd/enclave/pkg/wes"
)

// TestProcessTreeKilled: processes a job left behind, one in a session of its own
// (setsid) and one double-forked daemon whose parent is gone, are gone as soon as the job
// has ended, whether it exited, was cancelled or hit its time limit, in every
// confinement mode. They are found from the host by their command lines, so the test
// sees them whatever pid namespace they are in, and it checks that they ran first.
func TestProcessTreeKilled(t *testing.T) {
	ends := []struct {
		name  string
		limit time.Duration
		end   func(t *testing.T, ex wes.Executor, h wes.Handle, job *wes.Job)
		want  wes.JobState
	}{
		{"exit", 0, func(t *testing.T, _ wes.Executor, _ wes.Handle, job *wes.Job) {
			must(t, os.WriteFile(filepath.Join(job.WorkDir, "go"), nil, 0o644))
		}, wes.JobSucceeded},
		{"cancel", 0, func(t *testing.T, ex wes.Executor, h wes.Handle, _ *wes.Job) {
			must(t, ex.Cancel(ctx(t), h))
		}, wes.JobCanceled},
		{"time limit", 2 * time.Second, func(*testing.T, wes.Executor, wes.Handle, *wes.Job) {}, wes.JobFailed},
	}
	n := 0
	for _, m := range confinementModes(t) {
		for _, end := range ends {
			n++
			t.Run(m.name+"/"+end.name, func(t *testing.T) {
				m.simulate(t)
				z := newZone(t)
				ex := z.executor(t, m.policy)
				// Unique durations name the escaped processes on the host.
				setsidMark := fmt.Sprintf("%d.%d1", 7000+os.Getpid()%1000, n)
				daemonMark := fmt.Sprintf("%d.%d2", 7000+os.Getpid()%1000, n)
				job := z.job("tree", fmt.Sprintf(`setsid sleep %s &
sh -c 'setsid sleep %s & exit 0' &
while [ ! -e go ]; do sleep 0.05; done`, setsidMark, daemonMark))
				job.Resources.TimeLimit = end.limit
				h, err := ex.Submit(ctx(t), job)
				if err != nil {
					t.Fatal(err)
				}
				eventually(t, "the escaped processes to run", func() bool {
					return len(sleepers(setsidMark)) > 0 && len(sleepers(daemonMark)) > 0
				})
				end.end(t, ex, h, job)
				st := waitEnded(t, ex, h)
				if st.State != end.want {
					t.Errorf("job %s (%q), want %s", st.State, st.Message, end.want)
				}
				if left := append(sleepers(setsidMark), sleepers(daemonMark)...); len(left) > 0 {
					t.Fatalf("processes %v of the job still run after it ended", left)
				}
			})
		}
	}
}

// sleepers returns the live processes whose command line is `sleep mark`.
func sleepers(mark string) []int {
	want := []byte("sleep\x00" + mark + "\x00")
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err == nil && bytes.Equal(b, want) && !processGone(pid) {
			out = append(out, pid)
		}
	}
	return out
}
