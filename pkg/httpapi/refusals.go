package httpapi

import (
	"context"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

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
func (s *server) auditRunRefusal(ctx context.Context, p *wes.Principal, id, cause string, r *wes.Run) {
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
func (s *server) auditForbidden(ctx context.Context, p *wes.Principal, action string, r *wes.Run, err error) {
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

// auditAuthRefusal records a refused bearer token or a user without access: Enclave's
// reason and the issuer and subject the token claims (unverified, bounded and cleaned
// by auth.Claimed), never the token; rate-limited per source address (the TCP peer,
// which a client cannot choose as it can X-Forwarded-For).
func (s *server) auditAuthRefusal(c *gin.Context, err error) {
	hdr := c.GetHeader("Authorization")
	if hdr == "" {
		return // no token was refused: the caller sent none
	}
	src := c.RemoteIP()
	ok, h := s.authRefusals.allow(src)
	if !ok {
		return
	}
	iss, sub := auth.Claimed(hdr)
	d := map[string]string{"status": strconv.Itoa(statusOf(err)), "source": src}
	if iss != "" {
		d["claimed_issuer"] = iss
	}
	if sub != "" {
		d["claimed_subject"] = sub
	}
	addRequest(c, d)
	addHeld(d, h)
	_ = s.record(c.Request.Context(), wes.AuditEvent{Actor: actorUnauthenticated, Action: actionAuthRefuse,
		Outcome: "refused", Reason: wes.ErrorMessage(err), Detail: d})
}

// addRequest records the method and route (the pattern, not the path) of the request
// behind ctx, when ctx is gin's.
func addRequest(ctx context.Context, d map[string]string) {
	gc, ok := ctx.(*gin.Context)
	if !ok {
		return
	}
	route := gc.FullPath()
	if route == "" {
		route = "(no route)"
	}
	// gin writes parameters as :name and *name; the API's documents say {name}.
	segs := strings.Split(strings.TrimPrefix(route, BasePath), "/")
	for i, seg := range segs {
		if strings.HasPrefix(seg, ":") || strings.HasPrefix(seg, "*") {
			segs[i] = "{" + seg[1:] + "}"
		}
	}
	d["request"] = gc.Request.Method + " " + strings.Join(segs, "/")
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
