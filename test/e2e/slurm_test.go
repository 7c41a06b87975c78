package e2e

import (
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/spe4hd/enclave/api"
	"github.com/spe4hd/enclave/internal/testsupport/testutil"
	"github.com/spe4hd/enclave/pkg/wesclient"
)

// slurmCluster is the single-node SLURM and loopback sshd of scripts/slurm.sh (started by
// scripts/test-services.sh): two logins, each with its own key.
type slurmCluster struct {
	addr, user, key, knownHosts, workRoot, user2, key2 string
}

func slurmFromEnv(t *testing.T) slurmCluster {
	t.Helper()
	c := slurmCluster{
		addr: os.Getenv("ENCLAVE_TEST_SLURM_SSH_ADDR"), user: os.Getenv("ENCLAVE_TEST_SLURM_SSH_USER"),
		key: os.Getenv("ENCLAVE_TEST_SLURM_SSH_KEY"), knownHosts: os.Getenv("ENCLAVE_TEST_SLURM_SSH_KNOWN_HOSTS"),
		workRoot: os.Getenv("ENCLAVE_TEST_SLURM_WORKDIR"),
		user2:    os.Getenv("ENCLAVE_TEST_SLURM_SSH_USER2"), key2: os.Getenv("ENCLAVE_TEST_SLURM_SSH_KEY2"),
	}
	if c.addr == "" || c.user == "" || c.key == "" || c.knownHosts == "" || c.workRoot == "" || c.user2 == "" || c.key2 == "" {
		const why = "no SLURM cluster: run under scripts/test-services.sh (needs scripts/slurm.sh install and root)"
		if os.Getenv("CI") != "" {
			t.Fatal(why + "; CI needs it")
		}
		t.Skip("SKIP: " + why)
	}
	return c
}

// whoamiSnakefile writes the cluster login its rule ran as.
const whoamiSnakefile = `rule all:
    input: "whoami.txt"

rule who:
    output: "whoami.txt"
    shell: "id -un > {output}"
`

// The real enclave binary, as a server and a separate worker on Redis, runs workflows on
// SLURM over SSH with the sftp workspace: the worker's data dir is not visible to the
// cluster, each run is copied to remote_root and back, and the anonymous owner's jobs
// run as the second test login (executor.slurm.logins, with its own key). A Snakemake and
// a CWL example complete with their outputs, a failing workflow ends EXECUTOR_ERROR with
// its log collected, and a partition outside the allow-list is refused at POST /runs.
func TestSlurmExecutorEndToEnd(t *testing.T) {
	begin(t, "snakemake", "cwltool")
	c := slurmFromEnv(t)
	remoteBase := filepath.Join(c.workRoot, testutil.UniqueName("e2e-"))
	if err := os.Mkdir(remoteBase, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(remoteBase, 0o1777); err != nil { // a scratch every login may use
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(remoteBase) })
	d := redisDeployment(t,
		"ENCLAVE_WORKER_IN_PROCESS=false",
		"ENCLAVE_EXECUTOR_DEFAULT=slurm",
		"ENCLAVE_EXECUTOR_SLURM_ENABLED=true",
		"ENCLAVE_EXECUTOR_SLURM_MODE=ssh",
		"ENCLAVE_EXECUTOR_SLURM_SSH_ADDR="+c.addr,
		"ENCLAVE_EXECUTOR_SLURM_SSH_USER="+c.user,
		"ENCLAVE_EXECUTOR_SLURM_SSH_KEY_FILE="+c.key,
		"ENCLAVE_EXECUTOR_SLURM_SSH_KNOWN_HOSTS_FILE="+c.knownHosts,
		"ENCLAVE_EXECUTOR_SLURM_ALLOWED_PARTITIONS=debug",
		"ENCLAVE_EXECUTOR_SLURM_WORKSPACE=sftp",
		"ENCLAVE_EXECUTOR_SLURM_REMOTE_ROOT="+remoteBase+"/{login}",
		"ENCLAVE_EXECUTOR_SLURM_LOGINS=anonymous="+c.user2,
		"ENCLAVE_EXECUTOR_SLURM_LOGIN_KEYS="+c.user2+"="+c.key2,
	)
	d.startServer()
	d.startWorker()

	// Refused before anything is stored: 400 naming the parameter.
	bad := rawForm(t, smkRequest(whoamiSnakefile, nil))
	bad.fields["workflow_engine_parameters"] = `{"partition":"gpu"}`
	code, body, err := d.api.postForm(bad)
	if err != nil {
		t.Fatal(err)
	}
	checkError(t, "a partition outside the allow-list", code, body, http.StatusBadRequest, "partition")
	if es, _ := os.ReadDir(filepath.Join(d.dataDir, "runs")); len(es) != 0 {
		t.Errorf("the refused run left %d run directories", len(es))
	}

	smk := exampleRequest(t, "snakemake/hello", "Snakefile", "SMK", "1.0")
	smk.WorkflowEngineParameters = map[string]string{"partition": "debug", "time-limit": "10m"}
	who := smkRequest(whoamiSnakefile, nil)
	cwl := exampleRequest(t, "cwl/hello", "hello.cwl", "CWL", "v1.2")
	failing := smkRequest(failingSnakefile, nil)
	ids := map[string]string{}
	for name, r := range map[string]wesclient.RunRequest{"smk": smk, "who": who, "cwl": cwl, "failing": failing} {
		ids[name] = d.api.mustSubmit(r)
	}
	start := time.Now()
	took := waitRuns(d, ids, map[string]api.State{"smk": api.StateCOMPLETE, "who": api.StateCOMPLETE,
		"cwl": api.StateCOMPLETE, "failing": api.StateEXECUTORERROR}, start)
	t.Logf("SLURM over SSH with the sftp workspace, 4 runs at once: reached their end after %v", took)

	// The Snakemake example: outputs, tasks and logs came back from the cluster.
	checkHelloSnakemake(t, d, ids["smk"])
	checkNoZonePaths(t, d, ids["smk"])

	// The run owner (anonymous) is mapped to the second login: its jobs ran as that user.
	if b, err := os.ReadFile(d.workPath(ids["who"], "whoami.txt")); err != nil || string(b) != c.user2+"\n" {
		t.Errorf("whoami.txt = %q, %v; want the mapped login %s", b, err, c.user2)
	}

	// The CWL example.
	crl := d.api.runLog(ids["cwl"])
	for name, want := range map[string]string{"greeting": "Hello, Ada!\n", "shout": "HELLO, ADA!\n"} {
		out, _ := crl.Outputs[name].(map[string]any)
		rel, _ := out["path"].(string)
		if b, err := os.ReadFile(d.workPath(ids["cwl"], filepath.FromSlash(rel))); rel == "" || err != nil || string(b) != want {
			t.Errorf("cwl output %s (%q): %q, %v; want %q", name, rel, b, err, want)
		}
	}

	// The failing workflow: its exit code and its stderr, collected from the cluster.
	checkFailedRun(t, d, ids["failing"])

	// Every run's copy on the cluster is removed once the run is finalized.
	eventually(t, 30*time.Second, "the runs' files are removed from the cluster", func() (bool, string) {
		for name, id := range ids {
			p := filepath.Join(remoteBase, c.user2, "runs", id)
			if _, err := os.Lstat(p); !errors.Is(err, fs.ErrNotExist) {
				return false, name + " still has its run dir on the cluster"
			}
		}
		return true, ""
	})
}
