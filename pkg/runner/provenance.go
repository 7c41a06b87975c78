package runner

import (
	"time"

	"github.com/spe4hd/enclave/pkg/engines"
	"github.com/spe4hd/enclave/pkg/wes"
)

// provenanceOf is what run ran with, as the start step knows it once the job is
// prepared: for a catalogue run the entry and files it staged (run is the copy
// stageSealed returned, whose Provenance is the staging catalogue's), else what
// submission recorded; then the engine version the job was prepared for (the run's, or
// the newest the engine offers, as the engines resolve it: known to the worker since it
// started, so no process is run for it here), the executor and the image it reports.
func provenanceOf(run *wes.Run, engine wes.Engine, ex wes.Executor, job *wes.Job, now time.Time) *wes.Provenance {
	var p wes.Provenance
	if run.Provenance != nil {
		p = *run.Provenance
	}
	p.Engine = engine.Name()
	p.EngineVersion = run.EngineVer
	if p.EngineVersion == "" {
		p.EngineVersion = engines.Newest(engine.Versions())
	}
	p.Executor, p.Image = ex.Name(), ""
	if ir, ok := capability[wes.ImageReporter](ex); ok {
		p.Image = ir.JobImage(job)
	}
	p.Staged = now.UTC()
	return &p
}
