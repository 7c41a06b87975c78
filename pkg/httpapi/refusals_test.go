package httpapi

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/uuid"

	"github.com/spe4hd/enclave/pkg/audit"
	"github.com/spe4hd/enclave/pkg/auth"
	"github.com/spe4hd/enclave/pkg/wes"
)

// events returns the audit entries of action, oldest first.
func (h *sealedHarness) events(action string) []wes.AuditEvent {
	h.t.Helper()
	page, err := h.audit.Query(context.Background(), audit.Filter{Action: action, Limit: 1000})
	if err != nil {
		h.t.Fatal(err)
	}
	var out []wes.AuditEvent
	for _, e := range page.Entries {
		out = append(out, e.Event)
	}
	return out
}

// Asking for a run id that is not yours answers 404 as before and leaves a trace: another
// user's run, an unknown id and a malformed one, each with its cause. A scan is recorded
// up to the per-user limit, and another user's refusals are still recorded.
func TestRunAccessRefusalsAreAudited(t *testing.T) {
	h := newSealedHarness(t)
	r := h.createRun("alice", func(r *wes.Run) { r.Workflow = "cohort-count-smk"; r.Datasets = []string{"cohort-demo"} })
	unknown := uuid.NewString()
	for _, path := range []string{"/runs/" + r.ID, "/runs/" + unknown + "/outputs", "/runs/not%0Aa-run/status"} {
		if st, b, _ := h.do(http.MethodGet, BasePath+path, "bob", "", nil); st != http.StatusNotFound {
			t.Fatalf("GET %s as bob: %d %s", path, st, b)
		}
	}
	evs := h.events(actionRunAccess)
	if len(evs) != 3 {
		t.Fatalf("run.access events: %+v", evs)
	}
	want := []struct{ cause, runID, request string }{
		{refusedOthers, r.ID, "GET /runs/{run_id}"},
		{refusedUnknown, unknown, "GET /runs/{run_id}/outputs"},
		{refusedMalformed, "", "GET /runs/{run_id}/status"},
	}
	for i, w := range want {
		e := evs[i]
		if e.Actor != "bob" || e.Outcome != "refused" || e.Detail["cause"] != w.cause || e.RunID != w.runID || e.Detail["request"] != w.request {
			t.Errorf("event %d: %+v, want %+v", i, e, w)
		}
	}
	if evs[0].Detail["owner"] != "alice" || evs[0].Workflow != "cohort-count-smk" || evs[2].Detail["id"] != "not?a-run" {
		t.Errorf("details: %+v / %+v", evs[0], evs[2])
	}

	// A scan: bob's further refusals stop being recorded at the limit, erin's are not held back.
	for range 2 * refusalsPerKey {
		h.do(http.MethodGet, BasePath+"/runs/"+uuid.NewString(), "bob", "", nil)
	}
	h.do(http.MethodGet, BasePath+"/runs/"+r.ID, "erin", "", nil)
	bob, erin := 0, 0
	for _, e := range h.events(actionRunAccess) {
		switch e.Actor {
		case "bob":
			bob++
		case "erin":
			erin++
		}
	}
	if bob != refusalsPerKey || erin != 1 {
		t.Errorf("recorded %d of bob's refusals (want %d) and %d of erin's (want 1)", bob, refusalsPerKey, erin)
	}
	// The owner's own run is no refusal.
	if st, _, _ := h.do(http.MethodGet, BasePath+"/runs/"+r.ID, "alice", "", nil); st != 200 || len(h.events(actionRunAccess)) != bob+erin {
		t.Errorf("the owner's request: %d, or it was audited", st)
	}
}

// localIssuer is an OpenID Provider on loopback that signs with its own RSA key, so the
// real authenticator can refuse tokens the way it does in production.
type localIssuer struct {
	srv *httptest.Server
	key *rsa.PrivateKey
}

func newLocalIssuer(t *testing.T) *localIssuer {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	li := &localIssuer{key: key}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"issuer": li.srv.URL, "jwks_uri": li.srv.URL + "/keys",
			"token_endpoint": li.srv.URL + "/token", "authorization_endpoint": li.srv.URL + "/auth"})
	})
	mux.HandleFunc("GET /keys", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
			{Key: &key.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}})
	})
	li.srv = httptest.NewServer(mux)
	t.Cleanup(li.srv.Close)
	return li
}

func (li *localIssuer) token(t *testing.T, claims map[string]any) string {
	t.Helper()
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: li.key, KeyID: "k1"}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(sig).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// A refused token is audited with Enclave's reason, the issuer and subject it claims
// (cleaned and bounded) and the source address, never the token; a flood from one
// source is recorded up to the limit.
func TestRefusedTokensAreAudited(t *testing.T) {
	li := newLocalIssuer(t)
	a, err := auth.New(t.Context(), auth.Config{Issuer: li.srv.URL, Audiences: []string{"enclave"},
		AllUsersAreResearchers: true, DiscoveryTimeout: time.Second}, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := newSealedHarness(t, func(_ *testConfig, d *testDeps) { d.Authenticate = a.Authenticate })
	now := time.Now()
	claims := func(iss, sub string, exp time.Time) map[string]any {
		return map[string]any{"iss": iss, "sub": sub, "aud": "enclave", "iat": now.Add(-time.Hour).Unix(), "exp": exp.Unix()}
	}
	good := li.token(t, claims(li.srv.URL, "alice", now.Add(time.Hour)))
	if st, b, _ := h.do(http.MethodGet, BasePath+"/runs", good, "", nil); st != 200 {
		t.Fatalf("a good token: %d %s", st, b)
	}
	expired := li.token(t, claims(li.srv.URL, "mallory", now.Add(-time.Minute)))
	foreign := li.token(t, claims("https://evil.example/", "eve\u202e\nx"+strings.Repeat("z", 300), now.Add(time.Hour)))
	for _, tok := range []string{expired, foreign} {
		if st, b, _ := h.do(http.MethodGet, BasePath+"/runs", tok, "", nil); st != http.StatusUnauthorized {
			t.Fatalf("a refused token: %d %s", st, b)
		}
	}
	evs := h.events(actionAuthRefuse)
	if len(evs) != 2 {
		t.Fatalf("auth.refuse events: %+v", evs)
	}
	e := evs[0]
	if e.Actor != actorUnauthenticated || !strings.Contains(e.Reason, "expired") || e.Detail["claimed_subject"] != "mallory" ||
		e.Detail["claimed_issuer"] != li.srv.URL || e.Detail["source"] != "127.0.0.1" || e.Detail["status"] != "401" ||
		e.Detail["request"] != "GET /runs" {
		t.Errorf("expired token: %+v", e)
	}
	e = evs[1]
	if sub := e.Detail["claimed_subject"]; !strings.HasPrefix(sub, "eve??xzz") || len(sub) > 140 ||
		e.Detail["claimed_issuer"] != "https://evil.example/" || !strings.Contains(e.Reason, "another provider") {
		t.Errorf("foreign token: %+v", e)
	}
	raw, _ := json.Marshal(evs)
	for _, tok := range []string{expired, foreign} {
		for _, part := range strings.Split(tok, ".") {
			if strings.Contains(string(raw), part) {
				t.Fatalf("the trail holds part of a token: %s", raw)
			}
		}
	}

	for range 2 * refusalsPerKey {
		h.do(http.MethodGet, BasePath+"/runs", expired, "", nil)
	}
	if n := len(h.events(actionAuthRefuse)); n != refusalsPerKey {
		t.Errorf("a flood from one source recorded %d refusals, want %d", n, refusalsPerKey)
	}
}

// An owner trying to release their own held outputs, and a researcher reading the audit
// trail, are refused as before and recorded.
func TestForbiddenActionsAreAudited(t *testing.T) {
	h := newSealedHarness(t)
	r := h.createRun("alice", func(r *wes.Run) { r.Workflow = "cohort-count-smk" })
	st, b, _ := h.do(http.MethodPost, BasePath+"/runs/"+r.ID+"/outputs/review", "alice", "application/json",
		strings.NewReader(`{"decision": "approve"}`))
	if st != http.StatusForbidden {
		t.Fatalf("the owner reviews: %d %s", st, b)
	}
	for _, path := range []string{"/audit", "/audit/export"} {
		if st, b, _ := h.do(http.MethodGet, BasePath+path, "alice", "", nil); st != http.StatusForbidden {
			t.Fatalf("GET %s as a researcher: %d %s", path, st, b)
		}
	}
	rv := h.events(actionReview)
	if len(rv) != 1 || rv[0].Actor != "alice" || rv[0].Outcome != "refused" || rv[0].RunID != r.ID || !strings.Contains(rv[0].Reason, "role") {
		t.Errorf("review refusals: %+v", rv)
	}
	q, ex := h.events(actionQuery), h.events(actionExport)
	if len(q) != 1 || q[0].Actor != "alice" || q[0].Outcome != "refused" || len(ex) != 1 || ex[0].Outcome != "refused" {
		t.Errorf("audit refusals: %+v %+v", q, ex)
	}
}
