package broker

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// Not parallel: it counts the whole test binary's goroutines and descriptors.
func TestManyRunsLeakNoGoroutinesFilesOrCallDirs(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp) // call dirs land here, so leftovers are countable
	r := newTestRunner(t, nil)
	h := &recorder{serve: func(context.Context, Op) (json.RawMessage, error) { return json.RawMessage(`1`), nil }}
	kinds := []struct {
		fn      string
		timeout time.Duration
	}{
		{"echo", 0}, {"op", 0}, {"progress_log", 0}, {"garbage", 0}, {"exit3", 0},
		{"report_error", 0}, {"grandchild", 0}, {"hang", 50 * time.Millisecond},
	}
	run := func(i int) {
		k := kinds[i%len(kinds)]
		params := map[string]any{"kind": "invalid", "pidfile": filepath.Join(t.TempDir(), "pid")}
		c := fixtureCall(t, k.fn, params)
		if k.timeout > 0 {
			c.Timeout = k.timeout
		}
		_, _ = r.Run(context.Background(), c, h)
	}
	run(0) // warm up whatever the runtime starts lazily
	runtime.GC()
	goroutines, fds := runtime.NumGoroutine(), openFDs(t)

	for i := range 40 {
		run(i)
	}

	if !eventually(2*time.Second, func() bool { return runtime.NumGoroutine() <= goroutines }) {
		buf := make([]byte, 1<<16)
		t.Errorf("goroutines: %d before, %d after\n%s", goroutines, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
	}
	if got := openFDs(t); got > fds {
		t.Errorf("open fds: %d before, %d after", fds, got)
	}
	entries, err := os.ReadDir(tmp)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Errorf("left behind in TMPDIR: %s", e.Name())
	}
	if r.Running() != 0 {
		t.Errorf("Running() = %d", r.Running())
	}
}

func openFDs(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd")
	}
	return len(entries)
}
