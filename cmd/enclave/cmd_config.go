package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/spe4hd/enclave/pkg/config"
)

// `enclave config`: the configuration's reference, the effective values and a check.

func newConfigCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Show and check the configuration",
	}
	printDefault := &cobra.Command{
		Use:   "print-default",
		Short: "Print every configuration key with its default, as commented YAML",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := io.WriteString(cmd.OutOrStdout(), config.Reference())
			return err
		},
	}
	show := &cobra.Command{
		Use:   "show",
		Short: "Print the effective configuration (file, environment and flags applied; secrets redacted)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := g.loadConfig()
			if err != nil {
				return err
			}
			_, err = io.WriteString(cmd.OutOrStdout(), cfg.Redacted().YAML())
			return err
		},
	}
	check := &cobra.Command{
		Use:   "check",
		Short: "Check the configuration and report every problem",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := g.loadConfig(); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), "configuration ok")
			return nil
		},
	}
	cmd.AddCommand(printDefault, show, check)
	return cmd
}
