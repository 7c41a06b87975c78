package wes

import "path/filepath"

// Layout is where a run's files live inside the zone, under the data directory:
//
//	<data>/runs/<id>/work      the engine's working directory (attachments, params, outputs)
//	<data>/runs/<id>/logs      the engine's stdout.log and stderr.log, kept out of the work
//	                           dir so no output selection can ever release them
//
// The server writes attachments into WorkDir; the runner prepares and starts the job there.
type Layout struct{ Root string }

// LayoutFor returns the layout of run id under dataDir. id must already be a valid run id.
func LayoutFor(dataDir, id string) Layout {
	return Layout{Root: filepath.Join(dataDir, "runs", id)}
}

// WorkDir is the engine's working directory.
func (l Layout) WorkDir() string { return filepath.Join(l.Root, "work") }

// LogDir holds the engine's stdout and stderr.
func (l Layout) LogDir() string { return filepath.Join(l.Root, "logs") }

// StdoutPath is the engine's standard output file.
func (l Layout) StdoutPath() string { return filepath.Join(l.Root, "logs", "stdout.log") }

// StderrPath is the engine's standard error file.
func (l Layout) StderrPath() string { return filepath.Join(l.Root, "logs", "stderr.log") }
