package local

import (
	"os"
	"testing"
)

func TestParseProcStat(t *testing.T) {
	// fields 7-21, then 22 (starttime), then more
	tail := " 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 424242 23 24\n"
	for _, c := range []struct {
		name, in string
		want     procStat
		bad      bool
	}{
		{"plain", "123 (sh) S 1 77 77" + tail, procStat{State: 'S', PGID: 77, StartTicks: 424242}, false},
		{"comm with ') ' inside", "123 (a) Z 9 (b) R 1 88 88" + tail, procStat{State: 'R', PGID: 88, StartTicks: 424242}, false},
		{"truncated", "123 (sh) S 1 77", procStat{}, true},
		{"no parenthesis", "garbage", procStat{}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := parseProcStat([]byte(c.in))
			if (err != nil) != c.bad || got != c.want {
				t.Fatalf("parseProcStat = %+v, %v; want %+v (error %v)", got, err, c.want, c.bad)
			}
		})
	}
	self, err := readProcStat(os.Getpid())
	if err != nil || !alive(os.Getpid(), self.StartTicks) || alive(os.Getpid(), self.StartTicks+1) {
		t.Errorf("alive(self) with the right and a wrong start time: %+v, %v", self, err)
	}
}
