package local

import (
	"bytes"
	"errors"
	"os"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// The shim is a child subreaper (PR_SET_CHILD_SUBREAPER): a process of the job whose
// parent ends is re-parented to the shim instead of init, so setsid and double forks
// cannot take a process out of the shim's tree. When the job ends, killDescendants kills
// that whole tree. This holds with and without confinement; a job in a pid namespace
// is also killed as a whole by the kernel when its init ends.

// becomeSubreaper makes the calling process (the shim) a child subreaper.
func becomeSubreaper() error {
	return unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
}

// killDescendants kills every descendant of this process and reaps its children. Each
// round first stops every descendant it finds and looks again until no new one shows
// up (a stopped process cannot fork), then kills them all: so a process that forks
// while it is being killed cannot slip through. A round that finds nobody ends it.
func killDescendants() {
	self := os.Getpid()
	for round := 0; round < 100; round++ {
		stopped := map[int]bool{}
		for {
			fresh := 0
			for _, p := range descendants(self) {
				if !stopped[p] {
					_ = unix.Kill(p, unix.SIGSTOP)
					stopped[p] = true
					fresh++
				}
			}
			if fresh == 0 {
				break
			}
		}
		if len(stopped) == 0 {
			return
		}
		for p := range stopped {
			_ = unix.Kill(p, unix.SIGKILL)
		}
		reapChildren()
	}
}

// reapChildren waits for all of this process's children (only called once the job's
// first process has been waited for by its exec.Cmd).
func reapChildren() {
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, 0, nil)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil || pid <= 0 {
			return
		}
	}
}

// reapOrphans reaps the orphans of the job that re-parented to the shim and ended while
// the job runs, never the job's first process (its exec.Cmd waits for that one).
func reapOrphans(job int) {
	for _, p := range processTree(true)[os.Getpid()] {
		if p == job {
			continue
		}
		if _, state, ok := parentOf(p); ok && state == 'Z' {
			var ws syscall.WaitStatus
			_, _ = syscall.Wait4(p, &ws, unix.WNOHANG, nil)
		}
	}
}

// descendants lists the live (not zombie) processes below pid, from one pass over /proc.
func descendants(pid int) []int {
	kids := processTree(false)
	var out []int
	queue := []int{pid}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range kids[p] {
			out = append(out, c)
			queue = append(queue, c)
		}
	}
	return out
}

// processTree maps each pid to its children, zombies only if asked for.
func processTree(zombies bool) map[int][]int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	kids := map[int][]int{}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		ppid, state, ok := parentOf(pid)
		if ok && (zombies || state != 'Z' && state != 'X') {
			kids[ppid] = append(kids[ppid], pid)
		}
	}
	return kids
}

// parentOf reads the parent pid and state of pid from /proc/<pid>/stat.
func parentOf(pid int) (ppid int, state byte, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, false
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 2 || len(f[0]) != 1 {
		return 0, 0, false
	}
	ppid, err = strconv.Atoi(f[1])
	return ppid, f[0][0], err == nil
}
