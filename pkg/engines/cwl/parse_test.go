package cwl_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/spe4hd/enclave/pkg/engines/cwl"
	"github.com/spe4hd/enclave/pkg/engines/internal/enginetest"
)

func TestParseLog(t *testing.T) {
	log := "[2026-11-23 10:00:00] INFO /usr/bin/cwltool 3.1.20230209161050\n" +
		"[2026-11-23 10:00:01] INFO [workflow ] start\n" +
		"[2026-11-23 10:00:01] INFO [step scat] start\n" +
		"[2026-11-23 10:00:02] INFO [job scat] /zone/run/work/.enclave/tmp/a$ echo \\\n    one > /zone/run/work/.enclave/tmp/a/out\n" +
		"[2026-11-23 10:00:02] INFO [job scat_2] /zone/run/work/.enclave/tmp/b$ echo two\n" +
		"[2026-11-23 10:00:03] INFO [job scat] completed success\n" +
		"[2026-11-23 10:00:04] WARNING [job scat_2] exited with status: 7\n" +
		"[2026-11-23 10:00:04] WARNING [job scat_2] completed permanentFail\n" +
		"\x1b[1;30mWARNING\x1b[0m [step expr] completed permanentFail\n" +
		"INFO [job later] /x$ true\n" +
		"[2026-11-23 10:00:05] ERROR [job killed] completed temporaryFail\n" +
		"[2026-11-23 10:00:06] INFO [workflow ] completed permanentFail\n"
	tasks := cwl.ParseLog([]byte(log), "/zone/run/work", time.UTC)
	at := func(s int) time.Time { return time.Date(2026, 11, 23, 10, 0, s, 0, time.UTC) }
	type want struct {
		name       string
		cmd        string
		start, end time.Time
		exit       int // -1: none
	}
	wants := []want{
		{"scat", "echo \\\n    one > .enclave/tmp/a/out", at(2), at(3), 0},
		{"scat_2", "echo two", at(2), at(4), 7},
		{"expr", "", time.Time{}, time.Time{}, 1},
		{"later", "true", time.Time{}, time.Time{}, -1},
		{"killed", "", at(5), at(5), 1},
	}
	if len(tasks) != len(wants) {
		t.Fatalf("tasks = %+v", tasks)
	}
	for i, w := range wants {
		tk := tasks[i]
		var cmd string
		if len(tk.Cmd) == 1 {
			cmd = tk.Cmd[0]
		}
		exit := -1
		if tk.ExitCode != nil {
			exit = *tk.ExitCode
		}
		if tk.Name != w.name || tk.ID != w.name || cmd != w.cmd || !tk.StartTime.Equal(w.start) || !tk.EndTime.Equal(w.end) || exit != w.exit {
			t.Errorf("task %d = %+v (cmd %q, exit %d), want %+v", i, tk, cmd, exit, w)
		}
	}
}

// cwltool that ran with the work dir mounted elsewhere (a container, another host) prints
// locations under that path; they still become relative, and unknown ones are dropped.
func TestOutputsRelocation(t *testing.T) {
	l := enginetest.NewRun(t, "r1", "")
	enginetest.WriteFile(t, l.WorkDir(), "outputs/sub/a.txt", "a")
	stdout := `{
  "a": {"class": "File", "location": "file:///mnt/job/outputs/sub/a.txt", "path": "/mnt/job/outputs/sub/a.txt",
        "dirname": "/mnt/job/outputs/sub", "basename": "a.txt", "size": 1,
        "secondaryFiles": [{"class": "File", "location": "file://` + l.WorkDir() + `/outputs/sub/a.txt"}]},
  "gone": {"class": "File", "location": "file:///mnt/job/outputs/missing.txt", "basename": "missing.txt"},
  "dir": {"class": "Directory", "location": "file://` + l.WorkDir() + `/outputs/sub",
          "listing": [{"class": "File", "location": "outputs/sub/a.txt"}, {"class": "File", "location": "../../etc/passwd"}]},
  "text": "` + l.WorkDir() + `/outputs/sub/a.txt",
  "n": 3, "none": null
}`
	if err := os.WriteFile(l.StdoutPath(), []byte(stdout), 0o644); err != nil {
		t.Fatal(err)
	}
	outs, err := cwl.New(cwl.Config{}, nil).Outputs(context.Background(), l.WorkDir())
	if err != nil {
		t.Fatal(err)
	}
	enginetest.AssertNoAbsPaths(t, outs, l.Root)
	a := outs["a"].(map[string]any)
	if a["location"] != "outputs/sub/a.txt" || a["path"] != "outputs/sub/a.txt" || a["dirname"] != nil {
		t.Errorf("a = %v", a)
	}
	if sf := a["secondaryFiles"].([]any)[0].(map[string]any); sf["location"] != "outputs/sub/a.txt" {
		t.Errorf("secondary file = %v", sf)
	}
	if g := outs["gone"].(map[string]any); g["location"] != nil || g["basename"] != "missing.txt" {
		t.Errorf("gone = %v", g)
	}
	d := outs["dir"].(map[string]any)
	listing := d["listing"].([]any)
	if d["location"] != "outputs/sub" || listing[0].(map[string]any)["location"] != "outputs/sub/a.txt" ||
		listing[1].(map[string]any)["location"] != nil {
		t.Errorf("dir = %v", d)
	}
	if outs["text"] != "outputs/sub/a.txt" || outs["n"] != float64(3) {
		t.Errorf("text = %v, n = %v", outs["text"], outs["n"])
	}
}

func TestOutputsEmptyAndBroken(t *testing.T) {
	e := cwl.New(cwl.Config{}, nil)
	l := enginetest.NewRun(t, "r1", "")
	outs, err := e.Outputs(context.Background(), l.WorkDir()) // no stdout file yet
	if err != nil || len(outs) != 0 {
		t.Fatalf("Outputs without stdout = %v, %v", outs, err)
	}
	if err := os.WriteFile(filepath.Join(l.LogDir(), "stdout.log"), []byte("not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Outputs(context.Background(), l.WorkDir()); err == nil {
		t.Fatal("Outputs of a broken stdout succeeded")
	}
	tasks, err := e.Tasks(context.Background(), l.WorkDir())
	if err != nil || len(tasks) != 0 {
		t.Fatalf("Tasks without a log = %v, %v", tasks, err)
	}
}
