package mcpproxy

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/agentos/agentos/engine"
)

// Helpers for tests against a real engine: engine.Run in this process, on a
// real socket and SQLite file in a temporary AGENTOS_HOME, with real skills
// (Python processes) under it.

// testHome makes a short AGENTOS_HOME (a Unix socket path must fit in 108
// bytes, and t.TempDir() paths can be longer).
func testHome(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "agm")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// runEngine runs the engine of home until the test ends, or until the
// returned func (which waits for its shutdown) is called.
func runEngine(t *testing.T, home string) (stop func()) {
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
	if err := engine.WaitReady(wctx, engine.PathsFor(home).Socket); err != nil {
		t.Fatalf("engine did not start: %v", err)
	}
	return stop
}

// addSkill writes a skill whose tools.py is tools.
func addSkill(t *testing.T, home, id, allowed, tools string) {
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

// countTools reports progress at each step.
const countTools = `import time
from agentos import provides, progress

@provides("count")
def count(n: int) -> dict:
    for i in range(n):
        progress(i + 1, n, "step %d" % (i + 1))
        time.sleep(0.15)
    return {"counted": n}
`

// hangTools never returns; it writes its pid and its child's to pidfile.
const hangTools = `import os, subprocess, time
from agentos import provides, progress

@provides("hang")
def hang(pidfile: str) -> dict:
    child = subprocess.Popen(["sleep", "300"])
    with open(pidfile, "a") as f:
        f.write("%d\n%d\n" % (os.getpid(), child.pid))
    progress(1, 2, "started")
    time.sleep(300)
    return {}
`

// serveHTTP runs the proxy of home over Streamable HTTP on a loopback port
// until the test ends and returns its URL.
func serveHTTP(t *testing.T, home string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	p, err := New(ctx, Options{Home: home, Version: "test", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.ServeHTTP(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("ServeHTTP: %v", err)
		}
		p.Close()
	})
	return "http://" + ln.Addr().String() + HTTPPath
}

// waitPIDs waits until pidfile lists at least n pids and returns them.
func waitPIDs(t *testing.T, pidfile string, n int) []int {
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

// waitGone fails the test (killing the process) if pid is still alive after
// a few seconds; what names what it should not have outlived.
func waitGone(t *testing.T, pid int, what string) {
	t.Helper()
	for i := 0; i < 250; i++ {
		if syscall.Kill(pid, 0) != nil || isZombie(pid) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	syscall.Kill(pid, syscall.SIGKILL)
	t.Fatalf("process %d outlived %s", pid, what)
}

func isZombie(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	fields := strings.Fields(string(b))
	return len(fields) > 2 && fields[2] == "Z"
}
