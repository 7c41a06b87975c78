package local

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// procStat is what /proc/<pid>/stat says about a process. The start time (clock ticks
// after boot) together with the boot id identifies a process for good: a pid alone may
// have been reused by an unrelated process since the handle was written.
type procStat struct {
	State      byte   // R, S, D, Z (zombie), X (dead), ...
	PGID       int    // process group id
	StartTicks uint64 // start time in clock ticks after boot
}

func readProcStat(pid int) (procStat, error) {
	if pid <= 0 {
		return procStat{}, fmt.Errorf("invalid pid %d", pid)
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procStat{}, err
	}
	return parseProcStat(b)
}

// parseProcStat parses the fields after the command name, which is in parentheses and may
// itself contain spaces and parentheses, hence the search for the last ')'.
func parseProcStat(b []byte) (procStat, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procStat{}, errors.New("malformed /proc stat: no ')'")
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state), f[2] field 5 (pgrp), f[19] field 22 (starttime).
	if len(f) < 20 || len(f[0]) != 1 {
		return procStat{}, errors.New("malformed /proc stat: too few fields")
	}
	pgid, err := strconv.Atoi(f[2])
	if err != nil {
		return procStat{}, fmt.Errorf("malformed /proc stat pgrp: %w", err)
	}
	start, err := strconv.ParseUint(f[19], 10, 64)
	if err != nil {
		return procStat{}, fmt.Errorf("malformed /proc stat starttime: %w", err)
	}
	return procStat{State: f[0][0], PGID: pgid, StartTicks: start}, nil
}

// alive reports whether the process pid that started at startTicks still runs. A zombie
// counts as gone: it has ended and only waits for its parent (or init, which in some
// sandboxes reaps late) to collect it.
func alive(pid int, startTicks uint64) bool {
	st, err := readProcStat(pid)
	if err != nil {
		return false
	}
	return st.State != 'Z' && st.State != 'X' && st.StartTicks == startTicks
}

// bootID identifies the running kernel boot; start ticks are only comparable within one.
func bootID() (string, error) {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}
