package main

import (
	"context"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/spe4hd/enclave/api"
	"github.com/spe4hd/enclave/pkg/wesclient"
)

// The client half of `enclave catalog`: what a server's catalogue offers the caller.

// newCatalogClientCmds returns `catalog list` and `catalog datasets`, which share the
// server flags of `enclave run`.
func newCatalogClientCmds(g *globals) []*cobra.Command {
	o := newRunOptions(g)
	list := &cobra.Command{
		Use:   "list",
		Short: "List the catalogue workflows you may run on the server",
		Long: `List the validated workflows of the server's catalogue that you may run. Submit one
with enclave run submit --workflow-id ID; -o json shows each workflow's parameter schema
(parameters marked x-enclave-dataset take a dataset id from enclave catalog datasets).`,
		Example: `  enclave catalog list
  enclave catalog list -o json`,
		Args:    cobra.NoArgs,
		PreRunE: o.checkOutput,
		RunE: runCall(o, func(c *wesclient.Client, ctx context.Context, _ string) (api.CatalogWorkflowList, error) {
			return c.CatalogWorkflows(ctx)
		}, o.writeWorkflows),
	}
	datasets := &cobra.Command{
		Use:     "datasets",
		Short:   "List the datasets you may use on the server, by id",
		Long:    "List the datasets you may use. Name them by id in the workflow parameters of a\ncatalogue run; where they live inside the zone is never shown.",
		Args:    cobra.NoArgs,
		PreRunE: o.checkOutput,
		RunE: runCall(o, func(c *wesclient.Client, ctx context.Context, _ string) (api.CatalogDatasetList, error) {
			return c.CatalogDatasets(ctx)
		}, o.writeDatasets),
	}
	o.addFlags(list.Flags())
	o.addFlags(datasets.Flags())
	return []*cobra.Command{list, datasets}
}

func (o *runOptions) writeWorkflows(w io.Writer, l api.CatalogWorkflowList) error {
	if l.Workflows == nil {
		l.Workflows = []api.CatalogWorkflow{}
	}
	if o.json() {
		return writeJSON(w, l)
	}
	tw := newTable(w, "ID", "NAME", "VERSION", "TYPE")
	for _, wf := range l.Workflows {
		tw.row(wf.Id, wf.Name, wf.Version, strings.TrimSpace(wf.WorkflowType+" "+wf.WorkflowTypeVersion))
	}
	return tw.flush()
}

func (o *runOptions) writeDatasets(w io.Writer, l api.CatalogDatasetList) error {
	if l.Datasets == nil {
		l.Datasets = []api.CatalogDataset{}
	}
	if o.json() {
		return writeJSON(w, l)
	}
	tw := newTable(w, "ID", "NAME", "DESCRIPTION")
	for _, d := range l.Datasets {
		tw.row(d.Id, d.Name, d.Description)
	}
	return tw.flush()
}
