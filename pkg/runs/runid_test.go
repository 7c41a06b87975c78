package runs

import (
	"testing"

	"github.com/google/uuid"
)

// uuidRoundTrip is the definition validRunID is checked against: what uuid.Parse reads
// and String writes back unchanged.
func uuidRoundTrip(id string) bool {
	u, err := uuid.Parse(id)
	return err == nil && u.String() == id
}

func TestValidRunID(t *testing.T) {
	for _, id := range []string{
		uuid.NewString(), "0190a5b2-0000-7000-8000-00000000000a", "",
		"0190A5B2-0000-7000-8000-000000000001",          // upper case: uuid reads it, not canonical
		"{0190a5b2-0000-7000-8000-000000000001}",        // braces
		"urn:uuid:0190a5b2-0000-7000-8000-000000000001", // URN form
		"0190a5b200007000800000000000000a",              // no dashes
		"0190a5b2-0000-7000-8000-00000000000g", "0190a5b2x0000-7000-8000-000000000001",
		"../../../../etc/passwd-000000000000000000",
	} {
		if got, want := validRunID(id), uuidRoundTrip(id); got != want {
			t.Errorf("validRunID(%q) = %t, want %t", id, got, want)
		}
	}
}

func FuzzValidRunID(f *testing.F) {
	f.Add(uuid.NewString())
	f.Add("0190A5B2-0000-7000-8000-000000000001")
	f.Add("{0190a5b2-0000-7000-8000-000000000001}")
	f.Fuzz(func(t *testing.T, id string) {
		if got, want := validRunID(id), uuidRoundTrip(id); got != want {
			t.Errorf("validRunID(%q) = %t, want %t", id, got, want)
		}
	})
}
