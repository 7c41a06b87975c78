package runs

import (
	"errors"
	"regexp"
	"slices"
	"strings"

	"github.com/spe4hd/enclave/pkg/catalog"
	"github.com/spe4hd/enclave/pkg/engines"
	"github.com/spe4hd/enclave/pkg/wes"
)

// sealed reports whether the server runs the sealed zone.
func (s *Service) sealed() bool { return s.Sealed() }

// sealedRun reports whether r is shown under the sealed zone's rules: it ran a
// catalogue workflow, or the server is sealed (then even runs from an earlier open
// configuration show only released outputs).
func (s *Service) sealedRun(r *wes.Run) bool { return r.Workflow != "" || s.sealed() }

// CatalogueRun reports whether a submission runs under the zone's rules: always on a
// sealed server, and on an open server that has a catalogue when the request attaches
// nothing and its workflow_url is a catalogue workflow id (the embedded demo offers both).
func (s *Service) CatalogueRun(workflowURL string, attachments int) bool {
	if s.sealed() {
		return true
	}
	cat := s.currentCatalog()
	if cat == nil || attachments > 0 {
		return false
	}
	_, ok := cat.Entry(strings.TrimSpace(workflowURL))
	return ok
}

// currentCatalog returns the catalogue in use, or nil when the server has none.
func (s *Service) currentCatalog() *catalog.Catalog {
	if s.deps.Catalog == nil {
		return nil
	}
	return s.deps.Catalog.Catalog()
}

// ErrSealedAttachment refuses a workflow_attachment on a sealed server.
var ErrSealedAttachment = wes.Errorf(wes.EINVALID,
	"workflow_attachment: this server runs the sealed zone, where only catalogue workflows run and attachments are refused; "+
		"set workflow_url to a workflow id from GET /catalog/workflows and refer to data by dataset id in workflow_params")

// Tags in the sealed zone are labels for the owner: fewer, shorter, and never a path or
// URL (nothing should make a tag look like a way to name data in the zone).
const (
	maxSealedTags      = 20
	maxSealedTagLength = 256
)

var tagURL = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*://|^(?i:file):`)

// checkSealedTags refuses tags that could carry a path or a URL.
func checkSealedTags(tags map[string]string) error {
	if len(tags) > maxSealedTags {
		return wes.Errorf(wes.EINVALID, "tags has %d entries; the sealed zone allows at most %d", len(tags), maxSealedTags)
	}
	for k, v := range tags {
		switch {
		case len(v) > maxSealedTagLength:
			return wes.Errorf(wes.EINVALID, "tags.%s: longer than %d bytes; tags are short labels", truncate(k, 64), maxSealedTagLength)
		case looksLikePath(k) || looksLikePath(v):
			return wes.Errorf(wes.EINVALID, "tags.%s: looks like a file path or URL; in the sealed zone tags are plain labels and may not name files or locations",
				truncate(k, 64))
		}
	}
	return nil
}

// looksLikePath reports whether s reads as a file path or URL: absolute or
// home-relative, a ".." segment, a URL scheme, or a NUL byte.
func looksLikePath(s string) bool {
	if strings.HasPrefix(s, "/") || strings.HasPrefix(s, `\`) || strings.HasPrefix(s, "~") ||
		strings.ContainsRune(s, 0) || tagURL.MatchString(s) {
		return true
	}
	for _, seg := range strings.FieldsFunc(s, func(r rune) bool { return r == '/' || r == '\\' }) {
		if seg == ".." {
			return true
		}
	}
	return false
}

// sealedRequest is an authorised sealed-zone submission.
type sealedRequest struct {
	cat      *catalog.Catalog // the catalogue it was authorised against
	entry    *catalog.Entry
	datasets []string // ids
	engine   wes.Engine
	version  string
}

// authorizeSealed checks a sealed-zone run request against the catalogue and the usage
// policy, in an order that reveals nothing about workflows the caller may not run: the
// workflow and its params first (Authorize), then the rest of the request against the
// entry. On success rr is completed from the entry (type, type version, engine) and its
// engine parameters become the ones the run uses. sub collects what the audit trail
// records about the attempt.
func (s *Service) authorizeSealed(p *wes.Principal, rr *wes.RunRequest, sub *submission) (*sealedRequest, error) {
	cat := s.currentCatalog()
	res, err := cat.Authorize(p, rr.WorkflowURL, rr.WorkflowParams)
	if err != nil {
		switch {
		case errors.Is(err, catalog.ErrUnknown):
			sub.cause = "unknown"
		case errors.Is(err, catalog.ErrNotAllowed):
			sub.cause = "not_allowed"
		}
		return nil, err
	}
	e := res.Entry
	sub.workflow, sub.datasets = e.ID, res.DatasetIDs
	if err := e.CheckRequest(*rr); err != nil {
		return nil, err
	}
	eng, ver, err := s.deps.Engines.Resolve(e.WorkflowType, e.WorkflowTypeVersion, e.Engine, e.EngineVersion)
	if err != nil {
		s.log.Warn("a catalogue workflow's engine is not available", "workflow", e.ID, "engine", e.Engine,
			"engine_version", e.EngineVersion, "err", err)
		return nil, wes.Errorf(wes.EUNAVAILABLE,
			"workflow %s cannot run right now: the engine it is validated for is not available on this server; tell the operators", e.ID)
	}
	// An entry without a version pin runs on the newest installed version, or on the one
	// the client asks for; a version this server does not have is refused rather than
	// echoed in the RunLog while another one runs.
	if v := rr.WorkflowEngineVersion; v != "" && v != ver {
		if !slices.Contains(eng.Versions(), v) {
			return nil, wes.Errorf(wes.EINVALID, "workflow_engine_version %q of %s is not available on this server; available: %s",
				truncate(v, 64), eng.Name(), strings.Join(eng.Versions(), ", "))
		}
		ver = v
	}
	params := e.EngineParameters(rr.WorkflowEngineParameters)
	if err := engines.ValidateParams(eng, ver, params); err != nil {
		return nil, err
	}
	// The stored request says what runs, never merely what was asked for.
	rr.WorkflowType, rr.WorkflowTypeVersion, rr.WorkflowEngine = e.WorkflowType, e.WorkflowTypeVersion, eng.Name()
	rr.WorkflowEngineVersion = ver
	rr.WorkflowEngineParameters = nil
	if len(params) > 0 {
		rr.WorkflowEngineParameters = params
	}
	return &sealedRequest{cat: cat, entry: e, datasets: res.DatasetIDs, engine: eng, version: ver}, nil
}

// tagsFor returns the tags of r as p may see them: in the sealed zone tags are echoed
// only to the run's owner, since they are free text the owner wrote.
func (s *Service) tagsFor(p *wes.Principal, r *wes.Run) map[string]string {
	if r.Request.Tags == nil || (s.sealedRun(r) && p.Subject != r.Owner) {
		return map[string]string{}
	}
	return r.Request.Tags
}
