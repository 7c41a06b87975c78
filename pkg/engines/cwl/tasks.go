package cwl

import (
	"bufio"
	"bytes"
	"context"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/spe4hd/enclave/pkg/engines/internal/enginekit"
	"github.com/spe4hd/enclave/pkg/wes"
)

// Tasks reads cwltool's log (the run's stderr, see enginekit.LogPath) and returns one task
// per cwltool job, that is per process a step ran (a scattered step runs several, named
// "step", "step_2", …): ID and Name are the job's name, Cmd its command line with the
// work dir cut out, times from --timestamps (local time of the machine cwltool runs on).
// A job that completed with success has exit code 0; a failed one the status it exited
// with, or 1 when cwltool did not say. A step that failed before running any job is a
// task of its own with exit code 1.
func (e *Engine) Tasks(_ context.Context, workDir string) ([]wes.Task, error) {
	data, err := enginekit.ReadCapped(enginekit.LogPath(workDir, "stderr"))
	if err != nil {
		return nil, wes.Internal(err, "cannot read cwltool's log")
	}
	return ParseLog(data, filepath.Clean(workDir), time.Local), nil
}

var (
	ansiRE = regexp.MustCompile(`\x1b\[[0-9;]*m`)
	// "[2026-11-23 23:38:38] INFO [job greet] completed success"; the timestamp is there
	// with --timestamps only.
	lineRE   = regexp.MustCompile(`^(?:\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)\] )?(?:DEBUG|INFO|WARNING|ERROR|CRITICAL) (.*)$`)
	objectRE = regexp.MustCompile(`^\[(job|step|workflow) ([^\]]*)\] (.*)$`)
	exitedRE = regexp.MustCompile(`^exited with status: (-?\d+)`)
)

const timeLayout = "2006-01-02 15:04:05"

// ParseLog turns cwltool's log into tasks, in the order the jobs started. workDir is cut
// out of command lines; times are read in loc.
func ParseLog(data []byte, workDir string, loc *time.Location) []wes.Task {
	var (
		order  []string
		byName = map[string]*wes.Task{}
		status = map[string]int{}
		cur    *wes.Task // job whose command line continues on the next lines
	)
	task := func(name string) (*wes.Task, bool) {
		t, ok := byName[name]
		if !ok {
			t = &wes.Task{ID: name, Name: name}
			byName[name] = t
			order = append(order, name)
		}
		return t, ok
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 4<<20)
	for sc.Scan() {
		line := ansiRE.ReplaceAllString(strings.TrimRight(sc.Text(), "\r"), "")
		m := lineRE.FindStringSubmatch(line)
		if m == nil {
			if cur != nil && len(cur.Cmd) == 1 {
				cur.Cmd[0] += "\n" + cutWorkDir(line, workDir)
			}
			continue
		}
		cur = nil
		var at time.Time
		if m[1] != "" {
			at, _ = time.ParseInLocation(timeLayout, m[1], loc)
		}
		o := objectRE.FindStringSubmatch(m[2])
		if o == nil {
			continue
		}
		kind, name, msg := o[1], o[2], o[3]
		switch kind {
		case "job":
			t, seen := task(name)
			if !seen {
				t.StartTime = at
			}
			switch {
			case strings.HasPrefix(msg, "completed "):
				t.EndTime = at
				code := 0
				if msg != "completed success" {
					code = 1
					if c, ok := status[name]; ok && c != 0 {
						code = c
					}
				}
				t.ExitCode = &code
			case exitedRE.MatchString(msg):
				c, _ := strconv.Atoi(exitedRE.FindStringSubmatch(msg)[1])
				status[name] = c
			case !seen:
				// The first line of a job is its command: "<dir>$ <command>".
				if i := strings.Index(msg, "$ "); i >= 0 {
					t.Cmd = []string{cutWorkDir(msg[i+2:], workDir)}
					cur = t
				}
			}
		case "step":
			if strings.HasPrefix(msg, "completed ") && msg != "completed success" {
				if _, ok := byName[name]; !ok {
					t, _ := task(name)
					t.StartTime, t.EndTime = at, at
					code := 1
					t.ExitCode = &code
				}
			}
		}
	}
	out := make([]wes.Task, 0, len(order))
	for _, n := range order {
		out = append(out, *byName[n])
	}
	return out
}

// cutWorkDir makes the paths of a command line relative to the work dir.
func cutWorkDir(s, workDir string) string {
	if workDir == "" || workDir == "." {
		return s
	}
	return strings.ReplaceAll(s, workDir+string(filepath.Separator), "")
}
