package main

import "testing"

func TestHolderPID(t *testing.T) {
	if pid, err := holderPID("vm/4242/0a1b2c3d"); err != nil || pid != 4242 {
		t.Errorf("holderPID = %d, %v; want 4242", pid, err)
	}
	for _, bad := range []string{"", "vm", "vm/x/1", "a/1/2/3"} {
		if _, err := holderPID(bad); err == nil {
			t.Errorf("holderPID(%q) took it", bad)
		}
	}
}
