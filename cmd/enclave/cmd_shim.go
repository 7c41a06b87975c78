package main

import (
	"os"

	"github.com/spf13/cobra"

	"github.com/spe4hd/enclave/executors/local"
)

// newShimCmd is the local executor's job supervisor, `enclave executor-shim ...`: the
// default local.Config.ShimCommand. (The server itself starts the shim through
// local.SelfShim and ENCLAVE_LOCAL_SHIM, handled at the top of main.)
func newShimCmd() *cobra.Command {
	return &cobra.Command{
		Use:                "executor-shim",
		Short:              "Internal: supervise one local job (started by the local executor)",
		Hidden:             true,
		DisableFlagParsing: true,
		RunE: func(_ *cobra.Command, args []string) error {
			os.Exit(local.ShimMain(args))
			return nil
		},
	}
}
