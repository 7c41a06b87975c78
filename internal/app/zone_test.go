package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spe4hd/enclave/internal/testsupport/testutil"
	"github.com/spe4hd/enclave/pkg/audit"
	"github.com/spe4hd/enclave/pkg/catalog"
	"github.com/spe4hd/enclave/pkg/wes"
)

// The catalogue loaded at start and every reload, refused ones too, are in the audit
// trail (real Redis) with the file's sha256 and what changed.
func TestCatalogLoadsAndReloadsAreAudited(t *testing.T) {
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS("../../examples/catalog")); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "catalog.yaml")
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sha := func(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }
	log := audit.New(testutil.Redis(t), audit.Options{Prefix: testutil.UniqueName("enclave-app-audit-") + ":"})
	h, err := catalog.NewHolder(path, catalog.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	auditCatalog(ctx, h, path, log, slog.New(slog.DiscardHandler))

	edited := strings.Replace(string(orig), "name: Demo cohort (synthetic)", "name: Demo cohort (renamed)", 1)
	if edited == string(orig) {
		t.Fatal("the example catalogue changed; adjust the edit")
	}
	write := func(s string) {
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(edited)
	if err := h.Reload(); err != nil {
		t.Fatal(err)
	}
	write("workflows: [{id: BAD}]\n")
	if h.Reload() == nil {
		t.Fatal("a bad catalogue was taken")
	}

	page, err := log.Query(ctx, audit.Filter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var evs []wes.AuditEvent
	for _, e := range page.Entries {
		evs = append(evs, e.Event)
	}
	if len(evs) != 3 {
		t.Fatalf("events: %+v", evs)
	}
	start, reload, refused := evs[0], evs[1], evs[2]
	if start.Action != actionCatalogLoad || start.Actor != "system" || start.Outcome != "ok" || start.Detail["sha256"] != sha(orig) ||
		start.Detail["workflows_added"] != "cohort-count-cwl,cohort-count-smk" || start.Detail["datasets_added"] != "cohort-demo" ||
		start.Detail["rules"] != "1" || start.Detail["file_uid"] == "" || start.Detail["file_mtime"] == "" {
		t.Errorf("start: %+v", start)
	}
	if reload.Action != actionCatalogReload || reload.Outcome != "ok" || reload.Detail["sha256"] != sha([]byte(edited)) ||
		reload.Detail["previous_sha256"] != sha(orig) || reload.Detail["datasets_changed"] != "cohort-demo" ||
		reload.Detail["workflows_changed"] != "" || reload.Detail["rules_added"] != "" {
		t.Errorf("reload: %+v", reload)
	}
	if refused.Action != actionCatalogReload || refused.Outcome != "error" || !strings.Contains(refused.Reason, "previous catalogue stays in use") ||
		refused.Detail["sha256"] != sha([]byte("workflows: [{id: BAD}]\n")) || refused.Detail["previous_sha256"] != sha([]byte(edited)) {
		t.Errorf("refused reload: %+v", refused)
	}
}
