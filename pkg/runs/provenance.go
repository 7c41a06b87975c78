package runs

import "github.com/spe4hd/enclave/pkg/wes"

// submittedProvenance is what a run is known to run with when it is submitted: for a
// catalogue run (sr not nil) the entry's id, version and pinned files and the datasets'
// declared versions, from the catalogue it was authorised against; for every run the
// engine and version it resolved to and its executor. The start step records it again
// from what it staged, with the executor's image (runner.provenanceOf). Nothing in it is
// read from the data: a dataset's checksum is the one the catalogue declares.
func submittedProvenance(sr *sealedRequest, run *wes.Run) *wes.Provenance {
	var p wes.Provenance
	if sr != nil {
		p, _ = sr.cat.Provenance(sr.entry.ID, sr.datasets)
	}
	p.Engine, p.EngineVersion, p.Executor = run.Engine, run.EngineVer, run.Executor
	return &p
}
