package app

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/spe4hd/enclave/internal/testsupport/testutil"
)

// The case: a server (and its worker) started while Redis is down waits for it,
// logging each wait, not ready meanwhile, and serves once a real redis-server comes up
// on its address; it used to exit with "connection refused".
func TestStartWaitsForRedisDown(t *testing.T) {
	addr := testutil.FreeAddr(t)
	cfg := testConfig(t, addr)
	log := newLogTap()
	r := runApp(t, cfg, Roles{API: true, Worker: true}, log.logger())

	log.wait(t, "waiting for Redis", "connection refused", "attempt=2")
	r.alive(t)
	if ok, waiting := r.a.Ready(); ok || !slices.Contains(waiting, "redis") || !slices.Contains(waiting, "worker") {
		t.Errorf("Ready while Redis is down = %v %v", ok, waiting)
	}
	if st, waiting := r.readyz(t); st != http.StatusServiceUnavailable || !slices.Contains(waiting, "redis") {
		t.Errorf("/readyz while Redis is down = %d %v", st, waiting)
	}
	if st, _, _ := r.get(t, "/healthz"); st != http.StatusServiceUnavailable {
		t.Errorf("/healthz while Redis is down = %d", st)
	}
	st, body, hdr := r.get(t, "/ga4gh/wes/v1/service-info")
	if st != http.StatusServiceUnavailable || hdr.Get("Retry-After") == "" || !strings.Contains(body, "the server is starting (waiting for: redis") ||
		strings.Contains(body, addr) {
		t.Errorf("API request while Redis is down = %d %s (Retry-After %q)", st, body, hdr.Get("Retry-After"))
	}

	redisServer(t, addr, t.TempDir())
	t.Cleanup(func() { wipe(t, cfg) })
	r.untilReady(t)
	log.wait(t, "Redis answers")
	log.wait(t, "worker started")
	if st, body, _ := r.get(t, "/ga4gh/wes/v1/service-info"); st != http.StatusOK {
		t.Errorf("service-info once Redis answers = %d %s", st, body)
	}
	if st, _ := r.readyz(t); st != http.StatusOK {
		t.Errorf("/readyz once ready = %d", st)
	}
}

// A worker started while Redis is still loading its AOF ("LOADING Redis is loading the
// dataset in memory") waits until it has loaded, then takes steps. The real
// redis-server is slowed down to a crawl (key-load-delay) until the test lets it go.
func TestWorkerWaitsForRedisLoading(t *testing.T) {
	addr, dir := testutil.FreeAddr(t), t.TempDir()
	writeAOF(t, addr, dir, 600)
	redisServer(t, addr, dir, "--appendonly", "yes", "--key-load-delay", "100000", "--loading-process-events-interval-bytes", "1024")
	pingUntil(t, addr, "LOADING", func(err error) bool { return err != nil && strings.HasPrefix(err.Error(), "LOADING") })

	cfg := testConfig(t, addr)
	t.Cleanup(func() { wipe(t, cfg) })
	log := newLogTap()
	r := runApp(t, cfg, Roles{Worker: true}, log.logger())
	log.wait(t, "waiting for Redis", "LOADING Redis is loading the dataset in memory")
	r.alive(t)
	if ok, waiting := r.a.Ready(); ok || !slices.Contains(waiting, "redis") {
		t.Errorf("Ready while Redis loads = %v %v", ok, waiting)
	}

	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	if err := c.ConfigSet(context.Background(), "key-load-delay", "0").Err(); err != nil {
		t.Fatalf("letting Redis finish loading: %v", err)
	}
	r.untilReady(t)
	log.wait(t, "worker started")
	if n, err := c.DBSize(context.Background()).Result(); err != nil || n < 600 {
		t.Errorf("keys after loading = %d, %v", n, err)
	}
}

// writeAOF leaves in dir an append-only file of n keys of 1000 random bytes, written
// by a redis-server on addr that is then shut down.
func writeAOF(t *testing.T, addr, dir string, n int) {
	t.Helper()
	cmd := redisServer(t, addr, dir, "--appendonly", "yes")
	pingUntil(t, addr, "PONG", func(err error) bool { return err == nil })
	ctx := context.Background()
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	p := c.Pipeline()
	for i := range n {
		p.Set(ctx, fmt.Sprintf("k%d", i), rand.Text()+strings.Repeat(rand.Text(), 38), 0)
	}
	if _, err := p.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	// Into the AOF's base file, which loads key by key (and so, slowly).
	if err := c.BgRewriteAOF(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(startupDeadline)
	for {
		info, err := c.Info(ctx, "persistence").Result()
		if err == nil && strings.Contains(info, "aof_rewrite_in_progress:0") && strings.Contains(info, "aof_rewrite_scheduled:0") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the AOF rewrite did not end: %v %s", err, info)
		}
		time.Sleep(20 * time.Millisecond) // polling a condition with a deadline
	}
	_ = c.Shutdown(ctx).Err() // the connection closes as Redis exits
	if err := cmd.Wait(); err != nil {
		t.Fatalf("redis-server shutdown: %v", err)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "appendonlydir", "*.base.rdb")); len(m) != 1 {
		t.Fatalf("no AOF base file in %s", dir)
	}
}

// A Redis that does not come within redis.startup_timeout ends the process with an
// error that names the setting.
func TestStartGivesUpOnRedis(t *testing.T) {
	cfg := testConfig(t, testutil.FreeAddr(t))
	cfg.Redis.StartupTimeout = time.Second
	log := newLogTap()
	a, err := New(context.Background(), cfg, Roles{Worker: true}, log.logger())
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(context.Background()) }()
	select {
	case err = <-done:
	case <-time.After(startupDeadline):
		t.Fatal("Run did not give up")
	}
	if err == nil || !strings.Contains(err.Error(), "redis.startup_timeout (1s)") || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("Run = %v", err)
	}
}

// The other case: `snakemake --version` is slow at start. The server does not
// look healthy while it waits for the first answer; when that check fails it serves,
// but refuses Snakemake runs with 503 and a Retry-After (not 400), says so in the log,
// and stays not ready until a later check succeeds; an engine with a configured
// version but no program (nextflow) is not advertised and its runs get a 400 naming the
// installed engines. The test decides when snakemake answers.
func TestEngineDiscoveryIsRetried(t *testing.T) {
	cfg := testConfig(t, redisAddr(t))
	t.Cleanup(func() { wipe(t, cfg) })
	dir := t.TempDir()
	calls, fail, release := filepath.Join(dir, "calls"), filepath.Join(dir, "fail"), filepath.Join(dir, "release")
	cfg.Engines.Snakemake.Binary = script(t, dir, "snakemake", `echo call >> "`+calls+`"
while [ ! -e "`+release+`" ]; do
	[ -e "`+fail+`" ] && { echo "snakemake: too slow" >&2; exit 1; }
	sleep 0.02
done
echo 7.32.4`)
	log := newLogTap()
	r := runApp(t, cfg, Roles{API: true}, log.logger())

	waitFile(t, calls)
	if st, waiting := r.readyz(t); st != http.StatusServiceUnavailable || !slices.Contains(waiting, "engine snakemake") {
		t.Errorf("/readyz while snakemake --version runs = %d %v", st, waiting)
	}
	if st, _, _ := r.get(t, "/healthz"); st != http.StatusServiceUnavailable {
		t.Errorf("/healthz while the first check runs = %d: the server looks healthy", st)
	}

	touch(t, fail)
	log.wait(t, "engine version discovery failed", "engine=snakemake")
	untilHealthy(t, r)
	if st, waiting := r.readyz(t); st != http.StatusServiceUnavailable || !slices.Equal(waiting, []string{"engine snakemake"}) {
		t.Errorf("/readyz while snakemake fails = %d %v", st, waiting)
	}
	_, si, _ := r.get(t, "/ga4gh/wes/v1/service-info")
	if strings.Contains(si, `"snakemake"`) || strings.Contains(si, `"nextflow"`) || !strings.Contains(si, `"cwltool":{"workflow_engine_version":["3.1.20230209161050"]}`) {
		t.Errorf("service-info advertises engines that are not ready, or lost cwltool: %s", si)
	}

	st, body, hdr := r.submit(t, smkRun())
	if ra, err := strconv.Atoi(hdr.Get("Retry-After")); st != http.StatusServiceUnavailable || err != nil || ra < 1 ||
		!strings.Contains(body, "snakemake is not ready on this server yet") {
		t.Errorf("Snakemake run while its discovery fails = %d %s (Retry-After %q)", st, body, hdr.Get("Retry-After"))
	}
	log.wait(t, "backend unavailable", "snakemake is not ready")
	st, body, _ = r.submit(t, runForm{map[string]string{"workflow_type": "NFL", "workflow_type_version": "DSL2", "workflow_url": "main.nf"},
		map[string]string{"main.nf": "workflow {}\n"}})
	if st != http.StatusBadRequest || !strings.Contains(body, "nextflow is not installed on this server; installed: cwltool 3.1.20230209161050 (CWL)") {
		t.Errorf("Nextflow run = %d %s", st, body)
	}
	if st, body, _ := r.submit(t, cwlRun()); st != http.StatusOK {
		t.Errorf("CWL run while snakemake fails = %d %s", st, body)
	}

	touch(t, release)
	r.untilReady(t)
	if st, body, _ := r.submit(t, smkRun()); st != http.StatusOK {
		t.Errorf("Snakemake run once discovered = %d %s", st, body)
	}
	if _, si, _ := r.get(t, "/ga4gh/wes/v1/service-info"); !strings.Contains(si, `"snakemake":{"workflow_engine_version":["7.32.4"]}`) {
		t.Errorf("service-info once snakemake answers: %s", si)
	}
}

func smkRun() runForm {
	return runForm{map[string]string{"workflow_type": "SMK", "workflow_type_version": "1.0", "workflow_url": "Snakefile"},
		map[string]string{"Snakefile": "rule all:\n    shell: \"true\"\n"}}
}

func cwlRun() runForm {
	return runForm{map[string]string{"workflow_type": "CWL", "workflow_type_version": "v1.2", "workflow_url": "echo.cwl",
		"workflow_params": `{"message": "hello"}`},
		map[string]string{"echo.cwl": "cwlVersion: v1.2\nclass: CommandLineTool\nbaseCommand: echo\n" +
			"inputs:\n  message: {type: string, inputBinding: {position: 1}}\noutputs: []\n"}}
}
