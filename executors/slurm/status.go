package slurm

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/spe4hd/enclave/pkg/wes"
)

// lostMessage is what Status says of a job SLURM no longer knows.
const lostMessage = "SLURM no longer knows the job: neither the queue nor the job completion log lists it"

// record is one job as a SLURM command reports it.
type record struct {
	id, name, state string
	exit            *int // the job's exit code; 128+signal when a signal ended it
	start, end      time.Time
}

// Status reports the job's state: scontrol while SLURM remembers the job, else the job
// completion log (sacct -c), else JobLost.
func (e *Executor) Status(ctx context.Context, h wes.Handle) (wes.JobStatus, error) {
	d, r, err := e.handle(h)
	if err != nil {
		return wes.JobStatus{}, err
	}
	return e.status(ctx, r, d)
}

func (e *Executor) status(ctx context.Context, r runner, d handleData) (wes.JobStatus, error) {
	out, err := r.run(ctx, nil, e.cfg.ScontrolPath, "show", "job", "-o", d.JobID)
	if err == nil {
		if r, ok := parseScontrol(string(out), e.cfg.Location); ok && r.id == d.JobID && r.name == d.Name {
			return r.status(), nil
		}
	} else if !invalidJobID(err) {
		return wes.JobStatus{}, e.unavailable(err)
	}
	st := make([]wes.JobStatus, 1)
	if err := e.statusFromLog(ctx, r, []handleData{d}, []int{0}, st); err != nil {
		return wes.JobStatus{}, err
	}
	return st[0], nil
}

// StatusBatch reports many jobs with one squeue call per login, plus one sacct -c call
// for the jobs the queue has forgotten.
func (e *Executor) StatusBatch(ctx context.Context, hs []wes.Handle) ([]wes.JobStatus, error) {
	out := make([]wes.JobStatus, len(hs))
	ds, err := wes.DecodeHandles(hs, decodeHandle)
	if err != nil {
		return nil, err
	}
	byLogin := map[string][]int{}
	var logins []string
	for i, d := range ds {
		if _, seen := byLogin[d.Login]; !seen {
			logins = append(logins, d.Login)
		}
		byLogin[d.Login] = append(byLogin[d.Login], i)
	}
	for _, login := range logins {
		r, err := e.runnerFor(login)
		if err != nil {
			return nil, err
		}
		if err := e.statusBatch(ctx, r, ds, byLogin[login], out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// statusBatch fills out[i] for each i in idx, the jobs of one login.
func (e *Executor) statusBatch(ctx context.Context, r runner, ds []handleData, idx []int, out []wes.JobStatus) error {
	ids := make([]string, len(idx))
	for k, i := range idx {
		ids[k] = ds[i].JobID
	}
	// squeue's -O form is the only one with the exit code (a raw wait status). The name
	// comes last: it is the only field that could be long.
	q, err := r.run(ctx, nil, e.cfg.SqueuePath, "-h", "-t", "all", "-j", strings.Join(ids, ","),
		"-O", "JobID:|,State:|,StartTime:|,EndTime:|,exit_code:|,Name:")
	if err != nil && !invalidJobID(err) {
		return e.unavailable(err)
	}
	found := map[string]record{}
	for line := range strings.Lines(string(q)) {
		if rec, ok := parseSqueue(line, e.cfg.Location); ok {
			found[rec.id] = rec
		}
	}
	var missing []int
	for _, i := range idx {
		if rec, ok := found[ds[i].JobID]; ok && rec.name == ds[i].Name {
			out[i] = rec.status()
		} else {
			missing = append(missing, i)
		}
	}
	if len(missing) > 0 {
		return e.statusFromLog(ctx, r, ds, missing, out)
	}
	return nil
}

// statusFromLog fills out[i] for each i in idx from the job completion log, JobLost
// for jobs it does not list either.
func (e *Executor) statusFromLog(ctx context.Context, r runner, ds []handleData, idx []int, out []wes.JobStatus) error {
	ids := make([]string, len(idx))
	for k, i := range idx {
		ids[k] = ds[i].JobID
	}
	rows, err := e.sacct(ctx, r, "-j", strings.Join(ids, ","))
	if err != nil {
		return err
	}
	for _, i := range idx {
		out[i] = wes.JobStatus{State: wes.JobLost, Message: lostMessage}
		// A log that outlived a wiped controller state can list an id twice: the last
		// line with the right name is the latest.
		for _, rec := range rows {
			if rec.id == ds[i].JobID && rec.name == ds[i].Name {
				out[i] = rec.status()
			}
		}
	}
	return nil
}

// sacct reads the job completion log (`sacct -c`, which needs no accounting database)
// with the given filter.
func (e *Executor) sacct(ctx context.Context, r runner, filter ...string) ([]record, error) {
	argv := append([]string{e.cfg.SacctPath, "-c", "-n", "-P", "-o", "jobid,state,exitcode,start,end,jobname"}, filter...)
	out, err := r.run(ctx, nil, argv...)
	if err != nil {
		return nil, e.unavailable(err)
	}
	var rows []record
	for line := range strings.Lines(string(out)) {
		f := strings.SplitN(strings.TrimRight(line, "\r\n"), "|", 6)
		if len(f) != 6 {
			continue
		}
		rows = append(rows, record{id: f[0], state: f[1], exit: parseExitCode(f[2]),
			start: parseTime(f[3], e.cfg.Location), end: parseTime(f[4], e.cfg.Location), name: f[5]})
	}
	return rows, nil
}

// parseScontrol reads the fields of `scontrol show job -o` (one line of Key=Value
// words). The first occurrence of a key counts: later free-text values (WorkDir,
// Command) cannot shadow it.
func parseScontrol(out string, loc *time.Location) (record, bool) {
	kv := map[string]string{}
	for _, w := range strings.Fields(firstLine(out)) {
		if k, v, ok := strings.Cut(w, "="); ok {
			if _, seen := kv[k]; !seen {
				kv[k] = v
			}
		}
	}
	if kv["JobId"] == "" || kv["JobState"] == "" {
		return record{}, false
	}
	return record{
		id: kv["JobId"], name: kv["JobName"], state: kv["JobState"],
		exit:  parseExitCode(kv["ExitCode"]),
		start: parseTime(kv["StartTime"], loc), end: parseTime(kv["EndTime"], loc),
	}, true
}

// parseSqueue reads one line of the StatusBatch squeue format.
func parseSqueue(line string, loc *time.Location) (record, bool) {
	f := strings.SplitN(strings.TrimRight(line, "\r\n"), "|", 6)
	if len(f) != 6 {
		return record{}, false
	}
	r := record{id: strings.TrimSpace(f[0]), state: strings.TrimSpace(f[1]), start: parseTime(f[2], loc), end: parseTime(f[3], loc), name: strings.TrimSpace(f[5])}
	if ws, err := strconv.Atoi(strings.TrimSpace(f[4])); err == nil {
		code := waitStatusCode(ws>>8, ws&0x7f)
		r.exit = &code
	}
	return r, r.id != ""
}

// parseExitCode reads SLURM's "code:signal".
func parseExitCode(s string) *int {
	c, sig, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok {
		return nil
	}
	code, err1 := strconv.Atoi(c)
	signal, err2 := strconv.Atoi(sig)
	if err1 != nil || err2 != nil {
		return nil
	}
	v := waitStatusCode(code, signal)
	return &v
}

// waitStatusCode is the shell's convention: the exit code, or 128+signal.
func waitStatusCode(code, signal int) int {
	if code == 0 && signal != 0 {
		return 128 + signal
	}
	return code
}

func parseTime(s string, loc *time.Location) time.Time {
	t, err := time.ParseInLocation("2006-01-02T15:04:05", strings.TrimSpace(s), loc)
	if err != nil {
		return time.Time{} // "Unknown", "None", "N/A"
	}
	return t
}

// invalidJobID reports whether a command failed only because SLURM has forgotten the id.
func invalidJobID(err error) bool {
	var ee *exitError
	return errors.As(err, &ee) && strings.Contains(ee.stderr, "Invalid job id specified")
}

// status maps the record to Enclave's states.
func (r record) status() wes.JobStatus {
	state, _, _ := strings.Cut(r.state, " ") // sacct: "CANCELLED by 1001"
	st := wes.JobStatus{StartTime: r.start}
	switch state {
	case "PENDING", "CONFIGURING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "RESV_DEL_HOLD":
		return wes.JobStatus{State: wes.JobQueued} // not started (again) yet
	case "SUSPENDED", "STOPPED", "RESIZING", "SIGNALING", "STAGE_OUT":
		st.State = wes.JobRunning // started, paused or finishing: not ended
		return st
	case "RUNNING", "COMPLETING":
		st.State = wes.JobRunning
		return st
	case "COMPLETED":
		st.State, st.EndTime = wes.JobSucceeded, r.end
		zero := 0
		st.ExitCode = &zero
		if r.exit != nil && *r.exit != 0 { // cannot happen; trust the code over the state
			st.State, st.ExitCode = wes.JobFailed, r.exit
		}
		return st
	case "CANCELLED":
		st.State, st.EndTime = wes.JobCanceled, r.end
		st.Message = "the SLURM job was cancelled"
		return st
	case "FAILED", "OUT_OF_MEMORY", "TIMEOUT", "NODE_FAIL", "BOOT_FAIL", "DEADLINE", "PREEMPTED", "SPECIAL_EXIT", "REVOKED":
		st.State, st.EndTime, st.ExitCode = wes.JobFailed, r.end, r.exit
		if st.ExitCode == nil || *st.ExitCode == 0 {
			one := 1 // failed without a code of its own (node failure, time limit)
			st.ExitCode = &one
		}
		st.Message = endMessages[state]
		return st
	}
	return wes.JobStatus{State: wes.JobLost, Message: "SLURM reports a state Enclave does not know: " + state}
}

var endMessages = map[string]string{
	"FAILED":        "the job exited with a non-zero code",
	"OUT_OF_MEMORY": "SLURM ended the job: it ran out of memory",
	"TIMEOUT":       "SLURM ended the job: it reached its time limit",
	"NODE_FAIL":     "SLURM ended the job: its node failed",
	"BOOT_FAIL":     "SLURM ended the job: its node failed to boot",
	"DEADLINE":      "SLURM ended the job: it reached its deadline",
	"PREEMPTED":     "SLURM preempted the job",
	"SPECIAL_EXIT":  "SLURM ended the job with a special exit state",
	"REVOKED":       "SLURM revoked the job (federation)",
}
