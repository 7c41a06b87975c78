package local

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
)

// enterRoot gives init (and so the job) a file system of its own, in its private mount
// namespace: a fresh tmpfs root holding only the system paths (read-only, with the
// hidden paths inside them covered by empty read-only mounts), a few device files, a
// fresh /proc of the job's pid namespace, the CPU list, a private /dev/shm, the job's
// private tmp at /tmp, its work dir (read-write) and its datasets (read-only), each at
// its own path so that the paths in the job's parameters stay valid. Everything else
// (other runs, other datasets, the state and data dirs, the server's configuration)
// does not exist there. It then brings the loopback interface of the job's network
// namespace up (a job may talk to itself, never to the host) and pivots into the root.
func enterRoot(dir string, sp spec) error {
	p, job := sp.Confine, sp.Job
	// Nothing mounted here may propagate back to the host.
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("making mounts private: %w", err)
	}
	root := filepath.Join(dir, "root")
	if err := os.Mkdir(root, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	if err := unix.Mount("tmpfs", root, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=0755,size=16m"); err != nil {
		return fmt.Errorf("root tmpfs: %w", err)
	}
	m := mounter{root: root}
	// /tmp first: a path of the job below /tmp (its work dir, say) is then bound inside it.
	m.mkdir("/tmp")
	m.do(unix.Mount(filepath.Join(dir, fileTmp), m.at("/tmp"), "", unix.MS_BIND, ""))
	for _, t := range topLevel(p.ReadOnly) {
		m.bind(t, true)
	}
	m.bind("/sys/devices/system/cpu", true)
	for _, d := range append(slices.Clone(rwDevices), roDevices...) {
		m.bind(d, false)
	}
	for name, target := range map[string]string{"fd": "/proc/self/fd", "stdin": "/proc/self/fd/0",
		"stdout": "/proc/self/fd/1", "stderr": "/proc/self/fd/2"} {
		m.do(os.Symlink(target, m.at("/dev/"+name)))
	}
	m.mkdir("/dev/shm")
	m.do(unix.Mount("tmpfs", m.at("/dev/shm"), "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=1777"))
	m.mkdir("/proc")
	m.do(unix.Mount("proc", m.at("/proc"), "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""))
	var covers []string
	for _, h := range p.Hidden {
		if fi, err := os.Lstat(m.at(h)); err == nil && fi.Mode()&fs.ModeSymlink == 0 {
			m.hide(h, fi.IsDir())
			covers = append(covers, h)
		}
	}
	m.mkdir(job.WorkDir)
	m.do(unix.Mount(job.WorkDir, m.at(job.WorkDir), "", unix.MS_BIND|unix.MS_REC, ""))
	for _, d := range job.Datasets {
		m.bind(d.Path, true)
	}
	for _, c := range covers {
		m.readOnly(c, false)
	}
	m.readOnly("/", false)
	if m.err != nil {
		return m.err
	}
	_ = unix.Sethostname([]byte("job"))
	if err := loopbackUp(); err != nil {
		return err
	}
	return pivot(root)
}

// topLevel drops the paths that lie inside another path of the list (one bind of /usr
// covers /usr/local/bin).
func topLevel(paths []string) []string {
	var out []string
	for _, p := range paths {
		p = filepath.Clean(p)
		if !slices.ContainsFunc(paths, func(q string) bool {
			q = filepath.Clean(q)
			return q != p && strings.HasPrefix(p, q+"/")
		}) {
			out = append(out, p)
		}
	}
	return out
}

// mounter builds the job's root; the first error sticks.
type mounter struct {
	root string
	err  error
}

func (m *mounter) at(p string) string { return filepath.Join(m.root, p) }

func (m *mounter) do(err error) {
	if m.err == nil && err != nil {
		m.err = err
	}
}

func (m *mounter) mkdir(p string) { m.do(os.MkdirAll(m.at(p), 0o755)) }

// bind makes host path src visible at the same path (read-only if ro), recreating a
// symlink as a symlink. A missing src is left out.
func (m *mounter) bind(src string, ro bool) {
	fi, err := os.Lstat(src)
	if err != nil || m.err != nil {
		return
	}
	dst := m.at(src)
	m.mkdir(filepath.Dir(src))
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		target, err := os.Readlink(src)
		m.do(err)
		if m.err == nil {
			m.do(os.Symlink(target, dst))
		}
		return
	case fi.IsDir():
		m.mkdir(src)
	default:
		m.do(touch(dst))
	}
	m.do(unix.Mount(src, dst, "", unix.MS_BIND|unix.MS_REC, ""))
	if ro {
		m.readOnly(src, true)
	}
}

// hide covers p with an empty mount: a tmpfs for a directory (writable until readOnly,
// so that mount points below it, such as the work dir, can be made), the root's empty
// file for a file.
func (m *mounter) hide(p string, dir bool) {
	if dir {
		m.do(unix.Mount("tmpfs", m.at(p), "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=0755,size=1m"))
		return
	}
	empty := m.at("/.hidden")
	m.do(touch(empty))
	m.do(unix.Mount(empty, m.at(p), "", unix.MS_BIND, ""))
}

// readOnly makes the mount at p (and, if recursive, those below it) read-only, nosuid
// and nodev.
func (m *mounter) readOnly(p string, recursive bool) {
	if m.err != nil {
		return
	}
	var flags uint
	if recursive {
		flags = unix.AT_RECURSIVE
	}
	attr := &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV}
	if err := unix.MountSetattr(-1, m.at(p), flags, attr); err != nil {
		m.do(fmt.Errorf("read-only %s: %w", p, err))
	}
}

func touch(p string) error {
	f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY, 0o400)
	if err != nil {
		return err
	}
	return f.Close()
}

// pivot makes root the root of this mount namespace and drops the old one entirely.
func pivot(root string) error {
	if err := unix.Chdir(root); err != nil {
		return err
	}
	// pivot_root(".", ".") stacks the old root on top of the new one; unmounting "."
	// then removes the old root without needing a directory for it.
	if err := unix.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("pivot_root: %w", err)
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("detaching the host's root: %w", err)
	}
	return unix.Chdir("/")
}

// loopbackUp brings up lo, the only interface of the job's network namespace.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("loopback: %w", err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("loopback flags: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("loopback up: %w", err)
	}
	return nil
}
