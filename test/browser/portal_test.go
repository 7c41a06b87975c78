package browser

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/spe4hd/enclave/internal/testsupport/testutil"
	"github.com/spe4hd/enclave/pkg/egress/egresstest"
)

// TestPortalAuthOff is `make run` as a new user meets it: the embedded default
// (authentication off, the example catalogue), the portal saying on every page that
// authentication is off, the example workflow run from its generated form, watched to the
// end and its result downloaded; the security headers, a phone-width layout, keyboard focus
// and the form with JavaScript off.
func TestPortalAuthOff(t *testing.T) {
	tl := needTools(t, "snakemake")
	t.Parallel()
	s := embeddedServer(t)
	runSpec(t, tl, "portal-auth-off", s.URL(), "EXPECT_SUMMARY="+expectedSummary(t))
}

// TestPortalWithDex is the portal of a sealed zone against a real Dex, Redis and MinIO:
// researchers log in through Dex's own login page, run catalogue workflows from the
// generated form and download what is released; a data controller previews and approves a
// file held for review; and the defences hold (another user's run is a 404 page, a form
// without its CSRF token is refused, a lost session returns to login, a bad parameter is
// shown at its field).
func TestPortalWithDex(t *testing.T) {
	tl := needTools(t, "snakemake", "cwltool")
	t.Parallel()
	redisAddr := testutil.RedisAddr(t)
	s3 := egresstest.S3Config(t)
	addr := testutil.FreeAddr(t)
	portalURL := "http://" + addr + "/"
	dx := startDex(t, portalURL)
	prefix := testutil.UniqueName("browser:")
	s := startServer(t, addr,
		"ENCLAVE_REDIS_ADDR="+redisAddr,
		"ENCLAVE_REDIS_KEY_PREFIX="+prefix+":",
		"ENCLAVE_REDIS_QUEUE="+strings.ReplaceAll(prefix, ":", "-"),
		"ENCLAVE_DATA_DIR="+filepath.Join(t.TempDir(), "data"),
		"ENCLAVE_SERVER_PUBLIC_URL="+portalURL,
		"ENCLAVE_ZONE_MODE=sealed",
		"ENCLAVE_ZONE_CATALOG="+filepath.Join(repoRoot, "examples", "catalog", "catalog.yaml"),
		"ENCLAVE_ZONE_RESULTS_STORE=s3",
		"ENCLAVE_ZONE_RESULTS_S3_ENDPOINT="+s3.Endpoint,
		"ENCLAVE_ZONE_RESULTS_S3_ACCESS_KEY="+s3.AccessKey,
		"ENCLAVE_ZONE_RESULTS_S3_SECRET_KEY="+s3.SecretKey,
		"ENCLAVE_ZONE_RESULTS_S3_BUCKET="+s3.Bucket,
		"ENCLAVE_AUTH_MODE=oidc",
		"ENCLAVE_AUTH_OIDC_ISSUER="+dx.issuer,
		"ENCLAVE_AUTH_OIDC_AUDIENCE="+portalClientID,
		"ENCLAVE_AUTH_OIDC_ROLES_RESEARCHER="+researcherGroup,
		"ENCLAVE_AUTH_OIDC_ROLES_DATA_CONTROLLER="+controllerGroup,
		"ENCLAVE_AUTH_OIDC_ROLES_ADMIN="+adminGroup,
		// The portal's own confidential client at Dex; its callback follows from
		// server.public_url.
		"ENCLAVE_PORTAL_OIDC_CLIENT_ID="+portalClientID,
		"ENCLAVE_PORTAL_OIDC_CLIENT_SECRET="+portalClientSecret,
	)
	runSpec(t, tl, "portal-dex", s.URL(),
		"DEX_ISSUER="+dx.issuer,
		"PASSWORD="+dexPassword,
		"EXPECT_SUMMARY="+expectedSummary(t),
	)
}

// expectedSummary is what cohort-count-smk releases for cohort-demo with its
// defaults (group_by site, min_count 5), computed from the dataset itself.
func expectedSummary(t *testing.T) string {
	t.Helper()
	return testutil.ExampleSummary(t, filepath.Join(repoRoot, "examples", "catalog", "data", "cohort-demo", "patients.csv"), "site", 5)
}
