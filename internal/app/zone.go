package app

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/spe4hd/enclave/pkg/audit"
	"github.com/spe4hd/enclave/pkg/catalog"
	"github.com/spe4hd/enclave/pkg/config"
	"github.com/spe4hd/enclave/pkg/egress"
	"github.com/spe4hd/enclave/pkg/egress/localfs"
	"github.com/spe4hd/enclave/pkg/egress/s3"
	"github.com/spe4hd/enclave/pkg/wes"
)

// zone holds the sealed zone's parts, shared by the API and the worker.
type zone struct {
	catalog *catalog.Holder // nil without a catalogue
	results wes.ResultStore
	audit   *audit.Log
	limits  egress.Limits
	closers []func()
}

func (a *App) buildZone(ctx context.Context) error {
	z := &zone{
		audit: audit.New(a.rdb, audit.Options{Prefix: a.cfg.Redis.KeyPrefix}),
		limits: egress.Limits{MaxFileBytes: int64(a.cfg.Zone.MaxFileBytes), MaxTotalBytes: int64(a.cfg.Zone.MaxTotalBytes),
			MaxFiles: a.cfg.Zone.MaxFiles},
	}
	a.zone = z
	if path := a.cfg.Zone.Catalog; path != "" {
		h, err := catalog.NewHolder(path, catalog.Options{Engines: a.engines}, a.log.With("component", "catalog"))
		if err != nil {
			return fmt.Errorf("zone.catalog: %w", err)
		}
		z.catalog = h
		n, m := h.Catalog().Len()
		a.log.Info("catalogue loaded", "workflows", n, "datasets", m)
	}
	store, err := newResultStore(ctx, a.cfg, a.log)
	if err != nil {
		return err
	}
	z.results = store
	if c, ok := store.(interface{ Close() error }); ok {
		z.closers = append(z.closers, func() { _ = c.Close() })
	}
	return nil
}

// reloadCatalogOnSIGHUP reloads the catalogue on SIGHUP until ctx ends; a bad file keeps
// the catalogue in use (and is logged).
func (a *App) reloadCatalogOnSIGHUP(ctx context.Context) {
	if a.zone == nil || a.zone.catalog == nil {
		return
	}
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGHUP)
	go func() {
		defer signal.Stop(ch)
		a.zone.catalog.ReloadOn(ctx, ch)
	}()
}

func newResultStore(ctx context.Context, cfg config.Config, log *slog.Logger) (wes.ResultStore, error) {
	r := cfg.Zone.Results
	switch r.Store {
	case "s3":
		st, err := s3.New(ctx, s3.Config{Endpoint: r.S3.Endpoint, AccessKey: r.S3.AccessKey, SecretKey: r.S3.SecretKey,
			Bucket: r.S3.Bucket, UseSSL: r.S3.UseSSL, Region: r.S3.Region, PublicEndpoint: r.S3.PublicEndpoint},
			log.With("component", "results"))
		if err != nil {
			return nil, fmt.Errorf("zone.results.s3: %w", err)
		}
		return st, nil
	default:
		dir, err := filepath.Abs(cfg.ResultsLocalDir())
		if err != nil {
			return nil, fmt.Errorf("zone.results.local_dir: %w", err)
		}
		st, err := localfs.New(dir)
		if err != nil {
			return nil, fmt.Errorf("zone.results.local_dir: %w", err)
		}
		return st, nil
	}
}
