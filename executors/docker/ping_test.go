package docker_test

import (
	"context"
	"testing"
)

// Ping answers nil while the test engine serves.
func TestPing(t *testing.T) {
	ex := newExecutor(t, nil)
	if err := ex.Ping(context.Background()); err != nil {
		t.Fatalf("Ping of the test engine = %v", err)
	}
}
