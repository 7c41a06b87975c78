package main

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/spe4hd/enclave/internal/app"
	"github.com/spe4hd/enclave/pkg/config"
)

func newServerCmd(g *globals) *cobra.Command {
	var addr string
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the WES API server (and, by default, a worker in the same process)",
		Long: `Run the WES API server. With no configuration at all this is the embedded default:
an in-process store, the local executor, data under ./enclave-data, bound to 127.0.0.1:8080,
authentication off. Point redis.addr at a Redis server for anything that must survive a restart.

A Redis that is down or still loading its data set at start is waited for (redis.startup_timeout,
default 5m); GET /readyz says what the server waits for (Redis, an engine whose version is still
being discovered), and /healthz answers 200 once start-up is over.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := g.loadConfig()
			if err != nil {
				return err
			}
			if addr != "" {
				cfg.Server.Addr = addr
			}
			return serve(cmd, g, cfg, app.Roles{API: true, Worker: cfg.Worker.InProcess})
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "", "host:port to listen on (overrides server.addr)")
	return cmd
}

func newWorkerCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "worker",
		Short: "Run a worker: take run steps from the queue and watch running jobs",
		Long: "Run a worker only. It needs redis.addr (or redis.sentinel, redis.cluster): the embedded store lives inside a server process.\n" +
			"A Redis that is down or still loading its data set at start is waited for (redis.startup_timeout, default 5m).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := g.loadConfig()
			if err != nil {
				return err
			}
			if cfg.Embedded() {
				return &exitError{code: 2, msg: "redis.addr: a separate worker needs a Redis server shared with the API server (redis.addr, redis.sentinel or redis.cluster)"}
			}
			return serve(cmd, g, cfg, app.Roles{Worker: true})
		},
	}
}

// serve runs the app until SIGINT/SIGTERM (the command's context).
func serve(cmd *cobra.Command, g *globals, cfg config.Config, roles app.Roles) error {
	log := g.logger(cfg)
	log.Info("starting enclave", "version", version, "api", roles.API, "worker", roles.Worker, "addr", cfg.Server.Addr, "redis", redisDesc(cfg), "data_dir", cfg.DataDir, "executor", cfg.Executor.Default)
	if cfg.Auth.Mode == "none" && roles.API {
		log.Warn("AUTHENTICATION IS OFF: every caller is the anonymous admin. Use this only on a loopback address for trying Enclave out.")
	}
	app.Version = version
	a, err := app.New(cmd.Context(), cfg, roles, log)
	if err != nil {
		return err
	}
	return a.Run(cmd.Context())
}

func redisDesc(cfg config.Config) string {
	if cfg.Embedded() {
		return "embedded"
	}
	switch r := cfg.Redis; {
	case r.Sentinel.Enabled():
		return "sentinel " + r.Sentinel.MasterName + " " + strings.Join(r.Sentinel.Addrs, ",")
	case r.Cluster.Enabled():
		return "cluster " + strings.Join(r.Cluster.Addrs, ",")
	default:
		return r.Addr
	}
}
