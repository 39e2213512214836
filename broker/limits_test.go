package broker

import (
	"slices"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestZeroLimitsTakeTheDefaults(t *testing.T) {
	got := Limits{}.withDefaults()
	want := Limits{CPUSeconds: 60, MemoryBytes: 2 << 30, OpenFiles: 256, MaxOutput: 64 << 20, StderrTail: 8 << 10, Grace: 2 * time.Second, Processes: 256}
	if got != want {
		t.Errorf("defaults = %+v, want %+v", got, want)
	}
	set := Limits{CPUSeconds: 1, MemoryBytes: 2, OpenFiles: 3, MaxOutput: 4, StderrTail: 5, Grace: 6, Processes: 7}
	if got := set.withDefaults(); got != set {
		t.Errorf("set limits changed to %+v", got)
	}
}

func TestLimitsBecomeWorkerFlags(t *testing.T) {
	got := Limits{CPUSeconds: 5, MemoryBytes: 512 << 20, OpenFiles: 32}.workerArgs()
	want := []string{"--cpu-seconds", "5", "--memory-bytes", "536870912", "--open-files", "32"}
	if !slices.Equal(got, want) {
		t.Errorf("flags = %q, want %q", got, want)
	}
}

func TestCPUExhaustionIsTellingSIGXCPUOrASIGKILLAfterTheLimit(t *testing.T) {
	l := Limits{CPUSeconds: 2}
	cases := []struct {
		sig  unix.Signal
		used time.Duration
		want bool
	}{
		{unix.SIGXCPU, 0, true},
		{unix.SIGKILL, 2 * time.Second, true},
		{unix.SIGKILL, 100 * time.Millisecond, false}, // someone else's SIGKILL: the OOM killer, a user
		{unix.SIGSEGV, 5 * time.Second, false},
	}
	for _, tc := range cases {
		if got := l.cpuExhausted(tc.sig, tc.used); got != tc.want {
			t.Errorf("cpuExhausted(%s, %s) = %v, want %v", unix.SignalName(tc.sig), tc.used, got, tc.want)
		}
	}
}

func TestLimitBytesReadAsPeopleSetThem(t *testing.T) {
	for n, want := range map[int64]string{512 << 20: "512 MiB", 2 << 30: "2 GiB", 8 << 10: "8 KiB", 1000: "1000 bytes", 3<<20 + 1: "3145729 bytes"} {
		if got := formatLimitBytes(n); got != want {
			t.Errorf("formatLimitBytes(%d) = %q, want %q", n, got, want)
		}
	}
}
