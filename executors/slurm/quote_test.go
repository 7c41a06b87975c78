package slurm

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spe4hd/enclave/pkg/wes"
)

// hostile are words that would run commands, expand, split or end the command if any
// of them reached a shell unquoted.
var hostile = []string{
	"", " ", "plain", "a b", "semi;colon", "$(touch pwned)", "`touch pwned`", "${HOME}", "$HOME",
	"it's", `"double"`, `back\slash`, "new\nline", "tab\there", "*", "?", "[a]", "~", "~root",
	"a=b", "-n", "--flag=x", "&& touch pwned", "| touch pwned", "> pwned", "'", "''", `'\''`,
	"\u00e9t\u00e9 \u2603", "#comment", "!", "{a,b}", "%s", "\r", "\x01\x7f",
}

func TestQuoteTable(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", "''"},
		{"abc", "abc"},
		{"/usr/bin/env", "/usr/bin/env"},
		{"--chdir=/x", "'--chdir=/x'"},
		{"a b", "'a b'"},
		{"it's", `'it'\''s'`},
		{"$(x)", "'$(x)'"},
		{"~", "'~'"},
		{"a\nb", "'a\nb'"},
	} {
		if got := Quote(c.in); got != c.want {
			t.Errorf("Quote(%q) = %s, want %s", c.in, got, c.want)
		}
	}
}

// shEcho has /bin/sh read the quoted words back and print each, NUL-terminated.
func shEcho(t *testing.T, dir string, words []string) []string {
	t.Helper()
	cmd := exec.Command("/bin/sh", "-c", "printf '%s\\0' "+QuoteArgv(words))
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("sh: %v", err)
	}
	got := strings.Split(string(out), "\x00")
	return got[:len(got)-1]
}

func TestQuoteRoundTripsThroughSh(t *testing.T) {
	dir := t.TempDir()
	got := shEcho(t, dir, hostile)
	if strings.Join(got, "\x00") != strings.Join(hostile, "\x00") {
		t.Errorf("sh read back %q, want %q", got, hostile)
	}
	assertNoPwned(t, dir)
}

func FuzzQuote(f *testing.F) {
	for _, s := range hostile {
		f.Add(s)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, s string) {
		if strings.IndexByte(s, 0) >= 0 {
			t.Skip("SKIP: NUL cannot be in an argv")
		}
		got := shEcho(t, dir, []string{"x", s, "y"})
		if len(got) != 3 || got[1] != s {
			t.Fatalf("Quote(%q) = %s: sh read back %q", s, Quote(s), got)
		}
		assertNoPwned(t, dir)
	})
}

// TestBatchScriptIsLiteral runs a generated batch script with sh: argv and env values
// arrive byte for byte, and nothing in them is executed.
func TestBatchScriptIsLiteral(t *testing.T) {
	dir := t.TempDir()
	argv := append([]string{"/usr/bin/printf", "%s\\0"}, hostile...)
	job := &wes.Job{ID: "x", Argv: argv, Env: map[string]string{"EVIL": "$(touch pwned)';touch pwned;'\n`touch pwned`"}}
	script := batchScript(job)
	cmd := exec.Command("/bin/sh", "-s")
	cmd.Stdin, cmd.Dir = bytes.NewReader(script), dir
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("sh: %v\n%s", err, script)
	}
	if want := strings.Join(hostile, "\x00") + "\x00"; string(out) != want {
		t.Errorf("the job printed %q, want %q", out, want)
	}
	// The environment value is checked by a second script that prints it.
	job.Argv = []string{"/bin/sh", "-c", `printf %s "$EVIL"`}
	cmd = exec.Command("/bin/sh", "-s")
	cmd.Stdin, cmd.Dir = bytes.NewReader(batchScript(job)), dir
	if out, err = cmd.Output(); err != nil || string(out) != job.Env["EVIL"] {
		t.Errorf("EVIL = %q (%v), want %q", out, err, job.Env["EVIL"])
	}
	assertNoPwned(t, dir)
}

func assertNoPwned(t *testing.T, dir string) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(dir, "pwned")); err == nil {
		t.Fatal("a quoted word was executed: the file pwned exists")
	}
}
