package auth

import (
	"context"
	"testing"
)

// KeysLoaded holds once New has fetched a key set with a verifying key, and not for a
// key set that was never fetched.
func TestKeysLoaded(t *testing.T) {
	p := newTestProvider(t)
	p.publish(rsaKey(t, "k"))
	a, err := New(context.Background(), testConfig(p), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !a.KeysLoaded() {
		t.Error("KeysLoaded after New = false")
	}
	if (&Authenticator{keys: &keySet{}}).KeysLoaded() {
		t.Error("KeysLoaded of a key set never fetched = true")
	}
}
