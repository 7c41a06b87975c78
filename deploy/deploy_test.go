// Package deploy holds the example deployment files (configuration, systemd units); this
// test keeps them loadable by the real configuration loader and consistent with each other.
package deploy

import (
	"bufio"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/spe4hd/enclave/pkg/config"
)

// credPath matches a file a configuration names in a unit's credentials directory.
var credPath = regexp.MustCompile(`/run/credentials/([a-z0-9-]+\.service)/([A-Za-z0-9._-]+)`)

// envFromExec matches the variables an ExecStart wrapper sets from credentials.
var envFromExec = regexp.MustCompile(`\b(ENCLAVE_[A-Z0-9_]+)=`)

// unit is what the test reads of a systemd unit file.
type unit struct {
	name        string
	env         []string        // Environment= lines, as KEY=VALUE
	credentials map[string]bool // LoadCredential= ids
	execEnv     []string        // variables ExecStart sets before exec
	command     string          // "server" or "worker"
}

func readUnit(t *testing.T, path string) unit {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	u := unit{name: filepath.Base(path), credentials: map[string]bool{}}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), "=")
		if !ok || strings.HasPrefix(key, "#") {
			continue
		}
		switch key {
		case "Environment":
			u.env = append(u.env, val)
		case "LoadCredential":
			id, src, _ := strings.Cut(val, ":")
			if !strings.HasPrefix(src, "/etc/enclave/credentials/") {
				t.Errorf("%s: credential %s comes from %q, want /etc/enclave/credentials/", u.name, id, src)
			}
			u.credentials[id] = true
		case "ExecStart":
			for _, m := range envFromExec.FindAllStringSubmatch(val, -1) {
				u.execEnv = append(u.execEnv, m[1])
			}
			for _, cmd := range []string{"server", "worker"} {
				if strings.Contains(val, "/usr/local/bin/enclave "+cmd) {
					u.command = cmd
				}
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return u
}

// writeSigningKey writes an Ed25519 key as the checkpoint key file must be (PKCS#8, 0600).
func writeSigningKey(t *testing.T, path string) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestExampleConfigsValidate loads every configuration in deploy/ as each systemd unit
// starts it: with the unit's Environment= lines, the secrets its ExecStart reads from
// credentials, and its credentials directory (a temporary one holding real files). Every
// key name and value must pass the same checks as `enclave config check`, and every
// credential file the configuration names must be one the reading unit loads.
func TestExampleConfigsValidate(t *testing.T) {
	configs, err := filepath.Glob("*.yaml")
	if err != nil || len(configs) == 0 {
		t.Fatalf("no configuration in deploy/ (%v)", err)
	}
	unitFiles, err := filepath.Glob("systemd/*.service")
	if err != nil || len(unitFiles) < 2 {
		t.Fatalf("want the server and worker units in deploy/systemd (%v)", err)
	}
	for _, cfgPath := range configs {
		text, err := os.ReadFile(cfgPath)
		if err != nil {
			t.Fatal(err)
		}
		for _, uf := range unitFiles {
			u := readUnit(t, uf)
			t.Run(cfgPath+"/"+u.name, func(t *testing.T) {
				if u.command == "" {
					t.Fatalf("ExecStart does not run /usr/local/bin/enclave server or worker")
				}
				creds := t.TempDir()
				for _, m := range credPath.FindAllStringSubmatch(string(text), -1) {
					if m[1] != u.name {
						continue
					}
					if !u.credentials[m[2]] {
						t.Errorf("%s names %s, but %s has no LoadCredential=%s", cfgPath, m[0], u.name, m[2])
					}
				}
				for id := range u.credentials {
					p := filepath.Join(creds, id)
					if strings.Contains(id, "audit") {
						writeSigningKey(t, p)
					} else if err := os.WriteFile(p, []byte("secret-value-of-at-least-16-bytes\n"), 0o600); err != nil {
						t.Fatal(err)
					}
				}
				// The unit's own credentials directory becomes the temporary one; another
				// unit's stays a path that does not exist here, so a key Validate reads
				// (audit.checkpoint.key_file) from it fails.
				local := strings.ReplaceAll(string(text), "/run/credentials/"+u.name, creds)
				path := filepath.Join(t.TempDir(), filepath.Base(cfgPath))
				if err := os.WriteFile(path, []byte(local), 0o600); err != nil {
					t.Fatal(err)
				}
				env := append([]string{}, u.env...)
				for _, k := range u.execEnv {
					env = append(env, k+"=secret-from-credential")
				}
				cfg, err := config.Load(path, env)
				if err != nil {
					t.Fatalf("load: %v", err)
				}
				if err := cfg.Validate(); err != nil {
					t.Fatalf("validate: %v", err)
				}
				if cfg.Worker.InProcess {
					t.Errorf("worker.in_process is true, but the worker runs as its own unit")
				}
				if u.command == "server" && cfg.Audit.Checkpoint.KeyFile != "" {
					t.Errorf("the server would read the audit signing key %s; the key belongs on the workers only", cfg.Audit.Checkpoint.KeyFile)
				}
				if u.command == "worker" && (cfg.Audit.Checkpoint.KeyFile == "" || !strings.HasPrefix(cfg.Audit.Checkpoint.KeyFile, creds)) {
					t.Errorf("the worker signs no checkpoints from its credentials (key_file %q)", cfg.Audit.Checkpoint.KeyFile)
				}
			})
		}
	}
}
