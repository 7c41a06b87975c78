package fake

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spe4hd/enclave/pkg/wes"
)

// script is what a job's argv asks the fake to do.
type script struct {
	Queued      time.Duration `json:"queued,omitempty"`
	Sleep       time.Duration `json:"sleep,omitempty"`
	Exit        int           `json:"exit,omitempty"`
	Lost        bool          `json:"lost,omitempty"`
	Stdout      string        `json:"stdout,omitempty"`
	Append      string        `json:"append,omitempty"`
	WaitFor     string        `json:"wait_for,omitempty"`
	StatusError string        `json:"status_error,omitempty"`
	CancelError string        `json:"cancel_error,omitempty"`
	submitError string
}

// codes are the error codes a script may ask for.
var codes = map[string]bool{wes.EINVALID: true, wes.EUNAUTHORIZED: true, wes.EFORBIDDEN: true,
	wes.ENOTFOUND: true, wes.ECONFLICT: true, wes.ETOOLARGE: true, wes.EUNAVAILABLE: true, wes.EINTERNAL: true}

// parseArgv reads ["fake", "key=value" | "lost", ...]; see the package documentation.
func parseArgv(argv []string) (script, error) {
	var s script
	if len(argv) == 0 || argv[0] == "" {
		return s, wes.Errorf(wes.EINVALID, "job argv is empty: the job needs a command to run")
	}
	if argv[0] != Name {
		return s, wes.Errorf(wes.EINVALID, "the fake executor runs only argv starting with %q, not %q", Name, argv[0])
	}
	for _, a := range argv[1:] {
		k, v, _ := strings.Cut(a, "=")
		var err error
		switch k {
		case "queued":
			s.Queued, err = time.ParseDuration(v)
		case "sleep":
			s.Sleep, err = time.ParseDuration(v)
		case "exit":
			s.Exit, err = strconv.Atoi(v)
			if err == nil && (s.Exit < 0 || s.Exit > 255) {
				err = fmt.Errorf("exit code must be 0-255")
			}
		case "lost":
			s.Lost = true
		case "stdout":
			s.Stdout = v
		case "append", "wait-for":
			if !filepath.IsLocal(v) {
				err = fmt.Errorf("must be a file name inside the work dir")
			} else if k == "append" {
				s.Append = v
			} else {
				s.WaitFor = v
			}
		case "submit-error", "status-error", "cancel-error":
			if !codes[v] {
				err = fmt.Errorf("unknown error code %q", v)
			}
			switch k {
			case "submit-error":
				s.submitError = v
			case "status-error":
				s.StatusError = v
			default:
				s.CancelError = v
			}
		default:
			return s, wes.Errorf(wes.EINVALID, "fake directive %q is unknown; use queued=, sleep=, exit=, lost, stdout=, append=, wait-for=, submit-error=, status-error=, cancel-error=", a)
		}
		if err != nil {
			return s, wes.Errorf(wes.EINVALID, "fake directive %q: %v", a, err)
		}
	}
	return s, nil
}

func scripted(code, what string) error {
	return wes.Errorf(code, "fake executor: %s failed as scripted", what)
}
