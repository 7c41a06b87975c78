package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/spe4hd/enclave/pkg/catalog"
)

func newCatalogCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "catalog",
		Short: "Work with the sealed zone's catalogue of validated workflows and datasets",
	}
	check := &cobra.Command{
		Use:   "check FILE",
		Short: "Check a catalogue and print every problem, one per line",
		Long: "Check a catalogue file: its fields, the sha256 pin of every workflow file, each\n" +
			"parameter schema (JSON Schema 2020-12) and dataset marker, output globs, engines,\n" +
			"workflow types and engine parameters, dataset paths and policy rules. Prints every\n" +
			"problem on its own line and exits 1 if there is any.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := catalog.Load(args[0])
			var le *catalog.LoadError
			if errors.As(err, &le) {
				for _, p := range le.Problems {
					fmt.Fprintln(cmd.OutOrStdout(), p)
				}
				return &exitError{code: 1, msg: fmt.Sprintf("%s: %d problem(s)", args[0], len(le.Problems))}
			}
			if err != nil {
				return err
			}
			w, d := c.Len()
			fmt.Fprintf(cmd.OutOrStdout(), "catalogue ok: %d workflows, %d datasets\n", w, d)
			return nil
		},
	}
	cmd.AddCommand(check)
	cmd.AddCommand(newCatalogClientCmds(g)...)
	return cmd
}
