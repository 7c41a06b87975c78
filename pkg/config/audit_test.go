package config

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spe4hd/enclave/pkg/config/confkit"
)

func writeSigningKey(t *testing.T, mode os.FileMode) string {
	t.Helper()
	_, k, _ := ed25519.GenerateKey(rand.Reader)
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "checkpoint.pem")
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
	return p
}

// fieldErr finds the problem Validate reported for key.
func fieldErr(err error, key string) *confkit.FieldError {
	var joined interface{ Unwrap() []error }
	if !errors.As(err, &joined) {
		joined = nil
	}
	var all []error
	if joined != nil {
		all = joined.Unwrap()
	} else if err != nil {
		all = []error{err}
	}
	for _, e := range all {
		var fe *confkit.FieldError
		if errors.As(e, &fe) && fe.Path == key {
			return fe
		}
	}
	return nil
}

// A signing key others can read is refused by Validate (so by `enclave config check`
// and at the start of a worker), naming the key and what to do; a private one is taken
// and hidden from jobs.
func TestAuditCheckpointKeyFile(t *testing.T) {
	with := func(key string, every time.Duration) Config {
		c := Default()
		c.Audit.Checkpoint.KeyFile = key
		if every >= 0 {
			c.Audit.Checkpoint.Interval = every
		}
		return c
	}
	open := writeSigningKey(t, 0o644)
	if fe := fieldErr(with(open, -1).Validate(), "audit.checkpoint.key_file"); fe == nil || !strings.Contains(fe.Msg, "chmod 600") {
		t.Errorf("a 0644 key: %v, want an audit.checkpoint.key_file error saying chmod 600", fe)
	}
	// Off (interval 0), the key is not read.
	if err := with(open, 0).Validate(); err != nil {
		t.Errorf("interval 0 with a 0644 key: %v, want no error (checkpoints off)", err)
	}
	private := writeSigningKey(t, 0o600)
	c := with(private, -1)
	if err := c.Validate(); err != nil {
		t.Fatalf("a 0600 key: %v", err)
	}
	if !c.Audit.Checkpoint.Enabled() || c.Audit.Checkpoint.Interval != 5*time.Minute {
		t.Errorf("checkpoints %+v, want enabled every 5m", c.Audit.Checkpoint)
	}
	if !slices.Contains(c.ServerPaths(), private) {
		t.Errorf("ServerPaths() = %v, missing the signing key", c.ServerPaths())
	}
	if Default().Audit.Checkpoint.Enabled() {
		t.Error("checkpoints are on by default, without a key")
	}
	if fe := fieldErr(with(private, time.Millisecond).Validate(), "audit.checkpoint.interval"); fe == nil {
		t.Error("interval 1ms: no audit.checkpoint.interval error")
	}
	if fe := fieldErr(with(filepath.Join(t.TempDir(), "none.pem"), -1).Validate(), "audit.checkpoint.key_file"); fe == nil {
		t.Error("a missing key file: no audit.checkpoint.key_file error")
	}
}
