package runs

import (
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/spe4hd/enclave/pkg/wes"
)

// entity is one node of an RO-Crate's @graph. JSON objects encode with sorted keys, so
// @id and @type come first and the document is the same for the same run.
type entity map[string]any

// ref is a JSON-LD reference to the entity with id.
func ref(id string) map[string]string { return map[string]string{"@id": id} }

func refs(ids []string) []map[string]string {
	out := make([]map[string]string, len(ids))
	for i, id := range ids {
		out[i] = ref(id)
	}
	return out
}

// relID is a crate-relative file path as an @id: a URI path, escaped.
func relID(p string) string { return (&url.URL{Path: p}).String() }

// languages are the Workflow RO-Crate ids of the workflow languages, by WES type.
var languages = map[string][2]string{
	"SMK": {"https://w3id.org/workflowhub/workflow-ro-crate#snakemake", "Snakemake"},
	"CWL": {"https://w3id.org/workflowhub/workflow-ro-crate#cwl", "Common Workflow Language"},
	"NFL": {"https://w3id.org/workflowhub/workflow-ro-crate#nextflow", "Nextflow"},
}

// buildCrate is the crate of r (see Service.ROCrate for what it holds and leaves out).
// name names the workflow; tasks are the engine's steps; now is datePublished.
func buildCrate(r *wes.Run, name string, tasks []wes.Task, now time.Time) map[string]any {
	prov := provenanceOf(r)
	var graph []entity
	add := func(e entity) { graph = append(graph, e) }
	runID := "#run-" + r.ID

	add(entity{"@id": crateMetadataFile, "@type": "CreativeWork", "about": ref("./"),
		"conformsTo": refs([]string{crateSpec, workflowROCrate})})
	profiles := []string{processProfile, workflowProfile, provenanceProfile, workflowROCrate}
	for i, n := range []string{"Process Run Crate", "Workflow Run Crate", "Provenance Run Crate", "Workflow RO-Crate"} {
		v := profiles[i][strings.LastIndex(profiles[i], "/")+1:]
		add(entity{"@id": profiles[i], "@type": "CreativeWork", "name": n, "version": v})
	}

	// The workflow as it ran: the entry's files, each with its pinned sha256.
	// A catalogue workflow is a file of the crate; another run's is described only.
	wfID, parts := "#workflow", []string{}
	wf := entity{"@type": []string{"SoftwareSourceCode", "ComputationalWorkflow", "HowTo"}, "name": name}
	if prov.Main != "" {
		wfID = relID("workflow/" + prov.Main)
		wf["@type"] = []string{"File", "SoftwareSourceCode", "ComputationalWorkflow", "HowTo"}
		parts = append(parts, wfID)
	}
	wf["@id"] = wfID
	if prov.Workflow != "" {
		wf["identifier"] = prov.Workflow
	}
	if prov.WorkflowVersion != "" {
		wf["version"] = prov.WorkflowVersion
	}
	for _, f := range prov.Files {
		if f.Path == prov.Main {
			wf["sha256"] = f.SHA256
			continue
		}
		id := relID("workflow/" + f.Path)
		parts = append(parts, id)
		add(entity{"@id": id, "@type": "File", "name": f.Path, "sha256": f.SHA256})
	}
	wfType := prov.WorkflowType
	if wfType == "" {
		wfType = r.Request.WorkflowType
	}
	if lang, ok := languages[wfType]; ok {
		wf["programmingLanguage"] = ref(lang[0])
		le := entity{"@id": lang[0], "@type": "ComputerLanguage", "name": lang[1], "alternateName": wfType}
		if prov.WorkflowTypeVersion != "" {
			le["version"] = prov.WorkflowTypeVersion
		}
		add(le)
	}

	// Steps: tool, HowToStep, the tool's execution and the step's execution.
	var tools, steps, controls []string
	for i, t := range tasks {
		n := strconv.Itoa(i + 1)
		tool, step, exec, ctl := "#tool-"+n, "#step-"+n, "#task-"+n, "#control-"+n
		tools, steps, controls = append(tools, tool), append(steps, step), append(controls, ctl)
		add(entity{"@id": tool, "@type": "SoftwareApplication", "name": t.Name})
		add(entity{"@id": step, "@type": "HowToStep", "name": t.Name, "position": n, "workExample": ref(tool)})
		te := entity{"@id": exec, "@type": "CreateAction", "name": "Run of step " + t.Name, "instrument": ref(tool)}
		setTimes(te, t.StartTime, t.EndTime)
		if t.ExitCode != nil {
			te["actionStatus"] = ref(schemaOrg + "CompletedActionStatus")
			if *t.ExitCode != 0 {
				te["actionStatus"] = ref(schemaOrg + "FailedActionStatus")
				te["error"] = "exit code " + strconv.Itoa(*t.ExitCode)
			}
		}
		add(te)
		add(entity{"@id": ctl, "@type": "ControlAction", "name": "orchestrate " + t.Name,
			"instrument": ref(step), "object": ref(exec)})
	}
	wf["hasPart"] = refs(tools)
	wf["step"] = refs(steps)
	add(wf)

	// Inputs: the datasets by id, never their paths or contents.
	var inputs []string
	for _, d := range prov.Datasets {
		id := "#dataset-" + d.ID
		inputs = append(inputs, id)
		de := entity{"@id": id, "@type": "Dataset", "identifier": d.ID, "name": d.ID}
		if d.Version != "" {
			de["version"] = d.Version
		}
		if sum, ok := strings.CutPrefix(d.Checksum, "sha256:"); ok {
			de["sha256"] = sum
		}
		add(de)
	}

	// Results: released outputs only.
	var results []string
	for _, o := range r.Released {
		if o.Status != wes.OutputReleased {
			continue
		}
		id := relID("outputs/" + o.Path)
		results = append(results, id)
		oe := entity{"@id": id, "@type": "File", "name": path.Base(o.Path), "alternateName": o.Path,
			"contentSize": strconv.FormatInt(o.Size, 10), "sha256": o.SHA256}
		if o.ContentType != "" {
			oe["encodingFormat"] = o.ContentType
		}
		if !o.Released.IsZero() {
			oe["dateCreated"] = o.Released.UTC().Format(time.RFC3339)
		}
		add(oe)
	}

	owner := "#owner"
	add(entity{"@id": owner, "@type": "Person", "identifier": r.Owner, "name": r.Owner})

	status, failure := actionStatus(r.State)
	action := entity{"@id": runID, "@type": "CreateAction", "name": "Run " + r.ID + " of " + name,
		"instrument": ref(wfID), "agent": ref(owner), "object": refs(inputs), "result": refs(results),
		"actionStatus": ref(schemaOrg + status)}
	if failure != "" {
		action["error"] = failure
	}
	if prov.Executor != "" {
		action["description"] = "Ran on Enclave's " + prov.Executor + " executor"
	}
	setTimes(action, r.StartTime, r.EndTime)
	if prov.Image != "" {
		action["containerImage"] = ref("#image")
		add(imageEntity("#image", prov.Image))
	}
	add(action)

	if prov.Engine != "" {
		engine := "#engine"
		add(entity{"@id": engine, "@type": "SoftwareApplication", "name": prov.Engine, "softwareVersion": prov.EngineVersion})
		org := entity{"@id": "#engine-run-" + r.ID, "@type": "OrganizeAction", "name": "Run of " + prov.Engine + " " + prov.EngineVersion,
			"instrument": ref(engine), "agent": ref(owner), "object": refs(controls), "result": ref(runID),
			"actionStatus": ref(schemaOrg + status)}
		setTimes(org, r.StartTime, r.EndTime)
		add(org)
	}

	title := "Run " + r.ID + " of " + name
	if prov.WorkflowVersion != "" {
		title += " " + prov.WorkflowVersion
	}
	add(entity{"@id": "./", "@type": "Dataset", "name": title,
		"description":   "Workflow Run Crate of an Enclave run: the workflow as it ran, the datasets it read (by id), and its released outputs only.",
		"datePublished": now.Format(time.RFC3339), "conformsTo": refs(profiles),
		"mainEntity": ref(wfID), "hasPart": refs(append(parts, results...)),
		"mentions": ref(runID)})
	return map[string]any{"@context": []string{crateContext, wfrunContext}, "@graph": graph}
}

// setTimes sets an action's startTime and endTime where they are known.
func setTimes(e entity, start, end time.Time) {
	if !start.IsZero() {
		e["startTime"] = start.UTC().Format(time.RFC3339)
	}
	if !end.IsZero() {
		e["endTime"] = end.UTC().Format(time.RFC3339)
	}
}

// actionStatus is the schema.org ActionStatusType of a run in state st, and for a run that
// did not complete a sentence saying how it ended.
func actionStatus(st wes.State) (string, string) {
	switch {
	case st == wes.StateComplete:
		return "CompletedActionStatus", ""
	case st.Terminal():
		return "FailedActionStatus", "the run ended in state " + string(st)
	case st == wes.StateQueued:
		return "PotentialActionStatus", ""
	}
	return "ActiveActionStatus", ""
}

// imageEntity describes a container image reference (registry/name:tag@sha256:digest).
func imageEntity(id, image string) entity {
	e := entity{"@id": id, "@type": "ContainerImage",
		"additionalType": ref("https://w3id.org/ro/terms/workflow-run#DockerImage")}
	rest, digest, _ := strings.Cut(image, "@")
	if d, ok := strings.CutPrefix(digest, "sha256:"); ok {
		e["sha256"] = d
	}
	registry := "docker.io"
	if first, after, ok := strings.Cut(rest, "/"); ok && (strings.ContainsAny(first, ".:") || first == "localhost") {
		registry, rest = first, after
	}
	if i := strings.LastIndex(rest, ":"); i > strings.LastIndex(rest, "/") {
		e["tag"] = rest[i+1:]
		rest = rest[:i]
	}
	e["registry"], e["name"] = registry, rest
	return e
}
