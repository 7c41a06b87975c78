package snakemake

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/spe4hd/enclave/pkg/engines/internal/enginekit"
	"github.com/spe4hd/enclave/pkg/wes"
)

// Tasks reads the newest Snakemake log in the work dir (.snakemake/log/*.snakemake.log,
// falling back to the engine's stderr before Snakemake created one) and returns one task
// per Snakemake job: ID is the jobid, Name the rule, Cmd the shell command when the rule
// has one. A finished job has exit code 0 and a failed one 1 (Snakemake's log does not
// carry the command's own exit code); a running job has none. Times come from the
// "[date]" lines, which Snakemake writes in the local time of the machine it runs on.
func (e *Engine) Tasks(_ context.Context, workDir string) ([]wes.Task, error) {
	p, err := newestLog(workDir)
	if err != nil {
		return nil, wes.Internal(err, "cannot find the Snakemake log")
	}
	if p == "" {
		p = enginekit.LogPath(workDir, "stderr")
	}
	data, err := enginekit.ReadCapped(p)
	if err != nil {
		return nil, wes.Internal(err, "cannot read the Snakemake log")
	}
	tasks := ParseLog(data, time.Local)
	// Snakemake runs in the work dir, so commands name relative paths; a rule that
	// spells out an absolute one still must not show where the zone keeps the run.
	prefix := filepath.Clean(workDir) + string(filepath.Separator)
	for i := range tasks {
		for j, c := range tasks[i].Cmd {
			tasks[i].Cmd[j] = strings.ReplaceAll(c, prefix, "")
		}
	}
	return tasks, nil
}

// logDir is Snakemake's own log directory, relative to the work dir.
var logDir = filepath.Join(".snakemake", "log")

// newestLog returns the newest regular Snakemake log file, or "" when there is none.
// Log names start with an ISO timestamp, so the last name in order is the newest.
func newestLog(workDir string) (string, error) {
	matches, err := filepath.Glob(filepath.Join(workDir, logDir, "*.snakemake.log"))
	if err != nil {
		return "", err
	}
	sort.Strings(matches)
	for i := len(matches) - 1; i >= 0; i-- {
		if fi, err := os.Lstat(matches[i]); err == nil && fi.Mode().IsRegular() {
			return matches[i], nil
		}
	}
	return "", nil
}

var (
	dateRE     = regexp.MustCompile(`^\[(\w{3} \w{3} [ \d]\d \d{2}:\d{2}:\d{2} \d{4})\]$`)
	ruleRE     = regexp.MustCompile(`^(?:local)?(?:rule|checkpoint) (\S+):$`)
	finishedRE = regexp.MustCompile(`^Finished job (\d+)\.$`)
	errorRE    = regexp.MustCompile(`^Error in rule (\S+):$`)
	fieldRE    = regexp.MustCompile(`^\s+(\w+): ?(.*)$`)
	// Lines Snakemake writes between jobs; they end a shell command being collected.
	noiseRE = regexp.MustCompile(`^(Select jobs to execute\.\.\.|\d+ of \d+ steps .*done|Removing temporary output .*|Touching output file .*|Waiting at most .*|Exiting because .*|Shutting down.*|Complete log: .*)$`)
)

// dateLayout is Python's time.asctime(), which Snakemake 7 uses for its "[date]" lines.
const dateLayout = "Mon Jan _2 15:04:05 2006"

type logState int

const (
	outside   logState = iota
	ruleBlock          // the indented fields after "rule X:"
	shellCmd           // the command printed after the block (--printshellcmds)
	errBlock           // the indented fields after "Error in rule X:"
)

// ParseLog turns a Snakemake 7 log into tasks, in the order the jobs started. Dates are
// read in loc.
func ParseLog(data []byte, loc *time.Location) []wes.Task {
	var (
		order   []string
		byID    = map[string]*wes.Task{}
		now     time.Time
		state   = outside
		rule    string    // rule of the block being read
		cur     *wes.Task // task whose command is being collected
		cmd     []string  // command lines collected so far
		errName string    // rule of the error block being read
	)
	task := func(id, name string) *wes.Task {
		t, ok := byID[id]
		if !ok {
			t = &wes.Task{ID: id, Name: name}
			byID[id] = t
			order = append(order, id)
		}
		return t
	}
	endCmd := func() {
		if cur != nil {
			if c := strings.TrimSpace(strings.Join(cmd, "\n")); c != "" {
				cur.Cmd = []string{c}
			}
		}
		cur, cmd = nil, nil
	}

	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 4<<20)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if m := dateRE.FindStringSubmatch(line); m != nil {
			endCmd()
			state = outside
			if t, err := time.ParseInLocation(dateLayout, m[1], loc); err == nil {
				now = t
			}
			continue
		}
		switch state {
		case ruleBlock:
			if m := fieldRE.FindStringSubmatch(line); m != nil {
				if m[1] == "jobid" {
					cur = task(strings.TrimSpace(m[2]), rule)
					cur.StartTime = now
				}
				continue
			}
			// The block ends with a blank line; what follows up to the next date is the
			// shell command, when the rule has one.
			state = shellCmd
			if line == "" {
				continue
			}
		case shellCmd:
			if !ruleRE.MatchString(line) && !noiseRE.MatchString(line) &&
				!finishedRE.MatchString(line) && !errorRE.MatchString(line) {
				cmd = append(cmd, line)
				continue
			}
			endCmd()
			state = outside
		case errBlock:
			if m := fieldRE.FindStringSubmatch(line); m != nil {
				if m[1] == "jobid" {
					t := task(strings.TrimSpace(m[2]), errName)
					t.EndTime = now
					t.ExitCode = exitCode(1)
				}
				continue
			}
			if strings.HasPrefix(line, " ") || line == "" {
				continue // the indented shell command and notes inside the error block
			}
			state = outside
		}
		if m := ruleRE.FindStringSubmatch(line); m != nil {
			endCmd()
			state, rule = ruleBlock, m[1]
		} else if m := finishedRE.FindStringSubmatch(line); m != nil {
			t := task(m[1], "")
			t.EndTime = now
			t.ExitCode = exitCode(0)
		} else if m := errorRE.FindStringSubmatch(line); m != nil {
			endCmd()
			state, errName = errBlock, m[1]
		}
	}
	endCmd()

	out := make([]wes.Task, 0, len(order))
	for _, id := range order {
		out = append(out, *byID[id])
	}
	return out
}

func exitCode(c int) *int { return &c }
