package local

import (
	"maps"
	"math"
	"path/filepath"
	"slices"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/spe4hd/enclave/pkg/wes"
)

// rlimit is one resource limit a job gets.
type rlimit struct {
	resource int
	name     string
	lim      unix.Rlimit
}

// rlimitsFor returns the rlimits that enforce r. Enforced:
//   - MemoryMB → RLIMIT_AS (address space): a hard cap on virtual memory, per process.
//     Programs that reserve much more than they use (JVMs, Go) need headroom.
//   - TimeLimit → RLIMIT_CPU of TimeLimit × max(CPUs, 1) CPU seconds, per process: a
//     backstop; the wall-clock limit itself is the shim's timer (SIGTERM, grace, SIGKILL).
//
// CPUs is not enforced on this executor (no cgroups): it only scales the CPU backstop.
func rlimitsFor(r wes.Resources) []rlimit {
	var ls []rlimit
	if r.MemoryMB > 0 {
		b := uint64(r.MemoryMB) << 20
		ls = append(ls, rlimit{unix.RLIMIT_AS, "RLIMIT_AS", unix.Rlimit{Cur: b, Max: b}})
	}
	if r.TimeLimit > 0 {
		secs := uint64(math.Ceil(r.TimeLimit.Seconds())) * uint64(max(r.CPUs, 1))
		// SIGXCPU at the soft limit, SIGKILL at the hard one.
		ls = append(ls, rlimit{unix.RLIMIT_CPU, "RLIMIT_CPU", unix.Rlimit{Cur: secs, Max: secs + 5}})
	}
	return ls
}

// jobEnv is the job's whole environment: a minimal base plus job.Env.
func jobEnv(sp spec) []string {
	m := map[string]string{"PATH": sp.Path, "HOME": sp.Job.WorkDir, "LANG": "C.UTF-8"}
	maps.Copy(m, sp.Job.Env)
	env := make([]string, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		env = append(env, k+"="+m[k])
	}
	return env
}

// execMain is the exec stage: the job's first process, already in the job's work dir,
// process group and output files. It applies the job's Landlock rules when it is
// confined, sets the limits on itself and becomes the job. The shim uses it for every
// confined job without namespaces, and where ptrace is not allowed (see startJob).
func execMain(dir, path string) int {
	unix.CloseOnExec(reportFD) // a successful execve reports nothing
	sp, err := readSpec(dir)
	if err != nil {
		return stageFail("cannot read the job spec: %v", err)
	}
	env := jobEnv(sp)
	if p := sp.Confine; p != nil {
		if p.Namespaces {
			return stageFail("a job planned with namespaces reached the exec stage")
		}
		tmp := filepath.Join(dir, fileTmp)
		if err := applyLandlock(p, sp.Job, tmp, ""); err != nil {
			return stageFail("cannot confine the job: %v", err)
		}
		env = jobEnvConfined(sp, tmp)
	}
	for _, l := range rlimitsFor(sp.Job.Resources) {
		lim := l.lim
		if err := unix.Setrlimit(l.resource, &lim); err != nil {
			return stageFail("cannot apply resource limit %s: %v", l.name, err)
		}
	}
	err = syscall.Exec(path, sp.Job.Argv, env)
	return stageFail("cannot execute %s: %v", filepath.Base(sp.Job.Argv[0]), err)
}
