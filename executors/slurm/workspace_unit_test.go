package slurm

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/spe4hd/enclave/pkg/wes"
)

func sftpConfig() Config {
	return Config{Mode: ModeSSH, SSH: SSHConfig{Addr: "login:22", User: "enclave", KeyFile: "/k", KnownHostsFile: "/kh"},
		Workspace: WorkspaceSFTP, LocalRoot: "/data", RemoteRoot: "/scratch/{login}/enclave"}
}

// An Executor whose configuration is checked but which never connects (mapJob and the
// handle checks need no cluster).
func offlineExecutor(t *testing.T, cfg Config) *Executor {
	t.Helper()
	cfg, err := cfg.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	return &Executor{cfg: cfg}
}

func TestMapJob(t *testing.T) {
	e := offlineExecutor(t, sftpConfig())
	job := &wes.Job{ID: "r1", WorkDir: "/data/runs/r1/work", Stdout: "/data/runs/r1/logs/stdout.log", Stderr: "/data/runs/r1/logs/stderr.log",
		Argv:     []string{"snakemake", "/data/runs/r1/work/Snakefile", "--dir=/data/runs/r1/work", "/data", "/database/x", "/data/sets/genomes/g1.fa", "rel/path"},
		Env:      map[string]string{"A": "/data/runs/r1/work/tmp", "B": "x/data/runs", "C": "/data/sets/genomes"},
		Datasets: []wes.DatasetMount{{ID: "g", Path: "/data/sets/genomes"}}}
	cj, ws, err := e.mapJob(job, "alice")
	if err != nil {
		t.Fatal(err)
	}
	wantArgv := []string{"snakemake", "/scratch/alice/enclave/runs/r1/work/Snakefile", "--dir=/data/runs/r1/work", "/scratch/alice/enclave",
		"/database/x", "/data/sets/genomes/g1.fa", "rel/path"}
	if !slices.Equal(cj.Argv, wantArgv) {
		t.Errorf("argv\n got %q\nwant %q", cj.Argv, wantArgv)
	}
	wantEnv := map[string]string{"A": "/scratch/alice/enclave/runs/r1/work/tmp", "B": "x/data/runs", "C": "/data/sets/genomes"}
	if !maps.Equal(cj.Env, wantEnv) {
		t.Errorf("env %v, want %v", cj.Env, wantEnv)
	}
	if cj.WorkDir != "/scratch/alice/enclave/runs/r1/work" || cj.Stdout != "/scratch/alice/enclave/runs/r1/logs/stdout.log" {
		t.Errorf("paths: %s %s", cj.WorkDir, cj.Stdout)
	}
	want := workspace{RemoteRun: "/scratch/alice/enclave/runs/r1",
		Work:   pathPair{"/data/runs/r1/work", "/scratch/alice/enclave/runs/r1/work"},
		Stdout: pathPair{"/data/runs/r1/logs/stdout.log", "/scratch/alice/enclave/runs/r1/logs/stdout.log"},
		Stderr: pathPair{"/data/runs/r1/logs/stderr.log", "/scratch/alice/enclave/runs/r1/logs/stderr.log"}}
	if *ws != want {
		t.Errorf("workspace %+v\nwant %+v", *ws, want)
	}
	if job.Argv[1] != "/data/runs/r1/work/Snakefile" || job.Env["A"] != "/data/runs/r1/work/tmp" {
		t.Error("mapJob changed the caller's job")
	}
	// Without a login the SSH user's name fills in {login}.
	if cj, _, _ := e.mapJob(job, ""); cj.WorkDir != "/scratch/enclave/enclave/runs/r1/work" {
		t.Errorf("no login: %s", cj.WorkDir)
	}

	for name, edit := range map[string]func(j *wes.Job){
		"work dir outside":     func(j *wes.Job) { j.WorkDir = "/elsewhere/w" },
		"work dir is the root": func(j *wes.Job) { j.WorkDir = "/data" },
		"prefix only":          func(j *wes.Job) { j.WorkDir = "/database/w" },
		"relative":             func(j *wes.Job) { j.WorkDir = "runs/r1/work" },
		"stdout outside":       func(j *wes.Job) { j.Stdout = "/tmp/out" },
		"no common run dir":    func(j *wes.Job) { j.WorkDir, j.Stdout = "/data/a/work", "/data/b/out" },
	} {
		j := *job
		edit(&j)
		if _, _, err := e.mapJob(&j, ""); !wes.IsCode(err, wes.EINVALID) || strings.Contains(wes.ErrorMessage(err), "/") {
			t.Errorf("%s: %v; want EINVALID without a path", name, err)
		}
	}
	// The shared workspace maps nothing.
	shared := offlineExecutor(t, Config{Mode: ModeLocal})
	if cj, ws, err := shared.mapJob(job, ""); cj != job || ws != nil || err != nil {
		t.Errorf("shared: %v %v %v", cj, ws, err)
	}
}

func TestHandleWorkspaceChecked(t *testing.T) {
	ok := workspace{RemoteRun: "/s/e/runs/r1", Work: pathPair{"/data/runs/r1/work", "/s/e/runs/r1/work"},
		Stdout: pathPair{"/data/runs/r1/logs/o", "/s/e/runs/r1/logs/o"}}
	for name, c := range map[string]struct {
		edit  func(w *workspace)
		login string
		valid bool
	}{
		"valid":                {func(w *workspace) {}, "alice", true},
		"remote run too short": {func(w *workspace) { w.RemoteRun, w.Work.Remote = "/s", "/s/work" }, "", false},
		"remote run /":         {func(w *workspace) { w.RemoteRun = "/" }, "", false},
		"work outside run":     {func(w *workspace) { w.Work.Remote = "/s/e/runs/r2/work" }, "", false},
		"unclean remote":       {func(w *workspace) { w.Stdout.Remote = "/s/e/runs/r1/../../x" }, "", false},
		"relative local":       {func(w *workspace) { w.Work.Local = "data/w" }, "", false},
		"no work":              {func(w *workspace) { w.Work = pathPair{} }, "", false},
		"newline":              {func(w *workspace) { w.RemoteRun += "\n" }, "", false},
		"login as option":      {func(w *workspace) {}, "-oProxyCommand=x", false},
	} {
		w := ok
		c.edit(&w)
		b, _ := json.Marshal(handleData{JobID: "7", Name: "r1", Login: c.login, Workspace: &w})
		_, err := decodeHandle(wes.Handle{Executor: Name, Version: handleVersion, Data: b})
		if (err == nil) != c.valid {
			t.Errorf("%s: decode = %v; want valid %v", name, err, c.valid)
		}
	}
}

func TestCheckSubmit(t *testing.T) {
	cfg := sftpConfig()
	cfg.Partition, cfg.AllowedPartitions, cfg.AllowedAccounts = "debug", []string{"gpu"}, []string{"proj1", "proj2"}
	cfg.Logins = map[string]Login{"alice": {User: "alice"}, "bob@example.org": {User: "bob", KeyFile: "/k/bob"}}
	c, err := NewChecker(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		owner  string
		params map[string]string
		code   string
		msg    string
	}{
		{"alice", nil, "", ""},
		{"alice", map[string]string{"partition": "gpu", "account": "proj2", "cores": "3"}, "", ""},
		{"bob@example.org", map[string]string{"partition": "debug"}, "", ""},
		{"alice", map[string]string{"partition": "bigmem"}, wes.EINVALID, `workflow_engine_parameters.partition "bigmem" is not allowed on this SLURM cluster; allowed: debug, gpu`},
		{"alice", map[string]string{"qos": "high"}, wes.EINVALID, "allowed: none"},
		{"alice", map[string]string{"account": "proj1;x"}, wes.EINVALID, "workflow_engine_parameters.account must be"},
		{"carol", nil, wes.EFORBIDDEN, "no login on the SLURM cluster"},
		{"", nil, wes.EFORBIDDEN, "no login"},
	} {
		err := c.CheckSubmit(tt.owner, tt.params)
		if wes.ErrorCode(err) != tt.code || !strings.Contains(wes.ErrorMessage(err), tt.msg) {
			t.Errorf("CheckSubmit(%q, %v) = %v; want %q %q", tt.owner, tt.params, err, tt.code, tt.msg)
		}
	}
	if cfg.keyFor("bob") != "/k/bob" || cfg.keyFor("alice") != "/k" {
		t.Errorf("keyFor: bob %s, alice %s", cfg.keyFor("bob"), cfg.keyFor("alice"))
	}
}

func TestNewValidatesWorkspaceAndLogins(t *testing.T) {
	for _, c := range []struct {
		name string
		edit func(c *Config)
		want string
	}{
		{"sftp in local mode", func(c *Config) { c.Mode = ModeLocal }, "needs Mode ssh"},
		{"no local root", func(c *Config) { c.LocalRoot = "" }, "LocalRoot"},
		{"no remote root", func(c *Config) { c.RemoteRoot = "" }, "RemoteRoot"},
		{"remote root /", func(c *Config) { c.RemoteRoot = "/" }, "RemoteRoot"},
		{"bad workspace", func(c *Config) { c.Workspace = "nfs" }, "Workspace"},
		{"negative limit", func(c *Config) { c.CollectMaxBytes = -1 }, "CollectMaxBytes"},
		{"bad login", func(c *Config) { c.Logins = map[string]Login{"a": {User: "-x"}} }, "Logins"},
		{"bad allowed partition", func(c *Config) { c.AllowedPartitions = []string{"a b"} }, "AllowedPartitions[0]"},
	} {
		cfg := sftpConfig()
		c.edit(&cfg)
		if _, err := NewChecker(cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: NewChecker = %v; want an error naming %q", c.name, err, c.want)
		}
	}
	cfg, err := sftpConfig().withDefaults()
	if err != nil || cfg.CollectMaxFiles != DefaultCollectMaxFiles || cfg.CollectMaxBytes != DefaultCollectMaxBytes {
		t.Errorf("defaults: %+v, %v", cfg, err)
	}
}
