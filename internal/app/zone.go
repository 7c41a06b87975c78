package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

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
		audit: audit.New(a.rdb, audit.Options{Prefix: a.cfg.Redis.KeyPrefix, Metrics: a.metrics}),
		limits: egress.Limits{MaxFileBytes: int64(a.cfg.Zone.MaxFileBytes), MaxTotalBytes: int64(a.cfg.Zone.MaxTotalBytes),
			MaxFiles: a.cfg.Zone.MaxFiles, Approvals: a.cfg.Zone.Review.Approvals},
	}
	a.zone = z
	if path := a.cfg.Zone.Catalog; path != "" {
		h, err := catalog.NewHolder(path, catalog.Options{Engines: a.engines}, a.log.With("component", "catalog"))
		if err != nil {
			var le *catalog.LoadError
			r := catalog.Reload{Err: err}
			if errors.As(err, &le) {
				r.SHA256 = le.SHA256
			}
			// The refusal is audited before the process exits, Redis permitting.
			if werr := a.waitRedis(ctx); werr != nil {
				a.log.Error("the refused catalogue cannot be audited", "err", werr)
			} else {
				recordCatalog(ctx, z.audit, a.log, path, actionCatalogLoad, r)
			}
			return fmt.Errorf("zone.catalog: %w", err)
		}
		z.catalog = h
		n, m := h.Catalog().Len()
		a.log.Info("catalogue loaded", "workflows", n, "datasets", m)
		// Its audit event is written by Run, once Redis answers.
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

// Audit actions of the catalogue (workflows, datasets and the usage policy).
const (
	actionCatalogLoad   = "catalog.load"   // at start
	actionCatalogReload = "catalog.reload" // on SIGHUP
)

// catalogAuditTimeout bounds one catalogue audit write.
const catalogAuditTimeout = 10 * time.Second

// auditCatalog records the catalogue h loaded at start and makes every later reload,
// refused ones too, an audit event: what it added, removed and changed, and the file's
// sha256. A reload has no user behind it (a signal), so the actor is "system", and the
// file's owner and modification time say who and when as far as the file can.
func auditCatalog(ctx context.Context, h *catalog.Holder, path string, aud wes.Auditor, log *slog.Logger) {
	fp := h.Catalog().Fingerprint()
	recordCatalog(ctx, aud, log, path, actionCatalogLoad,
		catalog.Reload{Current: fp, Change: catalog.Compare(catalog.Fingerprint{}, fp), SHA256: fp.SHA256})
	h.OnReload(func(r catalog.Reload) { recordCatalog(ctx, aud, log, path, actionCatalogReload, r) })
}

// recordCatalog writes one catalogue event. A trail that cannot take it is logged: the
// catalogue in force does not depend on it.
func recordCatalog(ctx context.Context, aud wes.Auditor, log *slog.Logger, path, action string, r catalog.Reload) {
	if aud == nil {
		return
	}
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), catalogAuditTimeout)
	defer cancel()
	if err := aud.Record(actx, catalogEvent(path, action, r)); err != nil {
		log.Error("the catalogue change could not be audited", "action", action, "err", err)
	}
}

// catalogEvent is the audit event of one load of the catalogue file at path.
func catalogEvent(path, action string, r catalog.Reload) wes.AuditEvent {
	e := wes.AuditEvent{Actor: "system", Action: action, Outcome: "ok", Detail: map[string]string{}}
	d := e.Detail
	set := func(k, v string) {
		if v != "" {
			d[k] = v
		}
	}
	set("sha256", r.SHA256)
	set("previous_sha256", r.Previous.SHA256)
	if fi, err := os.Stat(path); err == nil {
		d["file_mtime"] = fi.ModTime().UTC().Format(time.RFC3339)
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			d["file_uid"] = strconv.FormatUint(uint64(st.Uid), 10)
		}
	}
	if r.Err != nil {
		e.Outcome = "error"
		e.Reason = "the catalogue file was refused"
		var le *catalog.LoadError
		if errors.As(r.Err, &le) && len(le.Problems) > 0 {
			e.Reason += fmt.Sprintf(" (%d problem(s); the first: %s)", len(le.Problems), clip(le.Problems[0], 300))
		}
		if action == actionCatalogReload {
			e.Reason += "; the previous catalogue stays in use"
		}
		return e
	}
	d["workflows"], d["datasets"], d["rules"] = strconv.Itoa(len(r.Current.Workflows)),
		strconv.Itoa(len(r.Current.Datasets)), strconv.Itoa(len(r.Current.Rules))
	for kind, diff := range map[string]catalog.Diff{"workflows": r.Change.Workflows, "datasets": r.Change.Datasets, "rules": r.Change.Rules} {
		set(kind+"_added", clip(strings.Join(diff.Added, ","), 2000))
		set(kind+"_removed", clip(strings.Join(diff.Removed, ","), 2000))
		set(kind+"_changed", clip(strings.Join(diff.Changed, ","), 2000))
	}
	return e
}

// clip cuts s to n bytes for the audit trail.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "..."
}
