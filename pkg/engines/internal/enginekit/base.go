package enginekit

import (
	"context"
	"log/slog"
	"slices"
)

// Base is what every engine has in common: its names, its logger and its versions, with
// the wes.Engine methods that only report them. Engines embed it.
type Base struct {
	name, workflowType string
	typeVersions       []string
	Log                *slog.Logger
	Offered            Versions // the versions offered (configured or discovered)
}

// NewBase returns the Base of engine name running workflow type wfType in versions
// typeVersions; configured, when not empty, are its versions without discovery. A nil
// log discards messages.
func NewBase(name, wfType string, typeVersions, configured []string, log *slog.Logger) *Base {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	b := &Base{name: name, workflowType: wfType, typeVersions: slices.Clone(typeVersions),
		Log: log.With("component", "engines", "engine", name)}
	b.Offered.Set(configured)
	return b
}

// Name implements wes.Engine.
func (b *Base) Name() string { return b.name }

// WorkflowType implements wes.Engine.
func (b *Base) WorkflowType() string { return b.workflowType }

// TypeVersions implements wes.Engine.
func (b *Base) TypeVersions() []string { return slices.Clone(b.typeVersions) }

// Versions implements wes.Engine.
func (b *Base) Versions() []string { return b.Offered.Get() }

// DiscoverWith finds the installed version by running binary with args (e.g.
// --version), unless configured named the versions already.
func (b *Base) DiscoverWith(ctx context.Context, configured []string, binary string, args ...string) ([]string, error) {
	if len(configured) > 0 {
		return b.Versions(), nil
	}
	v, err := DiscoverVersion(ctx, binary, args...)
	if err != nil {
		return nil, err
	}
	b.Offered.Set([]string{v})
	return []string{v}, nil
}

// NewOutputs lists the regular files a run created in workDir except those under skip
// (and Enclave's own), at most max, logging when there were more (NewFiles).
func (b *Base) NewOutputs(workDir string, skip []string, max int) (map[string]any, error) {
	out, truncated, err := NewFiles(workDir, skip, nil, max)
	if err != nil {
		return nil, err
	}
	if truncated {
		b.Log.Warn("run created more files than are listed as outputs", "limit", max)
	}
	return out, nil
}
