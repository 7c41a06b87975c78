package runner

import (
	"time"

	"github.com/spe4hd/enclave/pkg/wes"
)

// AddNotices appends to run the notices its end owes, as the store update that ended it
// (stored as version v) does.
func AddNotices(r *Runner, run *wes.Run, v int64, now time.Time) []string {
	return r.addNotices(run, v, now)
}
