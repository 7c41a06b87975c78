package local

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	llsys "github.com/landlock-lsm/go-landlock/landlock/syscall"
	"golang.org/x/sys/unix"
)

// Confinement policies (Config.Confinement).
const (
	// ConfineRequired confines every job with everything the worker's privileges allow
	// (root: Landlock, namespaces and an unprivileged uid; otherwise Landlock) and
	// refuses to start a job when this machine cannot do that.
	ConfineRequired = "required"
	// ConfineBestEffort confines jobs with what this machine offers and says what it did.
	ConfineBestEffort = "best-effort"
	// ConfineOff starts jobs unconfined, as the worker's user (the process tree is still
	// killed when the job ends).
	ConfineOff = "off"
)

// DefaultJobUID and DefaultJobGID are the unprivileged identity of confined jobs when
// the worker runs as root. No account should own these ids.
const (
	DefaultJobUID = 61234
	DefaultJobGID = 61234
)

// DefaultReadOnly are the system paths a confined job may read and execute (those that
// exist). Everything else of the machine is out of its reach, except its own work dir,
// its datasets, a private /tmp and a few device files.
var DefaultReadOnly = []string{"/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/opt"}

// abilities is what this machine lets the executor do to confine jobs; probed once, at New.
type abilities struct {
	Landlock   int    // Landlock ABI version of the kernel, 0 without Landlock
	Root       bool   // the worker runs as root: namespaces and another uid are expected
	Namespaces bool   // new mount, pid, net, ipc and uts namespaces can be created
	NSProblem  string // why not, when Root and !Namespaces
}

// probeHook, when set (by tests), changes the probed abilities, so that a test can play
// a machine that cannot confine without faking the kernel.
var probeHook func(*abilities)

func probeAbilities() abilities {
	var a abilities
	if v, err := llsys.LandlockGetABIVersion(); err == nil && v > 0 {
		a.Landlock = v
	}
	a.Root = os.Geteuid() == 0
	if a.Root {
		if err := probeNamespaces(); err != nil {
			a.NSProblem = err.Error()
		} else {
			a.Namespaces = true
		}
	}
	if probeHook != nil {
		probeHook(&a)
	}
	return a
}

// probeNamespaces checks that the namespaces a confined job gets can be created, on a
// thread of its own that is thrown away afterwards (it is never unlocked, so the Go
// runtime ends it rather than reuse a thread in other namespaces).
func probeNamespaces() error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		errc <- unix.Unshare(nsFlags)
	}()
	if err := <-errc; err != nil {
		return fmt.Errorf("cannot create namespaces: %w", err)
	}
	return nil
}

// nsFlags are the namespaces of a confined job's init (see initMain).
const nsFlags = unix.CLONE_NEWNS | unix.CLONE_NEWPID | unix.CLONE_NEWNET | unix.CLONE_NEWIPC | unix.CLONE_NEWUTS

// confinePlan is how one job is confined. Submit decides it from the policy and the
// machine's abilities and writes it into the job's spec; the shim applies all of it or
// fails the job, so the description a run shows is what its job got.
type confinePlan struct {
	Landlock   int      `json:"landlock,omitempty"`   // Landlock ABI enforced; 0: none
	Namespaces bool     `json:"namespaces,omitempty"` // mount, pid, net, ipc and uts namespaces
	UID        int      `json:"uid,omitempty"`        // with Namespaces: the job's uid and gid
	GID        int      `json:"gid,omitempty"`
	ReadOnly   []string `json:"read_only,omitempty"` // system paths readable (and executable)
	Hidden     []string `json:"hidden,omitempty"`    // paths never visible, even inside ReadOnly
}

// planFor returns the plan for a new job under policy, or an error saying why the
// policy cannot be met on this machine. A nil plan means no confinement.
func (e *Executor) planFor() (*confinePlan, error) {
	pol, a := e.cfg.Confinement, e.abilities
	if pol == ConfineOff {
		return nil, nil
	}
	if pol == ConfineRequired {
		if p := requiredProblem(a); p != "" {
			return nil, fmt.Errorf("%s", p)
		}
	}
	p := &confinePlan{Landlock: min(a.Landlock, maxLandlockABI), ReadOnly: e.cfg.ReadOnly, Hidden: e.hidden()}
	if a.Root && a.Namespaces {
		p.Namespaces, p.UID, p.GID = true, e.cfg.JobUID, e.cfg.JobGID
	}
	if p.Landlock == 0 && !p.Namespaces {
		return nil, nil // best-effort on a machine that offers nothing
	}
	return p, nil
}

// requiredProblem says why jobs cannot be confined as ConfineRequired asks, or "".
func requiredProblem(a abilities) string {
	switch {
	case a.Landlock == 0:
		return "the kernel has no Landlock (it needs Linux 5.13 or later with Landlock enabled)"
	case a.Root && !a.Namespaces:
		return "the worker runs as root but " + a.NSProblem
	}
	return ""
}

// hidden lists the paths a job must never see: the configured ones and the executor's
// own state directory, with their symlink-resolved forms.
func (e *Executor) hidden() []string {
	var hs []string
	if e.cfg.Hidden != nil {
		hs = append(hs, e.cfg.Hidden()...)
	}
	hs = append(hs, e.cfg.StateDir)
	var out []string
	for _, h := range hs {
		if !filepath.IsAbs(h) {
			continue
		}
		out = append(out, filepath.Clean(h))
		if r, err := filepath.EvalSymlinks(h); err == nil && r != filepath.Clean(h) {
			out = append(out, r)
		}
	}
	return out
}

// describe is the one line a run's system log shows about its job's confinement. It
// names mechanisms and ids, never a path.
func (p *confinePlan) describe() string {
	if p == nil {
		return "job not confined (confinement off or unavailable); its process tree is killed when it ends"
	}
	var m []string
	if p.Landlock > 0 {
		m = append(m, fmt.Sprintf("landlock (ABI %d)", p.Landlock))
	}
	if p.Namespaces {
		m = append(m, "mount/pid/net/ipc/uts namespaces", fmt.Sprintf("uid %d", p.UID))
	}
	m = append(m, "process tree killed at end")
	return "job confined: " + strings.Join(m, ", ")
}

// mechanisms lists what a job gets under this plan, for service-info.
func (p *confinePlan) mechanisms() []string {
	var m []string
	if p != nil && p.Landlock > 0 {
		m = append(m, fmt.Sprintf("landlock ABI %d: reads only system paths, its work dir, its datasets (read-only) and a private tmp", p.Landlock))
		if p.Landlock >= 4 && !p.Namespaces {
			m = append(m, "landlock: no TCP bind or connect")
		}
		if p.Landlock >= 6 {
			m = append(m, "landlock: no signals or abstract sockets to processes outside the job")
		}
	}
	if p != nil && p.Namespaces {
		m = append(m, "mount namespace: only system paths, its work dir and its datasets exist",
			"pid namespace", "network namespace without interfaces but loopback", "ipc and uts namespaces",
			fmt.Sprintf("unprivileged uid %d gid %d", p.UID, p.GID))
	}
	return append(m, "process tree killed when the job ends")
}
