package audit_test

import (
	"testing"
	"time"

	"github.com/spe4hd/enclave/pkg/audit"
	"github.com/spe4hd/enclave/pkg/wes"
)

func seqs(p audit.Page) []int64 {
	var s []int64
	for _, e := range p.Entries {
		s = append(s, e.Seq)
	}
	return s
}

func TestQueryFilters(t *testing.T) {
	l, _, _ := newLog(t)
	record(t, l, 12) // ev(i): actor alice/bob, action cycles 4, run-(i%3), second i
	base := ev(0).Time
	tests := []struct {
		name string
		f    audit.Filter
		want []int64
	}{
		{"run", audit.Filter{RunID: "run-1"}, []int64{2, 5, 8, 11}},
		{"actor", audit.Filter{Actor: "bob"}, []int64{2, 4, 6, 8, 10, 12}},
		{"action exact", audit.Filter{Action: "egress.release"}, []int64{3, 7, 11}},
		{"action prefix", audit.Filter{Action: "egress.*"}, []int64{3, 4, 7, 8, 11, 12}},
		{"since until", audit.Filter{Since: base.Add(3 * time.Second), Until: base.Add(6 * time.Second)}, []int64{4, 5, 6}},
		{"combined", audit.Filter{Actor: "alice", RunID: "run-0"}, []int64{1, 7}},
		{"no match", audit.Filter{RunID: "run-9"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := l.Query(ctx(t), tt.f)
			if err != nil {
				t.Fatal(err)
			}
			if got := seqs(p); !equal(got, tt.want) || p.Next != "" {
				t.Errorf("Query(%+v) = seqs %v next %q, want %v and no next", tt.f, got, p.Next, tt.want)
			}
		})
	}
}

func equal(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestQueryPages(t *testing.T) {
	l, _, _ := newLog(t)
	record(t, l, 7)
	var all []int64
	f := audit.Filter{Limit: 3}
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("paging does not end")
		}
		p, err := l.Query(ctx(t), f)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, seqs(p)...)
		if p.Next == "" {
			break
		}
		f.Cursor = p.Next
	}
	if !equal(all, []int64{1, 2, 3, 4, 5, 6, 7}) {
		t.Errorf("pages of 3 gave %v, want 1..7 once each", all)
	}
}

func TestQueryRefusesBadInput(t *testing.T) {
	l, _, _ := newLog(t)
	for name, f := range map[string]audit.Filter{
		"negative limit": {Limit: -1},
		"huge limit":     {Limit: 100000},
		"bad cursor":     {Cursor: "x' OR 1=1"},
		"cursor no seq":  {Cursor: "12345"},
	} {
		if _, err := l.Query(ctx(t), f); !wes.IsCode(err, wes.EINVALID) {
			t.Errorf("%s: Query = %v, want EINVALID", name, err)
		}
	}
}
