package nextflow

import (
	"bufio"
	"bytes"
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spe4hd/enclave/pkg/engines/internal/enginekit"
	"github.com/spe4hd/enclave/pkg/wes"
)

// Tasks reads Nextflow's trace file and returns one task per traced process run: ID is
// Nextflow's task_id, Name the process name with its tag, e.g. "sayHello (1)". Exit code
// is the trace's exit value (none while unknown); times are submit or start, and complete.
func (e *Engine) Tasks(_ context.Context, workDir string) ([]wes.Task, error) {
	data, err := enginekit.ReadCapped(filepath.Join(workDir, traceFile))
	if err != nil {
		return nil, wes.Internal(err, "cannot read the Nextflow trace")
	}
	return ParseTrace(data, time.Local), nil
}

// ParseTrace turns a Nextflow trace (tab-separated, a header line naming the fields)
// into tasks. Times may be raw (milliseconds since the epoch) or formatted
// ("2006-01-02 15:04:05.000", read in loc); "-" means unknown.
func ParseTrace(data []byte, loc *time.Location) []wes.Task {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 4<<20)
	var col map[string]int
	var out []wes.Task
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if line == "" {
			continue
		}
		fields := strings.Split(line, "\t")
		if col == nil {
			col = map[string]int{}
			for i, f := range fields {
				col[strings.TrimSpace(f)] = i
			}
			if _, ok := col["task_id"]; !ok {
				return nil // not a trace file
			}
			continue
		}
		get := func(name string) string {
			if i, ok := col[name]; ok && i < len(fields) && fields[i] != "-" {
				return strings.TrimSpace(fields[i])
			}
			return ""
		}
		t := wes.Task{ID: get("task_id"), Name: get("name")}
		if t.ID == "" {
			continue
		}
		t.StartTime = traceTime(get("start"), loc)
		if t.StartTime.IsZero() {
			t.StartTime = traceTime(get("submit"), loc)
		}
		t.EndTime = traceTime(get("complete"), loc)
		if c, err := strconv.Atoi(get("exit")); err == nil {
			t.ExitCode = &c
		} else if get("status") == "FAILED" || get("status") == "ABORTED" {
			c := 1
			t.ExitCode = &c
		}
		out = append(out, t)
	}
	return out
}

func traceTime(s string, loc *time.Location) time.Time {
	if s == "" {
		return time.Time{}
	}
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
		if ms <= 0 {
			return time.Time{}
		}
		return time.UnixMilli(ms).UTC()
	}
	for _, layout := range []string{"2006-01-02 15:04:05.000", "2006-01-02 15:04:05"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t
		}
	}
	return time.Time{}
}
