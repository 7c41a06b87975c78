package local

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/landlock-lsm/go-landlock/landlock"
	llsys "github.com/landlock-lsm/go-landlock/landlock/syscall"

	"github.com/spe4hd/enclave/pkg/wes"
)

// maxLandlockABI is the highest Landlock ABI go-landlock knows (landlock.V11).
const maxLandlockABI = 11

// Device files every job may use. Shells write to /dev/null with O_TRUNC, hence the
// read-write rules (which include truncate).
var (
	rwDevices = []string{"/dev/null", "/dev/zero", "/dev/full"}
	roDevices = []string{"/dev/random", "/dev/urandom"}
)

// applyLandlock restricts the calling process, all its threads and everything it starts
// afterwards to what the plan allows: the system paths read-only (less Hidden), /proc
// and the CPU list read-only, a few devices, the job's work dir and tmp read-write, its
// datasets read-only. Without namespaces it also forbids TCP bind and connect (ABI 4);
// with them the job's own network namespace already has nothing but its loopback.
// Signals and abstract unix sockets cannot reach outside the job (ABI 6). shm is the
// job's own /dev/shm ("" when it has none: a shared one would let runs exchange data).
func applyLandlock(p *confinePlan, job wes.Job, tmp, shm string) error {
	if p.Landlock == 0 {
		return nil // namespaces only (best-effort on a kernel without Landlock)
	}
	abi, err := llsys.LandlockGetABIVersion()
	if err != nil || abi < p.Landlock {
		return fmt.Errorf("the kernel's Landlock ABI is %d, the job was planned with %d (err %v)", abi, p.Landlock, err)
	}
	var rules []landlock.Rule
	for _, t := range allowedTrees(p.ReadOnly, p.Hidden) {
		rules = append(rules, roRule(t))
	}
	rules = append(rules,
		landlock.RODirs("/proc").IgnoreIfMissing(),
		landlock.RODirs("/sys/devices/system/cpu").IgnoreIfMissing(),
		landlock.RWFiles(rwDevices...).IgnoreIfMissing(),
		landlock.ROFiles(roDevices...).IgnoreIfMissing(),
	)
	rw := []string{job.WorkDir, tmp}
	if shm != "" {
		rw = append(rw, shm)
	}
	rules = append(rules, landlock.RWDirs(rw...).WithRefer().WithResolveUnix())
	for _, d := range job.Datasets {
		rules = append(rules, roRule(d.Path))
	}
	cfg := landlock.V11.BestEffort()
	if p.Namespaces {
		cfg.HandledAccessNet = 0
	}
	if err := cfg.Restrict(rules...); err != nil {
		return fmt.Errorf("landlock: %w", err)
	}
	return nil
}

// roRule grants reading (and executing) path: a directory's whole tree, or one file.
func roRule(path string) landlock.Rule {
	if fi, err := os.Stat(path); err == nil && !fi.IsDir() {
		return landlock.ROFiles(path)
	}
	return landlock.RODirs(path).IgnoreIfMissing()
}

// allowedTrees expands roots into trees that contain no hidden path: a root that holds a
// hidden path is replaced by its entries, recursively, leaving the hidden paths (and
// entries that are symlinks into them) out. Landlock only allows, it cannot subtract,
// so this is how /etc is readable without the server's configuration file in it.
func allowedTrees(roots, hidden []string) []string {
	var out []string
	for _, r := range roots {
		out = append(out, expand(filepath.Clean(r), hidden, 0)...)
	}
	return out
}

func expand(root string, hidden []string, depth int) []string {
	fi, err := os.Lstat(root)
	if err != nil {
		return nil
	}
	if fi.Mode()&os.ModeSymlink != 0 {
		target, err := filepath.EvalSymlinks(root)
		if err != nil || isHidden(target, hidden) || holdsHidden(target, hidden) {
			return nil // dangling, or a way into (or around) what must not be seen
		}
		return []string{root}
	}
	if isHidden(root, hidden) {
		return nil
	}
	if !holdsHidden(root, hidden) {
		return []string{root}
	}
	if !fi.IsDir() || depth > 32 {
		return nil
	}
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		out = append(out, expand(filepath.Join(root, e.Name()), hidden, depth+1)...)
	}
	return out
}

// isHidden: p is a hidden path or lies inside one.
func isHidden(p string, hidden []string) bool {
	for _, h := range hidden {
		if p == h || strings.HasPrefix(p, h+"/") {
			return true
		}
	}
	return false
}

// holdsHidden: a hidden path lies strictly inside p.
func holdsHidden(p string, hidden []string) bool {
	for _, h := range hidden {
		if p == "/" || strings.HasPrefix(h, p+"/") {
			return true
		}
	}
	return false
}
