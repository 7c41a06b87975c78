package slurm

import (
	"context"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/spe4hd/enclave/pkg/wes"
)

// TestPerUserLogins: the jobs of two owners run as two cluster logins (two uids), each
// with its own key and its own remote root ({login}); status, cancel and collect use the
// login the handle records; an owner without a login is refused.
func TestPerUserLogins(t *testing.T) {
	c := testCluster(t)
	if c.user2 == "" || c.key2 == "" {
		const why = "no second SLURM test user (ENCLAVE_TEST_SLURM_SSH_USER2/KEY2 from scripts/slurm.sh)"
		if os.Getenv("CI") == "true" {
			t.Fatal(why + "; CI needs it")
		}
		t.Skip("SKIP: " + why)
	}
	cfg, local, remoteBase := c.sftpConfig(t)
	cfg.Logins = map[string]Login{"alice": {User: c.user}, "bob@example.org": {User: c.user2, KeyFile: c.key2}}
	ex := newExecutor(t, cfg)
	ctx := context.Background()

	owners := []struct{ subject, login string }{{"alice", c.user}, {"bob@example.org", c.user2}}
	var hs []wes.Handle
	var jobs []*wes.Job
	for _, o := range owners {
		job := runJob(t, local, "login-"+randHex(t), "id -un; id -u", nil)
		job.Owner = o.subject
		h, err := ex.Submit(ctx, job)
		if err != nil {
			t.Fatalf("Submit for %s: %v", o.subject, err)
		}
		if d, _ := decodeHandle(h); d.Login != o.login {
			t.Errorf("handle of %s records login %q, want %q", o.subject, d.Login, o.login)
		}
		hs, jobs = append(hs, h), append(jobs, job)
	}
	fresh := newExecutor(t, cfg) // a restarted worker: everything from the handles
	deadline := time.Now().Add(60 * time.Second)
	for {
		sts, err := fresh.StatusBatch(ctx, hs)
		if err != nil {
			t.Fatal(err)
		}
		if sts[0].State.Ended() && sts[1].State.Ended() {
			if sts[0].State != wes.JobSucceeded || sts[1].State != wes.JobSucceeded {
				t.Fatalf("statuses %+v", sts)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("jobs not ended: %+v", sts)
		}
		time.Sleep(100 * time.Millisecond)
	}
	uids := map[string]bool{}
	for i, o := range owners {
		if err := fresh.Collect(ctx, hs[i]); err != nil {
			t.Fatalf("Collect for %s: %v", o.subject, err)
		}
		u, err := user.Lookup(o.login)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := readFile(t, jobs[i].Stdout), o.login+"\n"+u.Uid+"\n"; got != want {
			t.Errorf("job of %s printed %q, want %q", o.subject, got, want)
		}
		uids[u.Uid] = true
		// Each login's runs live under its own remote root, owned by it.
		fi, err := os.Stat(filepath.Join(remoteBase, o.login, "runs", jobs[i].ID))
		if err != nil {
			t.Errorf("remote run dir of %s: %v", o.subject, err)
		} else if owner := fileUID(fi); owner != u.Uid {
			t.Errorf("remote run dir of %s is owned by uid %s, want %s", o.subject, owner, u.Uid)
		}
	}
	if len(uids) != 2 {
		t.Errorf("the two owners' jobs ran as the same uid: %v", uids)
	}

	// Cancel goes through the owner's login: scancel as another user would be refused.
	job := runJob(t, local, "login-cancel-"+randHex(t), "sleep 300", nil)
	job.Owner = "bob@example.org"
	h, err := ex.Submit(ctx, job)
	if err != nil {
		t.Fatal(err)
	}
	if err := fresh.Cancel(ctx, h); err != nil {
		t.Fatalf("Cancel: %v", err)
	}
	if st := waitEnded(t, fresh, h); st.State != wes.JobCanceled {
		t.Errorf("after Cancel: %+v", st)
	}

	stranger := runJob(t, local, "login-none-"+randHex(t), "exit 0", nil)
	stranger.Owner = "carol"
	if _, err := ex.Submit(ctx, stranger); !wes.IsCode(err, wes.EINVALID) || !strings.Contains(wes.ErrorMessage(err), "no login") {
		t.Errorf("Submit for an owner without a login = %v; want %s", err, wes.EINVALID)
	}
}

// fileUID is the owner of a file, as a decimal uid ("" when unknown).
func fileUID(fi os.FileInfo) string {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return strconv.FormatUint(uint64(st.Uid), 10)
	}
	return ""
}
