package runs

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	"github.com/spe4hd/enclave/pkg/wes"
)

// actionROCrate is the audit action of exporting a run's RO-Crate.
const actionROCrate = "run.ro_crate"

// The crate's context and the profiles it conforms to (rocrate_graph.go builds it).
const (
	crateContext      = "https://w3id.org/ro/crate/1.1/context"
	wfrunContext      = "https://w3id.org/ro/terms/workflow-run/context"
	crateSpec         = "https://w3id.org/ro/crate/1.1"
	processProfile    = "https://w3id.org/ro/wfrun/process/0.5"
	workflowProfile   = "https://w3id.org/ro/wfrun/workflow/0.5"
	provenanceProfile = "https://w3id.org/ro/wfrun/provenance/0.5"
	workflowROCrate   = "https://w3id.org/workflowhub/workflow-ro-crate/1.0"
	crateMetadataFile = "ro-crate-metadata.json"
	schemaOrg         = "http://schema.org/" // the action statuses
)

// ROCrateContentType is the media type of ROCrate's document.
const ROCrateContentType = "application/ld+json"

// ROCrate returns ro-crate-metadata.json of a Workflow Run Crate (Process, Workflow and
// Provenance Run Crate 0.5 over RO-Crate 1.1) describing run id, for whoever may see the
// run (Visible: its owner, data controllers, administrators). It describes the workflow
// as it ran (catalogue entry id, version, every file's sha256: the run's Provenance), the
// datasets it read by id with their declared version and checksum, the engine and its
// version, the executor and its image, the owner as agent, the run's times and outcome,
// the steps the engine reports (names, times, exit status), and the run's RELEASED
// outputs only (name, size, sha256, media type). It never carries workflow_params, tags,
// command lines, logs, zone paths, object keys or anything of an output that has not been
// released (pending and rejected outputs are left out altogether). The document only
// describes: the files it names are not in it (a detached crate); released outputs can
// be fetched by the download route and put at their outputs/ paths beside it.
// Each export is audited (run.ro_crate) before it is returned: the crate is made to leave
// the service.
func (s *Service) ROCrate(ctx context.Context, p *wes.Principal, id string) ([]byte, error) {
	r, err := s.Visible(ctx, p, id)
	if err != nil {
		return nil, err
	}
	tasks, err := s.runTasks(ctx, r)
	if err != nil {
		// The steps are an extra: a crate without them still says what ran.
		s.log.Warn("run's tasks unreadable; the RO-Crate lists no steps", "run_id", r.ID, "err", err)
		tasks = nil
	}
	g := buildCrate(r, s.crateWorkflowName(r), tasks, time.Now().UTC())
	body, err := json.MarshalIndent(g, "", "  ")
	if err != nil {
		return nil, wes.Internal(err, "the RO-Crate of run %s could not be written", r.ID)
	}
	ev := runEvent(p.Subject, actionROCrate, "ok", r)
	ev.Detail = map[string]string{"outputs": strconv.Itoa(releasedCount(r))}
	if v := provenanceOf(r).WorkflowVersion; v != "" {
		ev.Detail["workflow_version"] = v
	}
	if s.record(ctx, ev) != nil {
		return nil, errAuditDown
	}
	return body, nil
}

// crateWorkflowName is the name the crate gives r's workflow when its provenance has
// none (runs recorded before provenance): the catalogue entry's current name, or its id.
func (s *Service) crateWorkflowName(r *wes.Run) string {
	if n := provenanceOf(r).WorkflowName; n != "" {
		return n
	}
	if cat := s.currentCatalog(); cat != nil && r.Workflow != "" {
		if e, ok := cat.Entry(r.Workflow); ok {
			return e.Name
		}
	}
	return r.Workflow
}

// provenanceOf is r's provenance, or for a run stored before Enclave recorded one what
// its record says (workflow id, datasets, engine, executor).
func provenanceOf(r *wes.Run) wes.Provenance {
	if r.Provenance != nil {
		return *r.Provenance
	}
	p := wes.Provenance{Workflow: r.Workflow, Engine: r.Engine, EngineVersion: r.EngineVer, Executor: r.Executor}
	for _, d := range r.Datasets {
		p.Datasets = append(p.Datasets, wes.ProvenanceDataset{ID: d})
	}
	return p
}

func releasedCount(r *wes.Run) int {
	n := 0
	for _, o := range r.Released {
		if o.Status == wes.OutputReleased {
			n++
		}
	}
	return n
}
