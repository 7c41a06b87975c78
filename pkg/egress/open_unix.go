//go:build unix

package egress

import (
	"errors"
	"io/fs"
	"os"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

type fileID struct {
	dev, ino uint64
	nlink    uint64
}

func fileIDOf(fi fs.FileInfo) (fileID, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileID{}, false
	}
	// The field types differ between platforms, hence the conversions.
	return fileID{dev: uint64(st.Dev), ino: uint64(st.Ino), nlink: uint64(st.Nlink)}, true
}

// errLink says a path element was a symbolic link (or not a directory) when opened.
var errLink = errors.New("a path element is a symbolic link or not a directory")

// openBeneath opens the regular file rel (slash-separated, clean, relative) under the
// directory root without following any symbolic link on the way: each directory is
// opened relative to its parent's descriptor with O_NOFOLLOW, and so is the file. A link
// swapped in anywhere along the path makes the open fail, rather than leading outside.
// O_NONBLOCK keeps a fifo swapped in from blocking the open; it changes nothing for a
// regular file.
func openBeneath(root, rel string) (*os.File, error) {
	dfd, err := unix.Open(root, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	elems := strings.Split(rel, "/")
	for _, el := range elems[:len(elems)-1] {
		next, err := unix.Openat(dfd, el, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		unix.Close(dfd)
		if err != nil {
			return nil, linkErr(err)
		}
		dfd = next
	}
	fd, err := unix.Openat(dfd, elems[len(elems)-1],
		unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	unix.Close(dfd)
	if err != nil {
		return nil, linkErr(err)
	}
	return os.NewFile(uintptr(fd), rel), nil
}

// linkErr turns the errors a link in the way produces (ELOOP for a final link with
// O_NOFOLLOW, ENOTDIR for a link where a directory was expected) into errLink.
func linkErr(err error) error {
	if errors.Is(err, unix.ELOOP) || errors.Is(err, unix.ENOTDIR) {
		return errLink
	}
	return err
}
