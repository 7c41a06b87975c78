package main

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/spe4hd/enclave/api"
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
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := o.client()
			if err != nil {
				return err
			}
			l, err := c.CatalogWorkflows(cmd.Context())
			if err != nil {
				return err
			}
			if l.Workflows == nil {
				l.Workflows = []api.CatalogWorkflow{}
			}
			if o.json() {
				return writeJSON(cmd.OutOrStdout(), l)
			}
			tw := newTable(cmd.OutOrStdout(), "ID", "NAME", "VERSION", "TYPE")
			for _, w := range l.Workflows {
				tw.row(w.Id, w.Name, w.Version, strings.TrimSpace(w.WorkflowType+" "+w.WorkflowTypeVersion))
			}
			return tw.flush()
		},
	}
	datasets := &cobra.Command{
		Use:     "datasets",
		Short:   "List the datasets you may use on the server, by id",
		Long:    "List the datasets you may use. Name them by id in the workflow parameters of a\ncatalogue run; where they live inside the zone is never shown.",
		Args:    cobra.NoArgs,
		PreRunE: o.checkOutput,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := o.client()
			if err != nil {
				return err
			}
			l, err := c.CatalogDatasets(cmd.Context())
			if err != nil {
				return err
			}
			if l.Datasets == nil {
				l.Datasets = []api.CatalogDataset{}
			}
			if o.json() {
				return writeJSON(cmd.OutOrStdout(), l)
			}
			tw := newTable(cmd.OutOrStdout(), "ID", "NAME", "DESCRIPTION")
			for _, d := range l.Datasets {
				tw.row(d.Id, d.Name, d.Description)
			}
			return tw.flush()
		},
	}
	o.addFlags(list.Flags())
	o.addFlags(datasets.Flags())
	return []*cobra.Command{list, datasets}
}
