package wes_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/spe4hd/enclave/pkg/wes"
)

type testData struct {
	ID string `json:"id"`
}

func (d *testData) Valid() bool { return d.ID != "" }

func TestHandleRoundTrip(t *testing.T) {
	h, err := wes.EncodeHandle("x", 3, testData{ID: "j1"})
	if err != nil || h.Executor != "x" || h.Version != 3 || string(h.Data) != `{"id":"j1"}` {
		t.Fatalf("EncodeHandle = %+v, %v", h, err)
	}
	var d testData
	if err := wes.DecodeHandle(h, "x", 3, &d); err != nil || d.ID != "j1" {
		t.Fatalf("DecodeHandle = %+v, %v", d, err)
	}
	if _, err := wes.EncodeHandle("x", 1, func() {}); !wes.IsCode(err, wes.EINTERNAL) {
		t.Errorf("EncodeHandle(unencodable) = %v, want %s", err, wes.EINTERNAL)
	}
}

// Every refusal is EINVALID and says what is wrong, without echoing the data.
func TestDecodeHandleRefuses(t *testing.T) {
	good := wes.Handle{Executor: "x", Version: 2, Data: json.RawMessage(`{"id":"secret-looking"}`)}
	for _, c := range []struct {
		name string
		h    wes.Handle
		want string
	}{
		{"other executor", wes.Handle{Executor: "y", Version: 2, Data: good.Data}, `belongs to executor "y", not "x"`},
		{"unknown version", wes.Handle{Executor: "x", Version: 9, Data: good.Data}, "has version 9, which this Enclave does not read (it reads version 2)"},
		{"not JSON", wes.Handle{Executor: "x", Version: 2, Data: json.RawMessage(`{`)}, "data is malformed"},
		{"wrong shape", wes.Handle{Executor: "x", Version: 2, Data: json.RawMessage(`"str"`)}, "data is malformed"},
		{"not valid", wes.Handle{Executor: "x", Version: 2, Data: json.RawMessage(`{"id":""}`)}, "data is malformed"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var d testData
			err := wes.DecodeHandle(c.h, "x", 2, &d)
			if !wes.IsCode(err, wes.EINVALID) || !strings.Contains(wes.ErrorMessage(err), c.want) {
				t.Fatalf("DecodeHandle = %v; want %s containing %q", err, wes.EINVALID, c.want)
			}
			if strings.Contains(wes.ErrorMessage(err), "secret-looking") {
				t.Errorf("message %q echoes the handle's data", wes.ErrorMessage(err))
			}
		})
	}
	// Data without a Valid method is only decoded.
	var m map[string]string
	if err := wes.DecodeHandle(good, "x", 2, &m); err != nil || m["id"] != "secret-looking" {
		t.Errorf("DecodeHandle(map) = %v, %v", m, err)
	}
}

// A batch decodes in order, or fails whole at its first bad handle.
func TestDecodeHandles(t *testing.T) {
	decode := func(h wes.Handle) (testData, error) {
		var d testData
		return d, wes.DecodeHandle(h, "x", 1, &d)
	}
	a, _ := wes.EncodeHandle("x", 1, testData{ID: "a"})
	b, _ := wes.EncodeHandle("x", 1, testData{ID: "b"})
	ds, err := wes.DecodeHandles([]wes.Handle{a, b}, decode)
	if err != nil || len(ds) != 2 || ds[0].ID != "a" || ds[1].ID != "b" {
		t.Fatalf("DecodeHandles = %+v, %v", ds, err)
	}
	if ds, err := wes.DecodeHandles([]wes.Handle{a, {Executor: "y"}}, decode); !wes.IsCode(err, wes.EINVALID) || ds != nil {
		t.Errorf("DecodeHandles(with a bad handle) = %+v, %v; want nil, %s", ds, err, wes.EINVALID)
	}
}
