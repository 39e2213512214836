package testkit

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/agentos/agentos/engine/wire"
)

// The engine RunEngine starts answers on home's socket, sees a skill
// AddSkill wrote, and stops when asked.
func TestRunEngineWithASkill(t *testing.T) {
	home := Home(t)
	if len(wire.PathsFor(home).Socket) >= 108 {
		t.Fatalf("socket path too long for a Unix socket: %s", wire.PathsFor(home).Socket)
	}
	AddSkill(t, home, "counter", "", CountTools)
	stop := RunEngine(t, home)
	c, err := wire.DialHome(t.Context(), home, wire.ClientOptions{Name: "test"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var caps struct {
		Capabilities []struct{ Capability string } `json:"capabilities"`
	}
	if err := c.Call(t.Context(), "capabilities.list", nil, &caps); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, cp := range caps.Capabilities {
		found = found || cp.Capability == "count"
	}
	if !found {
		t.Fatalf("the skill's capability is not listed: %+v", caps)
	}
	stop()
	if _, err := os.Stat(wire.PathsFor(home).Socket); err == nil {
		t.Fatal("the socket is still there after stop")
	}
}

// WaitPIDs reads the pids a process wrote; WaitGone returns once it ended.
func TestWaitPIDsAndWaitGone(t *testing.T) {
	pidfile := filepath.Join(t.TempDir(), "pids")
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pidfile, []byte(strconv.Itoa(cmd.Process.Pid)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	pids := WaitPIDs(t, pidfile, 1)
	if len(pids) != 1 || pids[0] != cmd.Process.Pid || IsZombie(pids[0]) {
		t.Fatalf("pids %v for a running %d", pids, cmd.Process.Pid)
	}
	cmd.Process.Kill()
	WaitGone(t, pids[0], "its kill") // a zombie until reaped: counts as gone
	cmd.Wait()
}

// Marked finds a process by an argument of its command line, not by part of
// one; WaitNoneMarked returns once it ended; a parent that is not the
// sandbox's helper is not one of SandboxHelpers.
func TestMarkedFindsAProcessByItsCommandLine(t *testing.T) {
	marker := "testkit-marked-" + strconv.Itoa(os.Getpid())
	if got := Marked(marker); len(got) != 0 {
		t.Fatalf("marked before start: %v", got)
	}
	cmd := exec.Command("/usr/bin/python3", "-I", "-S", "-c", "import time; time.sleep(30)", marker)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer cmd.Process.Kill()
	pids := WaitMarked(t, marker, 1)
	if len(pids) != 1 || pids[0] != cmd.Process.Pid {
		t.Fatalf("marked %v for a running %d", pids, cmd.Process.Pid)
	}
	if got := Marked(marker[:len(marker)-1]); len(got) != 0 {
		t.Fatalf("a prefix of the marker matched %v", got)
	}
	if h := SandboxHelpers(pids); len(h) != 0 {
		t.Fatalf("the test binary taken for a sandbox helper: %v", h)
	}
	cmd.Process.Kill()
	WaitNoneMarked(t, marker, "its kill") // a zombie until reaped: no command line
}
