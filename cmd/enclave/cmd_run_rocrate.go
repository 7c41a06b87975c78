package main

import (
	"bytes"
	"fmt"

	"github.com/spf13/cobra"
)

// newRunROCrateCmd exports a run's Workflow Run RO-Crate metadata. -O names the file
// (as for run download): -o is the run commands' --output format.
func newRunROCrateCmd(o *runOptions) *cobra.Command {
	var file string
	var force bool
	cmd := &cobra.Command{
		Use:   "ro-crate RUN_ID [-O FILE]",
		Short: "Export a run's provenance as a Workflow Run RO-Crate (ro-crate-metadata.json)",
		Long: `Write the run's ro-crate-metadata.json (a Workflow Run Crate: RO-Crate 1.1 with the
Process, Workflow and Provenance Run Crate 0.5 profiles) to standard output, or to
-O FILE. It names the catalogue workflow as it ran (id, version, every file's sha256),
the datasets by id, the engine and its version, the executor and its image, the run's
times and outcome, and the run's released outputs only. It holds no parameters, tags,
logs or paths inside the zone. The files it names are not included: download the
released outputs with enclave run download -d DIR/outputs to complete the crate.
An existing FILE is kept unless --force is given.`,
		Example: `  enclave run ro-crate 3f2a...                         # to standard output
  enclave run ro-crate 3f2a... -O crate/ro-crate-metadata.json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			t, err := outputTarget(file, force, 0o644)
			if err != nil {
				return err
			}
			if t != nil {
				defer t.Close()
			}
			c, err := o.client()
			if err != nil {
				return err
			}
			b, err := c.ROCrate(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if t == nil {
				_, err = cmd.OutOrStdout().Write(append(b, '\n'))
				return err
			}
			n, _, err := t.write(bytes.NewReader(b), "")
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s (%d bytes)\n", t.shown, n)
			return err
		},
	}
	f := cmd.Flags()
	f.StringVarP(&file, "output-file", "O", "", "write to this file (- or none: standard output)")
	f.BoolVar(&force, "force", false, "overwrite an existing file")
	return cmd
}
