package confkit

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// Keys are reported under the section; other sections' errors are kept, flattened, and
// nothing is reported for good values.
func TestProblems(t *testing.T) {
	p := NewProblems("executor.x")
	p.Check("ok", true, "never")
	p.Check("image", false, "required")
	p.AtLeast("n", 0, 1)
	p.PositiveDuration("grace", -time.Second)
	p.OneOf("mode", "ftp", []string{"ssh", "local"})
	p.NoSpace("q", "a b")
	p.HostPort("addr", "nohost")
	other := NewProblems("")
	other.Add("y.z", "bad %d", 1)
	p.Append(nil, other.Err())
	err := p.Err()
	var got []string
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var fe *FieldError
		if !errors.As(e, &fe) {
			t.Fatalf("%v is not a *FieldError", e)
		}
		got = append(got, fe.Error())
	}
	want := []string{
		"executor.x.image: required",
		"executor.x.n: 0 is too small: must be 1 or more",
		"executor.x.grace: -1s must be more than 0, like 10s",
		`executor.x.mode: "ftp" is not one of ssh, local`,
		`executor.x.q: "a b" must not contain white space`,
		`executor.x.addr: "nohost" is not host:port, like 127.0.0.1:8080`,
		"y.z: bad 1",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if NewProblems("s").Err() != nil {
		t.Error("no problems: Err() != nil")
	}
}

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{2 * time.Minute: "2m", time.Hour: "1h", 90 * time.Second: "1m30s", 20 * time.Millisecond: "20ms"} {
		if got := FormatDuration(d); got != want {
			t.Errorf("FormatDuration(%s) = %q, want %q", d, got, want)
		}
	}
}
