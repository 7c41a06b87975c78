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
	var strict bool
	check := &cobra.Command{
		Use:   "check FILE",
		Short: "Check a catalogue and print every problem, one per line",
		Long: "Check a catalogue file: its fields, the sha256 pin of every workflow file, each\n" +
			"parameter schema (JSON Schema 2020-12) and dataset marker, output globs, engines,\n" +
			"workflow types and engine parameters, dataset paths and policy rules. Prints every\n" +
			"problem on its own line and exits 1 if there is any.\n\n" +
			"It also warns (\"warning: ...\") about parameters that let free text reach a\n" +
			"workflow: strings with no enum, const, pattern or format. A workflow that puts such\n" +
			"a value into a shell command runs whatever it says inside the zone. Warnings do not\n" +
			"change the exit status unless --strict is given.",
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
			warnings := c.Warnings()
			for _, w := range warnings {
				fmt.Fprintln(cmd.OutOrStdout(), "warning: "+w)
			}
			if strict && len(warnings) > 0 {
				return &exitError{code: 1, msg: fmt.Sprintf("%s: %d warning(s) with --strict", args[0], len(warnings))}
			}
			w, d := c.Len()
			fmt.Fprintf(cmd.OutOrStdout(), "catalogue ok: %d workflows, %d datasets, %d warning(s)\n", w, d, len(warnings))
			return nil
		},
	}
	check.Flags().BoolVar(&strict, "strict", false, "exit 1 when there are warnings too")
	cmd.AddCommand(check)
	cmd.AddCommand(newCatalogClientCmds(g)...)
	return cmd
}
