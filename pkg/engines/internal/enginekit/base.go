package enginekit

import (
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
