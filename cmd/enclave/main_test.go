package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spe4hd/enclave/pkg/config"
)

func TestConfigCommands(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(good, []byte("redis:\n  addr: 127.0.0.1:6379\n  password: hunter2\nauth:\n  mode: none\nzone:\n  mode: open\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte("server:\n  adr: x\n  max_parts: 0\nlog:\n  level: loud\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	out, _, code := cli(t, nil, "config", "print-default")
	if code != 0 || out != config.Reference() {
		t.Errorf("config print-default: exit %d, output differs from config.Reference()", code)
	}

	out, errOut, code := cli(t, []string{"ENCLAVE_CONFIG=" + good}, "config", "show", "--log-level", "debug")
	if code != 0 {
		t.Fatalf("config show: exit %d, %q", code, errOut)
	}
	for _, want := range []string{"addr: 127.0.0.1:6379", "password: REDACTED", "level: debug"} {
		if !strings.Contains(out, want) {
			t.Errorf("config show lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "hunter2") {
		t.Error("config show printed the Redis password")
	}

	if out, _, code := cli(t, nil, "config", "check", "-c", good); code != 0 || !strings.Contains(out, "ok") {
		t.Errorf("config check of a good file: exit %d, %q", code, out)
	}
	_, errOut, code = cli(t, nil, "config", "check", "--config", bad)
	if code != 1 {
		t.Errorf("config check of a bad file: exit %d", code)
	}
	for _, want := range []string{"server.adr", "did you mean server.addr?"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("config check stderr lacks %q: %q", want, errOut)
		}
	}
	_, errOut, code = cli(t, []string{"ENCLAVE_LOG_LEVEL=loud"}, "config", "check")
	if code != 1 || !strings.Contains(errOut, "log.level") {
		t.Errorf("config check with a bad environment value: exit %d, %q", code, errOut)
	}
	_, errOut, code = cli(t, nil, "config", "check", "--log-format", "xml")
	if code != 1 || !strings.Contains(errOut, "log.format") {
		t.Errorf("config check --log-format xml: exit %d, %q", code, errOut)
	}
}

func TestGlobalsGetenvLastWins(t *testing.T) {
	g := &globals{env: []string{"A=1", "B=x=y", "A=2", "C"}}
	for name, want := range map[string]string{"A": "2", "B": "x=y", "C": "", "D": ""} {
		if got := g.getenv(name); got != want {
			t.Errorf("getenv(%s) = %q, want %q", name, got, want)
		}
	}
}
