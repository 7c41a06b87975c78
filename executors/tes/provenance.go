package tes

import "github.com/spe4hd/enclave/pkg/wes"

// JobImage is the image job runs in (wes.ImageReporter), for the run's provenance.
func (e *Executor) JobImage(job *wes.Job) string { return job.ImageOr(e.cfg.Image) }

var _ wes.ImageReporter = (*Executor)(nil)
