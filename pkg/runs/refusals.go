package runs

import (
	"context"
	"strconv"
	"strings"

	"github.com/spe4hd/enclave/pkg/auth"
	"github.com/spe4hd/enclave/pkg/wes"
)

// Refusals that answer like any other 404 or 401 but are recorded, rate-limited, so an
// attacker probing run ids or tokens leaves a trace (see refusalLimiter).
const (
	actionRunAccess  = "run.access"  // a run id the caller may not see (404)
	actionAuthRefuse = "auth.refuse" // a bearer token refused (401) or a user without access (403)

	// actorUnauthenticated is the actor of auth.refuse: the caller is who the token
	// claims (recorded in the detail), which nothing has confirmed.
	actorUnauthenticated = "unauthenticated"
)

// Causes of a run.access refusal.
const (
	refusedMalformed = "malformed" // not a run id at all
	refusedUnknown   = "unknown"   // no such run
	refusedOthers    = "other_owner"
)

var runRefusalReasons = map[string]string{
	refusedMalformed: "asked for a malformed run id",
	refusedUnknown:   "asked for a run that does not exist",
	refusedOthers:    "asked for another user's run",
}

// auditRunRefusal records that p was refused run id (r is the run when it exists).
// The client's answer does not depend on it: a 404 is a 404 whether or not the trail
// could take it.
func (s *Service) auditRunRefusal(ctx context.Context, p *wes.Principal, id, cause string, r *wes.Run) {
	ok, h := s.runRefusals.allow(p.Subject)
	if !ok {
		return
	}
	e := wes.AuditEvent{Actor: p.Subject, Action: actionRunAccess, Outcome: "refused", Reason: runRefusalReasons[cause],
		Detail: map[string]string{"cause": cause}}
	if cause == refusedMalformed {
		e.Detail["id"] = safeText(id, 64)
	} else {
		e.RunID = id
	}
	if r != nil {
		e.Workflow, e.Dataset = r.Workflow, strings.Join(r.Datasets, ",")
		e.Detail["owner"] = r.Owner
	}
	addRequest(ctx, e.Detail)
	addHeld(e.Detail, h)
	_ = s.record(ctx, e)
}

// auditForbidden records that p was refused an action its roles do not allow (a
// researcher reviewing outputs, reading the audit trail), rate-limited per user as
// auditRunRefusal. r is the run concerned, if any.
func (s *Service) auditForbidden(ctx context.Context, p *wes.Principal, action string, r *wes.Run, err error) {
	ok, h := s.runRefusals.allow(p.Subject)
	if !ok {
		return
	}
	e := wes.AuditEvent{Actor: p.Subject, Action: action, Outcome: "refused", Reason: wes.ErrorMessage(err), Detail: map[string]string{}}
	if r != nil {
		e = runEvent(p.Subject, action, "refused", r)
		e.Reason, e.Detail = wes.ErrorMessage(err), map[string]string{"owner": r.Owner}
	}
	addRequest(ctx, e.Detail)
	addHeld(e.Detail, h)
	_ = s.record(ctx, e)
}

// RefuseToken records a refused bearer token (401) or a user without access (403), as
// the face saw it: the Authorization header (only the issuer and subject it claims are
// kept, never the token), the source address and the status answered. A request without
// a token is not a refusal of one and is not recorded. Rate-limited per source address.
func (s *Service) RefuseToken(ctx context.Context, authHeader, source string, status int, err error) {
	if authHeader == "" {
		return // no token was refused: the caller sent none
	}
	ok, h := s.authRefusals.allow(source)
	if !ok {
		return
	}
	iss, sub := auth.Claimed(authHeader)
	d := map[string]string{"status": strconv.Itoa(status), "source": source}
	if iss != "" {
		d["claimed_issuer"] = iss
	}
	if sub != "" {
		d["claimed_subject"] = sub
	}
	addRequest(ctx, d)
	addHeld(d, h)
	_ = s.record(ctx, wes.AuditEvent{Actor: actorUnauthenticated, Action: actionAuthRefuse,
		Outcome: "refused", Reason: wes.ErrorMessage(err), Detail: d})
}

// addHeld records how many refusals the limiter held back before this one.
func addHeld(d map[string]string, h held) {
	if h.mine > 0 {
		d["not_recorded_before"] = strconv.Itoa(h.mine)
	}
	if h.others > 0 {
		d["not_recorded_others"] = strconv.Itoa(h.others)
	}
}

// safeText is client text cut to n bytes with control characters replaced, for the
// audit trail.
func safeText(s string, n int) string {
	s = strings.ToValidUTF8(truncate(s, n), "?")
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return '?'
		}
		return r
	}, s)
}
