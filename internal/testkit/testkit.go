package testkit

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/agentos/agentos/engine"
	"github.com/agentos/agentos/engine/wire"
)

// Home makes a short AGENTOS_HOME, removed when the test ends (a Unix
// socket path must fit in 108 bytes, and t.TempDir() paths can be longer).
func Home(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "ag")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// RunEngine runs the engine of home in this process until the test ends,
// or until the returned func (which waits for its shutdown) is called.
func RunEngine(t testing.TB, home string) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- engine.Run(ctx, engine.Config{Home: home, Version: "test", LogLevel: slog.LevelWarn})
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("engine: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	wctx, wcancel := context.WithTimeout(ctx, 20*time.Second)
	defer wcancel()
	if err := wire.WaitReady(wctx, wire.PathsFor(home).Socket); err != nil {
		t.Fatalf("engine did not start: %v", err)
	}
	return stop
}

// AddSkill writes a skill to home's skills folder: a SKILL.md allowing
// allowed, and tools as its tools.py.
func AddSkill(t testing.TB, home, id, allowed, tools string) {
	t.Helper()
	dir := filepath.Join(home, "skills", id)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	md := fmt.Sprintf("---\nname: %s\ndescription: Test skill %s.\nallowed-tools: %s\n---\n", id, id, allowed)
	if err := os.WriteFile(filepath.Join(dir, "SKILL.md"), []byte(md), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tools.py"), []byte(tools), 0o600); err != nil {
		t.Fatal(err)
	}
}

// WaitPIDs waits until pidfile lists at least n pids and returns them.
func WaitPIDs(t testing.TB, pidfile string, n int) []int {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		b, _ := os.ReadFile(pidfile)
		var pids []int
		for _, f := range strings.Fields(string(b)) {
			p, _ := strconv.Atoi(f)
			pids = append(pids, p)
		}
		if len(pids) >= n {
			return pids
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d processes started: pids %v", len(pids), n, pids)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// WaitGone fails the test (killing the process) if pid is still alive after
// a few seconds; what names what it should not have outlived.
func WaitGone(t testing.TB, pid int, what string) {
	t.Helper()
	for i := 0; i < 250; i++ {
		if syscall.Kill(pid, 0) != nil || IsZombie(pid) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	syscall.Kill(pid, syscall.SIGKILL)
	t.Fatalf("process %d outlived %s", pid, what)
}

// IsZombie reports whether pid has exited and awaits its reaper (or is gone).
func IsZombie(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	fields := strings.Fields(string(b))
	return len(fields) > 2 && fields[2] == "Z"
}
