package redisstore

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/spe4hd/enclave/pkg/wes"
)

// reference decodes a record as Get does and keeps what Head returns.
func reference(t *testing.T, data []byte) wes.RunHead {
	t.Helper()
	r, err := decode(data)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	return wes.RunHead{ID: r.ID, Owner: r.Owner, State: r.State}
}

func storedRecord(t *testing.T, r *wes.Run) []byte {
	t.Helper()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeHead(t *testing.T) {
	full := storedRecord(t, &wes.Run{ID: "0190a5b2-0000-7000-8000-000000000001", Owner: "alice", State: wes.StateRunning,
		Request:  wes.RunRequest{WorkflowParams: json.RawMessage(`{"owner":"mallory","state":"COMPLETE"}`)},
		Workflow: "wf", Datasets: []string{"d"}, CreatedAt: time.Now()})
	want := wes.RunHead{ID: "0190a5b2-0000-7000-8000-000000000001", Owner: "alice", State: wes.StateRunning}
	for _, tc := range []struct {
		name string
		data string
		fast bool // the scan answers without encoding/json
	}{
		{"as stored", string(full), true},
		{"members reordered", `{"state":"RUNNING","owner":"alice","id":"0190a5b2-0000-7000-8000-000000000001","log":{}}`, true},
		{"an unknown string member first", `{"v":"x","id":"0190a5b2-0000-7000-8000-000000000001","owner":"alice","state":"RUNNING","log":{}}`, true},
		{"escaped owner", `{"id":"0190a5b2-0000-7000-8000-000000000001","owner":"\u0061lice","state":"RUNNING","x":1}`, true},
		{"whitespace", `{ "id": "0190a5b2-0000-7000-8000-000000000001", "owner": "alice", "state": "RUNNING" }`, false},
		{"an object before the state", `{"id":"0190a5b2-0000-7000-8000-000000000001","owner":"alice","request":{"state":"COMPLETE"},"state":"RUNNING"}`, false},
		{"escaped key", `{"id":"0190a5b2-0000-7000-8000-000000000001","\u006fwner":"alice","state":"RUNNING","x":1}`, false},
		{"the state last", `{"id":"0190a5b2-0000-7000-8000-000000000001","owner":"alice","state":"RUNNING"}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, fast := scanHead([]byte(tc.data))
			if fast != tc.fast {
				t.Errorf("fast path taken: %t, want %t", fast, tc.fast)
			}
			got, err := decodeHead([]byte(tc.data))
			if err != nil || got != want {
				t.Errorf("decodeHead = %+v, %v; want %+v", got, err, want)
			}
		})
	}
	// A key seen twice goes to encoding/json, which keeps the last value, as Get does.
	dup := `{"id":"i","owner":"alice","owner":"bob","state":"QUEUED","x":1}`
	if got, err := decodeHead([]byte(dup)); err != nil || got.Owner != "bob" {
		t.Errorf("duplicate owner: %+v, %v; want bob as encoding/json reads it", got, err)
	}
	for _, bad := range []string{"", "[]", `{"id":"i","owner":`, `{"id":"i","owner":"a","state":"QUEUED",`[:20]} {
		if _, err := decodeHead([]byte(bad)); !wes.IsCode(err, wes.EINTERNAL) {
			t.Errorf("decodeHead(%q) = %v, want EINTERNAL", bad, err)
		}
	}
}

// The fast path reads nothing but the three members and allocates only the owner and id.
func TestDecodeHeadAllocs(t *testing.T) {
	data := storedRecord(t, &wes.Run{ID: "0190a5b2-0000-7000-8000-000000000001", Owner: "alice", State: wes.StateQueued,
		Log: wes.RunLog{SystemLogs: strings.Split(strings.Repeat("a line,", 200), ",")}})
	if n := testing.AllocsPerRun(100, func() { _, _ = decodeHead(data) }); n > 2 {
		t.Errorf("decodeHead allocates %.0f times, want at most 2", n)
	}
}

// FuzzDecodeHead checks, over runs with arbitrary strings, that the fast path is taken
// for every record the store writes and answers what decoding the whole run does.
func FuzzDecodeHead(f *testing.F) {
	f.Add("0190a5b2-0000-7000-8000-000000000001", "alice", "RUNNING", "wf")
	f.Add("x", `"quoted" \ <tag> & é`, "COMPLETE", `{"state":"QUEUED"}`)
	f.Add("\xff\xfe", "line\nbreak\u2028", "\x00", "")
	f.Add("", "", "", "\\")
	f.Fuzz(func(t *testing.T, id, owner, state, workflow string) {
		data := storedRecord(t, &wes.Run{ID: id, Owner: owner, State: wes.State(state), Workflow: workflow,
			Request: wes.RunRequest{WorkflowURL: state, Tags: map[string]string{owner: id}}})
		if _, ok := scanHead(data); !ok {
			t.Errorf("the fast path gave up on a stored record: %s", data)
		}
		got, err := decodeHead(data)
		if err != nil {
			t.Fatalf("decodeHead: %v", err)
		}
		if want := reference(t, data); got != want {
			t.Errorf("decodeHead = %+v, want %+v, for %s", got, want, data)
		}
	})
}
