package httpapi

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/spe4hd/enclave/internal/testsupport/testutil"
	"github.com/spe4hd/enclave/pkg/engines"
	"github.com/spe4hd/enclave/pkg/metrics"
	redisstore "github.com/spe4hd/enclave/pkg/store/redis"
	"github.com/spe4hd/enclave/pkg/wes"
)

// Requests are counted once each, by operationId (never the path with its ids), and
// authentication failures by reason.
func TestRequestMetrics(t *testing.T) {
	store := redisstore.New(testutil.Redis(t), redisstore.Options{Prefix: testutil.UniqueName("enclave-httpapi-metrics-") + ":"})
	m := metrics.New()
	authenticate := func(r *http.Request) (*wes.Principal, error) {
		switch r.Header.Get("Authorization") {
		case "":
			return nil, wes.Errorf(wes.EUNAUTHORIZED, "authentication required: send a bearer token in the Authorization header")
		case "Bearer expired":
			return nil, wes.Errorf(wes.EUNAUTHORIZED, "the bearer token was refused: it has expired; log in again")
		case "Bearer bad":
			return nil, wes.Errorf(wes.EUNAUTHORIZED, "the bearer token was refused: bad signature")
		case "Bearer nobody":
			return nil, wes.Errorf(wes.EFORBIDDEN, "your account lacks a role")
		case "Bearer down":
			return nil, wes.Errorf(wes.EUNAVAILABLE, "the identity provider's signing keys could not be fetched; try again shortly")
		}
		return &wes.Principal{Subject: "alice", Roles: []string{wes.RoleResearcher}}, nil
	}
	h, err := newAPI(testConfig{DataDir: t.TempDir(), AuthMode: "oidc"}, testDeps{Store: store, Dispatcher: &recordingDispatcher{},
		Engines: engines.NewRegistry(testEngine{"tester"}), Logger: slog.New(slog.DiscardHandler), Authenticate: authenticate, Metrics: m})
	if err != nil {
		t.Fatal(err)
	}
	send := func(method, path, token string) int {
		req := httptest.NewRequest(method, path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w.Code
	}
	for _, tok := range []string{"", "expired", "bad", "nobody", "down"} {
		send(http.MethodGet, BasePath+"/runs", tok)
	}
	send(http.MethodGet, BasePath+"/service-info", "")
	send(http.MethodGet, BasePath+"/runs/0193a0a0-0000-7000-8000-000000000001/status", "ok")
	send(http.MethodGet, BasePath+"/runs/0193a0a0-0000-7000-8000-000000000002/status", "ok")
	send(http.MethodGet, BasePath+"/runs/0193a0a0-0000-7000-8000-000000000001/outputs/results/a.csv", "ok") // re-routed
	send(http.MethodGet, BasePath+"/nowhere", "ok")
	send(http.MethodGet, "/healthz", "")

	w := httptest.NewRecorder()
	m.Handler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	body, _ := io.ReadAll(w.Result().Body)
	scrape := string(body)
	for _, want := range []string{
		`enclave_auth_failures_total{reason="missing"} 1`,
		`enclave_auth_failures_total{reason="expired"} 1`,
		`enclave_auth_failures_total{reason="invalid"} 1`,
		`enclave_auth_failures_total{reason="forbidden"} 1`,
		`enclave_auth_failures_total{reason="unavailable"} 1`,
		`enclave_http_requests_total{operation="ListRuns",status="401"} 3`,
		`enclave_http_requests_total{operation="ListRuns",status="403"} 1`,
		`enclave_http_requests_total{operation="ListRuns",status="503"} 1`,
		`enclave_http_requests_total{operation="GetServiceInfo",status="200"} 1`,
		`enclave_http_requests_total{operation="GetRunStatus",status="404"} 2`,
		`enclave_http_requests_total{operation="DownloadRunOutput",status="404"} 1`,
		`enclave_http_requests_total{operation="other",status="404"} 1`,
		`enclave_http_requests_total{operation="other",status="200"} 1`,
		`enclave_http_request_duration_seconds_count{operation="GetRunStatus"} 2`,
	} {
		if !strings.Contains(scrape, want) {
			t.Errorf("the scrape lacks %s", want)
		}
	}
	if strings.Contains(scrape, "0193a0a0") || strings.Contains(scrape, "/runs") {
		t.Errorf("a path or run id reached a label:\n%s", scrape)
	}
	if t.Failed() {
		t.Logf("scrape:\n%s", grepLines(scrape, "enclave_"))
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
