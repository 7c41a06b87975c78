package compat

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/spe4hd/enclave/internal/testsupport/apptest"
)

// startEnclave runs one whole Enclave (API and worker, internal/app) in this process on
// port 0, with the real Redis of the tests, its own key prefix, queue and data
// directory, and returns its address. Everything is stopped and removed when the test
// ends: runs still going are cancelled first, so no job outlives the test.
func startEnclave(t *testing.T) string {
	t.Helper()
	dataDir, err := os.MkdirTemp("", "enclave-compat-")
	if err != nil {
		t.Fatal(err)
	}
	// Removed last, and best effort: a cancelled job's files may still be closing.
	t.Cleanup(func() { _ = os.RemoveAll(dataDir) })
	addr := apptest.Start(t, apptest.Config(t, "compat", dataDir))
	t.Cleanup(func() { cancelLeftovers(t, "http://"+addr+apiBase) })
	return addr
}

// cancelLeftovers cancels every run that has not ended (after a failed test) and waits
// for them to end, so no job keeps writing into the data directory. It is cleanup, so it
// talks plain HTTP and checks nothing about the wire format.
func cancelLeftovers(t *testing.T, base string) {
	hc := &http.Client{Timeout: 5 * time.Second}
	live := func() []string {
		resp, err := hc.Get(base + "/runs?page_size=500")
		if err != nil {
			return nil
		}
		defer resp.Body.Close()
		var page struct {
			Runs []struct {
				RunID string `json:"run_id"`
				State string `json:"state"`
			} `json:"runs"`
		}
		if b, _ := io.ReadAll(resp.Body); json.Unmarshal(b, &page) != nil {
			return nil
		}
		var ids []string
		for _, r := range page.Runs {
			if !terminal(r.State) {
				ids = append(ids, r.RunID)
			}
		}
		return ids
	}
	ids := live()
	for _, id := range ids {
		if resp, err := hc.Post(base+"/runs/"+id+"/cancel", "", nil); err == nil {
			resp.Body.Close()
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for len(ids) > 0 && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		ids = live()
	}
	if len(ids) > 0 {
		t.Logf("runs still not ended at cleanup: %v", ids)
	}
}

// terminal reports whether a run in WES state s will not change again.
func terminal(s string) bool {
	switch s {
	case "COMPLETE", "EXECUTOR_ERROR", "SYSTEM_ERROR", "CANCELED", "PREEMPTED":
		return true
	}
	return false
}
