package browser

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spe4hd/enclave/internal/testsupport/testutil"
)

// The users of the suite's Dex (password "password"), with the groups of scripts/dex.sh.
const (
	dexPassword     = "password"
	researcherGroup = "enclave-researchers"
	controllerGroup = "enclave-data-controllers"
	adminGroup      = "enclave-admins"
	// The portal's OIDC client at this Dex: confidential, its redirect URI the server's
	// <prefix>auth/callback.
	portalClientID     = "enclave-portal"
	portalClientSecret = "portal-test-secret"
)

// dex is a Dex of this test's own: the shared one `make test` starts (scripts/dex.sh) only
// knows fixed redirect URIs, while the portal's callback is on the port this test's server
// got. Same binary, same users and groups.
type dex struct{ issuer string }

// startDex starts Dex with the portal client redirecting to portalURL+"auth/callback", and
// stops it when the test ends. Without the Dex binary the test skips, or fails under CI.
func startDex(t *testing.T, portalURL string) *dex {
	t.Helper()
	bin := filepath.Join(cacheDir(), "bin", "dex")
	if out, err := exec.Command(filepath.Join(repoRoot, "scripts", "dex.sh"), "path").Output(); err == nil {
		bin = strings.TrimSpace(string(out))
	}
	if _, err := os.Stat(bin); err != nil {
		msg := "no Dex binary (scripts/dex.sh build builds it once; `make test` does): " + err.Error()
		if os.Getenv("CI") != "" {
			t.Fatal("a real Dex is required under CI: " + msg)
		}
		t.Skip("SKIP: " + msg)
	}
	dir := t.TempDir()
	// Another process may take the free port before Dex binds it: then try another.
	for attempt := 1; ; attempt++ {
		addr := testutil.FreeAddr(t)
		d := &dex{issuer: "http://" + addr + "/dex"}
		if err := d.launch(t, bin, dir, addr, portalURL); err == nil {
			return d
		} else if attempt == 3 {
			t.Fatalf("dex did not start: %v\n%s", err, testutil.TailFile(filepath.Join(dir, "dex.log"), 8<<10))
		}
	}
}

func (d *dex) launch(t *testing.T, bin, dir, addr, portalURL string) error {
	conf := filepath.Join(dir, "dex.yaml")
	if err := os.WriteFile(conf, []byte(d.config(addr, portalURL)), 0o600); err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(dir, "dex.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command(bin, "serve", conf)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	stop := func() {
		_ = cmd.Process.Kill()
		<-done
	}
	hc := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case err := <-done:
			return fmt.Errorf("dex exited: %v", err)
		default:
		}
		resp, err := hc.Get(d.issuer + "/.well-known/openid-configuration")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				t.Cleanup(stop)
				return nil
			}
		}
		if time.Now().After(deadline) {
			stop()
			return fmt.Errorf("no discovery document within 30s: %v", err)
		}
		time.Sleep(50 * time.Millisecond) // polling a condition with a deadline
	}
}

// config is Dex's configuration: in-memory storage, the local password connector only (so
// the login page is Dex's own form) and the static users.
func (d *dex) config(addr, portalURL string) string {
	// bcrypt of "password", cost 10 (as in scripts/dex.sh).
	const hash = "$2a$10$2b2cU8CPhOTaGrs1HRQuAueS7JTT5ZHsHSzYiFPm1leZck7Mc8T4W"
	var b strings.Builder
	fmt.Fprintf(&b, `issuer: %s
storage:
  type: memory
web:
  http: %s
oauth2:
  skipApprovalScreen: true
  passwordConnector: local
enablePasswordDB: true
staticClients:
  - id: %s
    secret: %s
    name: Enclave portal
    redirectURIs: [%q]
staticPasswords:
`, d.issuer, addr, portalClientID, portalClientSecret, portalURL+"auth/callback")
	users := []struct{ name, group string }{
		{"alice", researcherGroup}, {"bob", researcherGroup}, {"carol", controllerGroup}, {"dave", adminGroup},
	}
	for i, u := range users {
		fmt.Fprintf(&b, "  - email: %q\n    hash: %q\n    username: %q\n    userID: \"00000000-0000-4000-8000-00000000000%d\"\n    groups: [%q]\n",
			u.name+"@example.com", hash, u.name, i+1, u.group)
	}
	return b.String()
}

// cacheDir is where scripts/setup.sh keeps what it builds.
func cacheDir() string {
	if c := os.Getenv("ENCLAVE_CACHE"); c != "" {
		return c
	}
	return "/var/cache/enclave"
}
