package s3_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spe4hd/enclave/pkg/egress"
	"github.com/spe4hd/enclave/pkg/egress/egresstest"
	"github.com/spe4hd/enclave/pkg/egress/s3"
	"github.com/spe4hd/enclave/pkg/wes"
)

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return c
}

func newStore(t *testing.T, cfg s3.Config) *s3.Store {
	t.Helper()
	s, err := s3.New(ctx(t), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("s3.New: %v", err)
	}
	return s
}

func TestConformance(t *testing.T) {
	s := newStore(t, egresstest.S3Config(t))
	egresstest.RunStore(t, func(*testing.T) wes.ResultStore { return s })
}

// The path a run's outputs take: Select in a work dir, Release to MinIO, download over
// plain HTTP with the presigned URL, then delete the run's prefix.
func TestReleaseToMinIO(t *testing.T) {
	cfg := egresstest.S3Config(t)
	s := newStore(t, cfg)
	work := t.TempDir()
	files := map[string]string{
		"results/summary.csv": "group,n\nA,12\nB,9\n",
		"results/plot.svg":    "<svg/>",
		"report.html":         "<h1>report</h1>",
		"scratch/tmp.csv":     "not allowed",
	}
	for p, c := range files {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(work, p)), 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(work, p), []byte(c), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	pol := wes.OutputPolicy{Globs: []string{"results/*", "report.html"}}
	acc, ref, err := egress.Select(work, pol, egress.Limits{})
	if err != nil || len(acc) != 3 || len(ref) != 1 {
		t.Fatalf("Select = %v %v %v, want 3 accepted, 1 refused", acc, ref, err)
	}
	prefix := egress.KeyPrefix("alice@example.com", "run-1")
	var audited []wes.AuditEvent
	outs, err := egress.Release(ctx(t), s, prefix, work, acc, func(e wes.AuditEvent) { audited = append(audited, e) })
	if err != nil {
		t.Fatalf("Release: %v", err)
	}
	if len(outs) != 3 || len(audited) != 3 {
		t.Fatalf("Release = %d outputs, %d events; want 3 and 3", len(outs), len(audited))
	}
	var urls []string
	for _, o := range outs {
		want := files[o.Path]
		h := sha256.Sum256([]byte(want))
		if o.SHA256 != hex.EncodeToString(h[:]) || o.Key != prefix+o.Path {
			t.Errorf("output %+v: want sha256 %x and key %s", o, h, prefix+o.Path)
		}
		_, info, err := s.Get(ctx(t), o.Key)
		if err != nil || info.SHA256 != o.SHA256 || info.ContentType != o.ContentType {
			t.Errorf("stored %s: %+v, %v; want sha256 and content type %q recorded", o.Key, info, err, o.ContentType)
		}
		u, err := s.URL(ctx(t), o.Key, 2*time.Minute)
		if err != nil || !strings.HasPrefix(u, "http://"+cfg.Endpoint+"/") {
			t.Fatalf("URL(%s) = %q, %v", o.Key, u, err)
		}
		if strings.Contains(u, cfg.SecretKey) {
			t.Error("a presigned URL carries the secret key")
		}
		status, body := get(t, u)
		if status != http.StatusOK || body != want {
			t.Errorf("GET %s = %d %q, want 200 %q", o.Path, status, body, want)
		}
		urls = append(urls, u)
	}
	if err := s.DeletePrefix(ctx(t), prefix); err != nil {
		t.Fatalf("DeletePrefix: %v", err)
	}
	for i, o := range outs {
		if _, _, err := s.Get(ctx(t), o.Key); !wes.IsCode(err, wes.ENOTFOUND) {
			t.Errorf("Get %s after DeletePrefix = %v, want ENOTFOUND", o.Key, err)
		}
		if status, _ := get(t, urls[i]); status != http.StatusNotFound {
			t.Errorf("GET %s after DeletePrefix = %d, want 404", o.Path, status)
		}
	}
}

func get(t *testing.T, u string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx(t), http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// A second store on an existing bucket uses it; a large object goes through multipart.
func TestExistingBucketAndLargeObject(t *testing.T) {
	cfg := egresstest.S3Config(t)
	newStore(t, cfg)
	s := newStore(t, cfg)
	data := bytes.Repeat([]byte("0123456789abcdef"), 20<<20/16) // 20 MiB: over minio-go's single-PUT size
	info, err := s.Put(ctx(t), "big/r/data.bin", bytes.NewReader(data), int64(len(data)), "application/octet-stream")
	h := sha256.Sum256(data)
	if err != nil || info.SHA256 != hex.EncodeToString(h[:]) {
		t.Fatalf("Put 20 MiB = %+v, %v", info, err)
	}
	rc, _, err := s.Get(ctx(t), "big/r/data.bin")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	got := sha256.New()
	if _, err := io.Copy(got, rc); err != nil || hex.EncodeToString(got.Sum(nil)) != info.SHA256 {
		t.Errorf("read back: %v, sha256 differs", err)
	}
}

// Wrong keys and an unreachable service are EUNAVAILABLE, and no error text carries
// either key.
func TestErrorsNeverCarryCredentials(t *testing.T) {
	t.Run("unreachable", func(t *testing.T) {
		cfg := s3.Config{Endpoint: "127.0.0.1:1", AccessKey: "AKIAUNREACHABLE", SecretKey: "sekret-unreachable", Bucket: "enclave", MaxRetries: 1}
		_, err := s3.New(ctx(t), cfg, nil)
		checkErr(t, err, wes.EUNAVAILABLE, cfg)
	})
	t.Run("wrong secret", func(t *testing.T) {
		cfg := egresstest.S3Config(t)
		cfg.SecretKey = "definitely-wrong-secret-123"
		_, err := s3.New(ctx(t), cfg, nil)
		checkErr(t, err, wes.EUNAVAILABLE, cfg)
	})
	t.Run("unknown access key", func(t *testing.T) {
		cfg := egresstest.S3Config(t)
		cfg.AccessKey = "NOSUCHACCESSKEY42"
		_, err := s3.New(ctx(t), cfg, nil)
		checkErr(t, err, wes.EUNAVAILABLE, cfg)
	})
}

func checkErr(t *testing.T, err error, code string, cfg s3.Config) {
	t.Helper()
	if !wes.IsCode(err, code) {
		t.Fatalf("error = %v, want %s", err, code)
	}
	for _, text := range []string{err.Error(), wes.ErrorMessage(err), fmt.Sprintf("%+v", err)} {
		if strings.Contains(text, cfg.SecretKey) || strings.Contains(text, cfg.AccessKey) {
			t.Errorf("error text carries a key: %s", text)
		}
	}
}

func TestConfig(t *testing.T) {
	ok := s3.Config{Endpoint: "minio:9000", AccessKey: "a", SecretKey: "s3cr3t-value", Bucket: "enclave-results"}
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	tests := []struct {
		field  string
		change func(*s3.Config)
	}{
		{"s3.endpoint", func(c *s3.Config) { c.Endpoint = "" }},
		{"s3.endpoint", func(c *s3.Config) { c.Endpoint = "http://minio:9000" }},
		{"s3.public_endpoint", func(c *s3.Config) { c.PublicEndpoint = "https://files.example.org/x" }},
		{"s3.access_key", func(c *s3.Config) { c.AccessKey = "" }},
		{"s3.secret_key", func(c *s3.Config) { c.SecretKey = "" }},
		{"s3.bucket", func(c *s3.Config) { c.Bucket = "" }},
		{"s3.bucket", func(c *s3.Config) { c.Bucket = "Bad_Bucket" }},
		{"s3.max_retries", func(c *s3.Config) { c.MaxRetries = -1 }},
	}
	for _, tt := range tests {
		c := ok
		tt.change(&c)
		if err := c.Validate(); !wes.IsCode(err, wes.EINVALID) || !strings.Contains(wes.ErrorMessage(err), tt.field) {
			t.Errorf("%+v: Validate = %v, want EINVALID naming %s", c.Redacted(), err, tt.field)
		}
		if _, err := s3.New(ctx(t), c, nil); !wes.IsCode(err, wes.EINVALID) {
			t.Errorf("New with bad %s = %v, want EINVALID", tt.field, err)
		}
	}
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("config", "s3", ok)
	if strings.Contains(logged.String(), ok.SecretKey) || strings.Contains(fmt.Sprintf("%+v", ok.Redacted()), ok.SecretKey) {
		t.Errorf("the secret key reaches a log: %s", logged.String())
	}
}
