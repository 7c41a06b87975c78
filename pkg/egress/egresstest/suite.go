package egresstest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spe4hd/enclave/pkg/wes"
)

// RunStore runs the conformance suite against the store newStore returns. Each subtest
// uses its own key prefix, so one store may serve them all.
func RunStore(t *testing.T, newStore func(t *testing.T) wes.ResultStore) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s wes.ResultStore, p string)
	}{
		{"PutGet", testPutGet},
		{"PutPlainReader", testPutPlainReader},
		{"PutOverwrites", testPutOverwrites},
		{"PutShortReader", testPutShortReader},
		{"GetMissing", testGetMissing},
		{"BadKeys", testBadKeys},
		{"DeletePrefix", testDeletePrefix},
		{"URL", testURL},
		{"ConcurrentPuts", testConcurrentPuts},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fn(t, newStore(t), prefix())
		})
	}
}

func prefix() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "suite-" + hex.EncodeToString(b) + "/run-1/"
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return c
}

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func put(t *testing.T, s wes.ResultStore, key string, data []byte, ct string) wes.ObjectInfo {
	t.Helper()
	info, err := s.Put(ctx(t), key, bytes.NewReader(data), int64(len(data)), ct)
	if err != nil {
		t.Fatalf("Put %s: %v", key, err)
	}
	return info
}

// checkGet reads key back and compares bytes, size, sha256 and content type.
func checkGet(t *testing.T, s wes.ResultStore, key string, want []byte, ct string) {
	t.Helper()
	rc, info, err := s.Get(ctx(t), key)
	if err != nil {
		t.Fatalf("Get %s: %v", key, err)
	}
	defer rc.Close()
	got, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("reading %s: %v", key, err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("Get %s = %q, want %q", key, got, want)
	}
	if info.Size != int64(len(want)) || info.SHA256 != sum(want) || info.ContentType != ct || info.Key != key {
		t.Errorf("Get %s info = %+v, want size %d sha256 %s type %q", key, info, len(want), sum(want), ct)
	}
}

func testPutGet(t *testing.T, s wes.ResultStore, p string) {
	data := []byte("id,value\n1,42\n")
	info := put(t, s, p+"results/a.csv", data, "text/csv")
	if info.SHA256 != sum(data) || info.Size != int64(len(data)) || info.Key != p+"results/a.csv" {
		t.Errorf("Put info = %+v, want sha256 %s size %d", info, sum(data), len(data))
	}
	checkGet(t, s, p+"results/a.csv", data, "text/csv")
	// An empty file is a valid output too.
	put(t, s, p+"empty.txt", nil, "text/plain")
	checkGet(t, s, p+"empty.txt", nil, "text/plain")
}

// A reader that cannot seek must still get its sha256 recorded.
func testPutPlainReader(t *testing.T, s wes.ResultStore, p string) {
	data := bytes.Repeat([]byte("plain reader "), 1000)
	r := io.MultiReader(bytes.NewReader(data)) // hides Seek
	info, err := s.Put(ctx(t), p+"plain.bin", r, int64(len(data)), "application/octet-stream")
	if err != nil || info.SHA256 != sum(data) {
		t.Fatalf("Put = %+v, %v; want sha256 %s", info, err, sum(data))
	}
	checkGet(t, s, p+"plain.bin", data, "application/octet-stream")
}

func testPutOverwrites(t *testing.T, s wes.ResultStore, p string) {
	put(t, s, p+"x.json", []byte(`{"v":1}`), "application/json")
	put(t, s, p+"x.json", []byte(`{"v":2}`), "application/json")
	checkGet(t, s, p+"x.json", []byte(`{"v":2}`), "application/json")
}

// A reader that ends before size must not leave an object behind.
func testPutShortReader(t *testing.T, s wes.ResultStore, p string) {
	_, err := s.Put(ctx(t), p+"short.bin", io.MultiReader(strings.NewReader("abc")), 10, "application/octet-stream")
	if err == nil {
		t.Fatal("Put of 3 bytes announced as 10 succeeded")
	}
	if _, _, err := s.Get(ctx(t), p+"short.bin"); !wes.IsCode(err, wes.ENOTFOUND) {
		t.Errorf("Get after a failed Put = %v, want ENOTFOUND", err)
	}
}

func testGetMissing(t *testing.T, s wes.ResultStore, p string) {
	if _, _, err := s.Get(ctx(t), p+"nothing-here.csv"); !wes.IsCode(err, wes.ENOTFOUND) {
		t.Errorf("Get of a missing key = %v, want ENOTFOUND", err)
	}
}

func testBadKeys(t *testing.T, s wes.ResultStore, p string) {
	for _, key := range []string{"", "/abs/x", "../x", p + "../../x", p + "a//b", p + "./a", p + `a\b`, p + "a\nb", p + "dir/"} {
		if _, err := s.Put(ctx(t), key, strings.NewReader("x"), 1, "text/plain"); !wes.IsCode(err, wes.EINVALID) {
			t.Errorf("Put %q = %v, want EINVALID", key, err)
		}
		if _, _, err := s.Get(ctx(t), key); !wes.IsCode(err, wes.EINVALID) {
			t.Errorf("Get %q = %v, want EINVALID", key, err)
		}
	}
	for _, pre := range []string{"", "/", "../", "a/../"} {
		if err := s.DeletePrefix(ctx(t), pre); !wes.IsCode(err, wes.EINVALID) {
			t.Errorf("DeletePrefix %q = %v, want EINVALID", pre, err)
		}
	}
}

func testDeletePrefix(t *testing.T, s wes.ResultStore, p string) {
	base := strings.TrimSuffix(p, "run-1/")
	keys := []string{"run-1/a.csv", "run-1/sub/b.csv", "run-1/sub/deeper/c.csv", "run-10/d.csv", "run-2/e.csv"}
	for _, k := range keys {
		put(t, s, base+k, []byte(k), "text/csv")
	}
	if err := s.DeletePrefix(ctx(t), base+"run-1/"); err != nil {
		t.Fatalf("DeletePrefix: %v", err)
	}
	for _, k := range keys {
		_, _, err := s.Get(ctx(t), base+k)
		gone := strings.HasPrefix(k, "run-1/")
		switch {
		case gone && !wes.IsCode(err, wes.ENOTFOUND):
			t.Errorf("%s after DeletePrefix(run-1/): %v, want ENOTFOUND", k, err)
		case !gone && err != nil:
			t.Errorf("%s after DeletePrefix(run-1/): %v, want it kept", k, err)
		}
	}
	// Deleting again, or a prefix with nothing under it, is not an error.
	if err := s.DeletePrefix(ctx(t), base+"run-1/"); err != nil {
		t.Errorf("second DeletePrefix: %v", err)
	}
	// A prefix that is not a whole element removes what starts with it.
	if err := s.DeletePrefix(ctx(t), base+"run-"); err != nil {
		t.Fatalf("DeletePrefix(run-): %v", err)
	}
	for _, k := range keys {
		if _, _, err := s.Get(ctx(t), base+k); !wes.IsCode(err, wes.ENOTFOUND) {
			t.Errorf("%s after DeletePrefix(run-): %v, want ENOTFOUND", k, err)
		}
	}
}

// A store with direct URLs must hand out one that downloads the object over plain HTTP
// and nothing else; a store without returns "".
func testURL(t *testing.T, s wes.ResultStore, p string) {
	data := []byte("<html>result</html>")
	put(t, s, p+"report.html", data, "text/html")
	u, err := s.URL(ctx(t), p+"report.html", time.Minute)
	if err != nil {
		t.Fatalf("URL: %v", err)
	}
	if u == "" {
		return
	}
	status, body, ct := httpGet(t, u)
	if status != http.StatusOK || !bytes.Equal(body, data) || ct != "text/html" {
		t.Errorf("GET presigned URL = %d %q (%s), want 200 %q (text/html)", status, body, ct, data)
	}
	// The signature covers the key: the same URL for another object is refused.
	other := strings.Replace(u, "report.html", "other.html", 1)
	put(t, s, p+"other.html", []byte("other"), "text/html")
	if status, _, _ := httpGet(t, other); status != http.StatusForbidden {
		t.Errorf("GET with the key changed = %d, want 403", status)
	}
}

func httpGet(t *testing.T, u string) (int, []byte, string) {
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
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b, resp.Header.Get("Content-Type")
}

func testConcurrentPuts(t *testing.T, s wes.ResultStore, p string) {
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			data := fmt.Appendf(nil, "file %d", i)
			if _, err := s.Put(context.Background(), fmt.Sprintf("%sc/%d.txt", p, i), bytes.NewReader(data), int64(len(data)), "text/plain"); err != nil {
				t.Errorf("Put %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	for i := range 8 {
		checkGet(t, s, fmt.Sprintf("%sc/%d.txt", p, i), fmt.Appendf(nil, "file %d", i), "text/plain")
	}
}
