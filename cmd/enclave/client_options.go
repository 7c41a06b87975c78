package main

import (
	"fmt"
	"net/http"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// newRunOptions returns the client options of a command that talks to a server.
func newRunOptions(g *globals) *runOptions {
	// No overall client timeout: uploads and downloads can take long. A server that
	// accepts a request but never answers is cut off by the header timeout instead.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.ResponseHeaderTimeout = 2 * time.Minute
	return &runOptions{g: g, hc: &http.Client{Transport: tr}}
}

// addFlags adds --url, --token and --output to fs.
func (o *runOptions) addFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.url, "url", "", "WES server URL (default $ENCLAVE_URL, else "+defaultURL+")")
	fs.StringVar(&o.token, "token", "", "bearer token (default $ENCLAVE_TOKEN, else the one enclave login stored)")
	fs.StringVarP(&o.output, "output", "o", "table", "output format: json or table")
}

// checkOutput refuses an --output other than json or table.
func (o *runOptions) checkOutput(*cobra.Command, []string) error {
	if o.output != "json" && o.output != "table" {
		return fmt.Errorf("--output %q: want json or table", o.output)
	}
	return nil
}
