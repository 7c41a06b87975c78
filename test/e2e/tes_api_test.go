package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/spe4hd/enclave/executors/tes"
)

// tesTaskIDs remembers each run's TES task id (run ids are unique across tests), so a
// test still knows it while the TES server is paused.
var tesTaskIDs sync.Map

// tesTaskID returns the id of the one TES task the executor created for run id, waiting
// until the server lists it.
func tesTaskID(t *testing.T, base, id string) string {
	t.Helper()
	if v, ok := tesTaskIDs.Load(id); ok {
		return v.(string)
	}
	var task string
	eventually(t, runTimeout, "the TES server lists the task of run "+id, func() (bool, string) {
		ids, err := tesTasksOf(base, id)
		switch {
		case err != nil:
			return false, err.Error()
		case len(ids) != 1:
			return false, fmt.Sprintf("%d tasks %v", len(ids), ids)
		}
		task = ids[0]
		return true, ""
	})
	tesTaskIDs.Store(id, task)
	return task
}

// tesTasksOf lists the ids of the tasks tagged with run id (GET /tasks, view MINIMAL).
func tesTasksOf(base, id string) ([]string, error) {
	q := url.Values{"tag_key": {tes.TagRunID}, "tag_value": {id}, "view": {"MINIMAL"}}
	hc := &http.Client{Timeout: 10 * time.Second}
	res, err := hc.Get(base + "/tasks?" + q.Encode())
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	var page struct {
		Tasks []struct {
			ID string `json:"id"`
		} `json:"tasks"`
	}
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /tasks: HTTP %d", res.StatusCode)
	}
	if err := json.NewDecoder(res.Body).Decode(&page); err != nil {
		return nil, fmt.Errorf("GET /tasks: %w", err)
	}
	ids := make([]string, len(page.Tasks))
	for i, tk := range page.Tasks {
		ids[i] = tk.ID
	}
	return ids, nil
}
