package docker

import (
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spe4hd/enclave/pkg/wes"
)

// numericUser parses a "uid:gid" (or "uid") user; ok is false for names, which only the
// image's /etc/passwd can resolve.
func numericUser(user string) (uid, gid int, ok bool) {
	u, g, hasGroup := strings.Cut(user, ":")
	uid, err := strconv.Atoi(u)
	if err != nil || uid < 0 {
		return 0, 0, false
	}
	gid = uid
	if hasGroup {
		if gid, err = strconv.Atoi(g); err != nil || gid < 0 {
			return 0, 0, false
		}
	}
	return uid, gid, true
}

// handOver gives the job's work dir, and all in it, to the container's user, so the
// engine (non-root in the container) can write where the worker (root) staged the
// workflow. Symlinks are changed themselves, never followed. A worker that is not root
// cannot chown: the work dir is then left as it is, and must already suit User.
func (e *Executor) handOver(workDir string) error {
	uid, gid, ok := numericUser(e.cfg.User)
	if !ok || os.Geteuid() != 0 {
		return nil
	}
	err := filepath.WalkDir(workDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
	if err != nil {
		return wes.Internal(err, "could not hand the work directory over to the container's user")
	}
	return nil
}
