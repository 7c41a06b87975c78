package enginekit

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// MaxLogBytes bounds how much of a log an engine parses, so a huge log cannot exhaust
// the server's memory. Longer logs are read from their start only.
const MaxLogBytes = 32 << 20

// LogPath is the engine's stdout ("stdout") or stderr ("stderr") file for workDir. The
// runner sends the engine's streams there (wes.Layout: <root>/logs next to <root>/work),
// so engines that report through their streams read them back from this path.
func LogPath(workDir, stream string) string {
	return filepath.Join(filepath.Dir(filepath.Clean(workDir)), "logs", stream+".log")
}

// ReadCapped reads at most MaxLogBytes of the file at p. A missing file reads as empty:
// the engine has not written anything yet.
func ReadCapped(p string) ([]byte, error) {
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, MaxLogBytes))
}
