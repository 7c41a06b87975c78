package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/spe4hd/enclave/pkg/wesclient"
)

// defaultURL is the server `enclave server` starts with no configuration.
const defaultURL = "http://127.0.0.1:8080"

// runOptions are the flags every command that talks to a server shares.
type runOptions struct {
	g      *globals
	url    string // --url, else $ENCLAVE_URL, else defaultURL
	token  string // --token, else $ENCLAVE_TOKEN, else the one enclave login stored
	output string // --output: json or table
}

// newRunOptions returns the client options of a command that talks to a server.
func newRunOptions(g *globals) *runOptions { return &runOptions{g: g} }

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

func (o *runOptions) json() bool { return o.output == "json" }

// runCall is the RunE of a command that makes one call to the server, with its
// argument if it takes one, and prints the answer.
func runCall[T any](o *runOptions, call func(c *wesclient.Client, ctx context.Context, arg string) (T, error), print func(io.Writer, T) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		c, err := o.client()
		if err != nil {
			return err
		}
		arg := ""
		if len(args) > 0 {
			arg = args[0]
		}
		v, err := call(c, cmd.Context(), arg)
		if err != nil {
			return err
		}
		return print(cmd.OutOrStdout(), v)
	}
}

// client returns a client for the chosen server. Defaults come from the environment
// here, not as flag defaults, so that --help never shows the token.
func (o *runOptions) client() (*wesclient.Client, error) {
	u := o.url
	if u == "" {
		u = o.g.getenv("ENCLAVE_URL")
	}
	if u == "" {
		u = defaultURL
	}
	t := o.token
	if t == "" {
		t = o.g.getenv("ENCLAVE_TOKEN")
	}
	var ts wesclient.TokenSource = wesclient.StaticToken(t)
	if t == "" {
		ts = &loginToken{g: o.g}
	}
	c, err := wesclient.New(u, wesclient.WithTokenSource(ts))
	if err != nil {
		return nil, fmt.Errorf("--url: %w", err)
	}
	return c, nil
}
