package app

import "github.com/spe4hd/enclave/pkg/wes"

// logReader gives the run service the executors that read a running job's log from their
// backend (Docker, Kubernetes, TES), for GET /runs/{id}/logs/* while the job runs. Only a
// process that also runs a worker has executors: an API-only server shows a running
// job's log once the job has ended (README, Limitations).
func (a *App) logReader() func(string) wes.LogReader {
	if a.execs == nil {
		return nil
	}
	execs := a.execs
	return func(name string) wes.LogReader {
		ex, err := execs.Get(name)
		if err != nil {
			return nil
		}
		lr, _ := ex.(wes.LogReader)
		return lr
	}
}
