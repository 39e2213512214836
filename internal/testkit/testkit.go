package testkit

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
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

// SkillDir is where AddSkill writes skill id of home: the folder the engine
// hands the skill's worker (its command line says --skill SkillDir), so also
// a marker for Marked that finds a skill's workers.
func SkillDir(home, id string) string {
	return filepath.Join(home, "skills", id)
}

// Marked lists the live processes (host pids; zombies, which have no
// command line, are left out) one of whose arguments is exactly marker.
// Pids a skill reports are no use to a test: in the sandbox's PID namespace
// they are not the host's, and the sandbox keeps a skill from writing them
// anywhere the test could read. A command line is visible from the host.
func Marked(marker string) []int {
	if marker == "" {
		panic("testkit.Marked: empty marker")
	}
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		if slices.Contains(strings.Split(string(b), "\x00"), marker) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// WaitMarked waits until at least n live processes carry marker (see
// Marked) and returns them.
func WaitMarked(t testing.TB, marker string, n int) []int {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		pids := Marked(marker)
		if len(pids) >= n {
			return pids
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d processes marked %q started: pids %v", len(pids), n, marker, pids)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// WaitNoneMarked fails the test (killing them) if processes carrying marker
// (see Marked) are still alive after several seconds; what names what they
// should not have outlived.
func WaitNoneMarked(t testing.TB, marker, what string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		pids := Marked(marker)
		if len(pids) == 0 {
			return
		}
		if time.Now().After(deadline) {
			for _, pid := range pids {
				syscall.Kill(pid, syscall.SIGKILL)
			}
			t.Fatalf("processes %v marked %q outlived %s", pids, marker, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// sandboxHelperArg is the argument the sandbox's helper (init of a call's
// namespaces, the worker's parent) runs with: broker/sandbox's childArg.
const sandboxHelperArg = "__agentos-sandbox"

// SandboxHelpers lists the parents of pids that are the sandbox's helper: a
// spawned call's own process, which carries no marker, to wait on with
// WaitGone. A forked call's parent is its template, which outlives the call;
// without the sandbox there are none.
func SandboxHelpers(pids []int) []int { return sandboxHelpers(pids, 1) }

// SandboxAncestors lists the sandbox helpers among the ancestors of pids, up
// to four levels: a spawned call's helper, and the helper that runs a forked
// call's template (its grandparent). Both die with the engine.
func SandboxAncestors(pids []int) []int { return sandboxHelpers(pids, 4) }

func sandboxHelpers(pids []int, levels int) []int {
	var helpers []int
	for _, pid := range pids {
		for p, depth := parentPID(pid), 0; p > 1 && depth < levels; p, depth = parentPID(p), depth+1 {
			args, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", p))
			if err == nil && slices.Contains(strings.Split(string(args), "\x00"), sandboxHelperArg) {
				if !slices.Contains(helpers, p) {
					helpers = append(helpers, p)
				}
				break
			}
		}
	}
	return helpers
}

// parentPID is pid's parent as /proc says, 0 when unknown.
func parentPID(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// pid (comm) state ppid ...: comm may hold spaces, so split after it.
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(fields) < 2 {
		return 0
	}
	ppid, _ := strconv.Atoi(fields[1])
	return ppid
}

// WaitPIDs waits until pidfile lists at least n pids and returns them: for
// skills run without the sandbox only (see Marked).
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
