package broker

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestDeadlineTerminatesTheWorkerAsTimeout(t *testing.T) {
	t.Parallel()
	r := newTestRunner(t, nil)
	c := fixtureCall(t, "hang", nil)
	c.Timeout = 300 * time.Millisecond
	start := time.Now()
	_, err := r.Run(context.Background(), c, nil)
	re := runError(t, err, KindTimeout)
	if !strings.Contains(re.Message, "timed out after 300ms") {
		t.Errorf("message = %q", re.Message)
	}
	// A lower bound only: the deadline is not cut short. (How soon after it
	// Python dies of SIGTERM depends on the machine's load.)
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Errorf("took %s, less than the timeout", d)
	}
}

func TestWorkerIgnoringSIGTERMIsKilledAfterGrace(t *testing.T) {
	t.Parallel()
	r := newTestRunner(t, nil)
	c := fixtureCall(t, "hang_ignore_term", nil)
	// Long enough for the worker to start and install its handler even on
	// a loaded machine: a SIGTERM before that would simply kill it.
	c.Timeout = 3 * time.Second
	start := time.Now()
	_, err := r.Run(context.Background(), c, nil)
	re := runError(t, err, KindTimeout)
	if d := time.Since(start); d < c.Timeout+r.limits.Grace {
		t.Errorf("took %s, want at least timeout + grace", d)
	}
	if !strings.Contains(re.Stderr, "ignoring SIGTERM") {
		t.Errorf("stderr tail = %q", re.Stderr)
	}
}

func TestCancelledContextStopsTheWorkerAsCancelled(t *testing.T) {
	t.Parallel()
	r := newTestRunner(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h := &recorder{onProg: cancel} // the worker is surely running once it reports progress
	_, err := r.Run(ctx, fixtureCall(t, "progress_hang", nil), h)
	runError(t, err, KindCancelled)
}

func TestContextDeadlineIsATimeout(t *testing.T) {
	t.Parallel()
	r := newTestRunner(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := r.Run(ctx, fixtureCall(t, "hang", nil), nil)
	runError(t, err, KindTimeout)
}

func TestNoProcessOutlivesTheCall(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		params map[string]any
		kind   string // "" for success
	}{
		{"after a result", map[string]any{}, ""},
		{"after an exit that leaves stdout held open", map[string]any{"exit": true}, KindSkillFailed},
	}
	r := newTestRunner(t, nil)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			pidfile := filepath.Join(t.TempDir(), "grandchild.pid")
			tc.params["pidfile"] = pidfile
			_, err := r.Run(context.Background(), fixtureCall(t, "grandchild", tc.params), nil)
			if tc.kind == "" && err != nil {
				t.Fatal(err)
			}
			if tc.kind != "" {
				runError(t, err, tc.kind)
			}
			b, err := os.ReadFile(pidfile)
			if err != nil {
				t.Fatal(err)
			}
			pid, err := strconv.Atoi(string(b))
			if err != nil {
				t.Fatal(err)
			}
			if !eventually(2*time.Second, func() bool { return processGone(pid) }) {
				t.Errorf("grandchild %d still alive after the call", pid)
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		})
	}
}
