package snakemake_test

import (
	"testing"
	"time"

	"github.com/spe4hd/enclave/pkg/engines/snakemake"
)

const sampleLog = `Building DAG of jobs...
Provided cores: 2
Job stats:
job      count
-----  -------
total        4

Select jobs to execute...

[Tue Nov  3 09:00:01 2026]
checkpoint split:
    output: parts
    jobid: 3
    reason: Missing output files: parts
    resources: tmpdir=/tmp

mkdir -p parts && touch parts/a
[Tue Nov  3 09:00:02 2026]
rule multi:
    output: b.txt
    jobid: 2
    wildcards: sample=A
    resources: tmpdir=/tmp


        echo multi
        exit 3
        

[Tue Nov  3 09:00:03 2026]
Finished job 3.
1 of 4 steps (25%) done
Select jobs to execute...

[Tue Nov  3 09:00:04 2026]
localrule slow:
    jobid: 1
    resources: tmpdir=/tmp

[Tue Nov  3 09:00:05 2026]
Error in rule multi:
    jobid: 2
    output: b.txt
    shell:
        
        echo multi
        exit 3
        
        (one of the commands exited with non-zero exit code; note that snakemake uses bash strict mode!)

Removing output files of failed job multi since they might be corrupted:
b.txt
`

func TestParseLog(t *testing.T) {
	tasks := snakemake.ParseLog([]byte(sampleLog), time.UTC)
	at := func(s int) time.Time { return time.Date(2026, 11, 3, 9, 0, s, 0, time.UTC) }
	type want struct {
		id, name, cmd string
		start, end    time.Time
		exit          int // -1: none
	}
	wants := []want{
		{"3", "split", "mkdir -p parts && touch parts/a", at(1), at(3), 0},
		{"2", "multi", "echo multi\n        exit 3", at(2), at(5), 1},
		{"1", "slow", "", at(4), time.Time{}, -1},
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
		if tk.ID != w.id || tk.Name != w.name || cmd != w.cmd || !tk.StartTime.Equal(w.start) || !tk.EndTime.Equal(w.end) || exit != w.exit {
			t.Errorf("task %d = %+v (cmd %q, exit %d), want %+v", i, tk, cmd, exit, w)
		}
	}
	if got := snakemake.ParseLog(nil, time.UTC); len(got) != 0 {
		t.Errorf("empty log gave %v", got)
	}
}
