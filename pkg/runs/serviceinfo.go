package runs

import (
	"context"
	"slices"

	"github.com/spe4hd/enclave/pkg/engines"
	"github.com/spe4hd/enclave/pkg/wes"
)

// DefaultParam is an engine parameter with its default, as service-info lists them.
type DefaultParam struct{ Name, Type, Default string }

// Workflows is what a server offers to run, as service-info describes it.
type Workflows struct {
	TypeVersions   map[string][]string // workflow type → its versions
	EngineVersions map[string][]string // engine name → its versions
	DefaultParams  []DefaultParam      // each once, in the engines' order
}

// Offered describes what p may run here. Open: every engine that is installed and
// answered (a configured version list does not advertise an absent program, nor one still
// being checked) with its parameters. Sealed: only the catalogue's workflow types, the
// engines that run them, and the engine parameters of the workflows p may run (none for an
// anonymous caller, p nil).
func (s *Service) Offered(p *wes.Principal) Workflows {
	out := Workflows{TypeVersions: map[string][]string{}, EngineVersions: map[string][]string{}, DefaultParams: []DefaultParam{}}
	seen := map[DefaultParam]bool{}
	add := func(d DefaultParam) {
		if !seen[d] {
			seen[d] = true
			out.DefaultParams = append(out.DefaultParams, d)
		}
	}
	if s.sealed() {
		cat := s.currentCatalog()
		types := cat.WorkflowTypes()
		for _, e := range s.deps.Engines.Available() {
			if vs, ok := types[e.WorkflowType()]; ok {
				out.TypeVersions[e.WorkflowType()] = vs
				out.EngineVersions[e.Name()] = slices.Clone(e.Versions())
			}
		}
		if p == nil {
			return out
		}
		for _, sum := range cat.Visible(p) {
			entry, ok := cat.Entry(sum.ID)
			if !ok {
				continue
			}
			eng, ok := s.deps.Engines.ByName(entry.Engine)
			if !ok {
				continue
			}
			params := withExecutorParams(eng)
			for _, a := range entry.AllowedEngineParams {
				i := slices.IndexFunc(params, func(ep wes.EngineParam) bool { return ep.Name == a.Name })
				if i < 0 {
					continue
				}
				d := DefaultParam{Name: a.Name, Type: params[i].Type, Default: params[i].Default}
				if a.Value != "" {
					d.Default = a.Value
				}
				add(d)
			}
		}
		return out
	}
	for _, e := range s.deps.Engines.Available() {
		t := out.TypeVersions[e.WorkflowType()]
		for _, v := range e.TypeVersions() {
			if !slices.Contains(t, v) {
				t = append(t, v)
			}
		}
		out.TypeVersions[e.WorkflowType()] = t
		out.EngineVersions[e.Name()] = slices.Clone(e.Versions())
		for _, ep := range withExecutorParams(e) {
			add(DefaultParam{Name: ep.Name, Type: ep.Type, Default: ep.Default})
		}
	}
	return out
}

// withExecutorParams lists e's own parameters followed by the executor parameters every
// engine accepts (partition, account, qos, memory-mb, time-limit), which an engine's own
// parameter of the same name replaces.
func withExecutorParams(e wes.Engine) []wes.EngineParam {
	out := slices.Clone(e.Parameters())
	for _, p := range engines.ExecutorParams {
		if !slices.ContainsFunc(out, func(o wes.EngineParam) bool { return o.Name == p.Name }) {
			out = append(out, p)
		}
	}
	return out
}

// StateCounts counts the runs p may see per state (everyone's for those who see all
// runs), with every WES state present. An anonymous caller (p nil) gets zeros.
func (s *Service) StateCounts(ctx context.Context, p *wes.Principal) (map[wes.State]int64, error) {
	counts := make(map[wes.State]int64, len(wes.AllStates))
	for _, st := range wes.AllStates {
		counts[st] = 0
	}
	if p == nil {
		return counts, nil
	}
	got, err := s.deps.Store.StateCounts(ctx, OwnerFilter(p))
	if err != nil {
		return nil, err
	}
	for st, n := range got {
		if st.Valid() {
			counts[st] = n
		}
	}
	return counts, nil
}

// Occupancy is one executor's admission limit and, for callers who see every run, how
// many runs hold and wait for its slots.
type Occupancy struct {
	MaxRunning       int
	Running, Waiting int64
}

// Admission shows each limited executor's max_running (maxRunning, by name) and, to
// callers who see every run, how many runs hold its slots and wait for one: how busy
// others are is not a researcher's to see. A count that cannot be read is left out rather
// than failing the caller.
func (s *Service) Admission(ctx context.Context, p *wes.Principal, maxRunning map[string]int) map[string]Occupancy {
	if len(maxRunning) == 0 {
		return nil
	}
	seesAll := p != nil && OwnerFilter(p) == ""
	out := make(map[string]Occupancy, len(maxRunning))
	for name, n := range maxRunning {
		o := Occupancy{MaxRunning: n}
		if seesAll && s.deps.Admission != nil {
			if running, waiting, err := s.deps.Admission.Occupancy(ctx, name); err == nil {
				o.Running, o.Waiting = running, waiting
			} else {
				s.log.Warn("cannot count the executor's slots for service-info", "executor", name, "err", err)
			}
		}
		out[name] = o
	}
	return out
}
