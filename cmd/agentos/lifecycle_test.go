package main

import (
	"net"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/agentos/agentos/engine/wire"
	"github.com/agentos/agentos/internal/testkit"

	"github.com/agentos/agentos/engine"
)

func TestSecondEngineOnSameHomeExits3NamingThePID(t *testing.T) {
	home := testkit.Home(t)
	d := startDaemon(t, home)
	r := agentos(t, home, "engine", "--no-bridge")
	if r.code != exitLocked {
		t.Fatalf("second engine exit code = %d, want %d; stderr: %s", r.code, exitLocked, r.stderr)
	}
	if want := "pid " + strconv.Itoa(d.cmd.Process.Pid); !strings.Contains(r.stderr, want) {
		t.Fatalf("message %q does not name %q", r.stderr, want)
	}
	// The first engine is untouched.
	call(t, d.client(t), "system.ping", nil, nil)
}

func TestStaleSocketFromKilledEngineDoesNotBlockANewOne(t *testing.T) {
	home := testkit.Home(t)
	d := startDaemon(t, home)
	d.kill()
	paths := wire.PathsFor(home)
	fi, err := os.Lstat(paths.Socket)
	if err != nil || fi.Mode()&os.ModeSocket == 0 {
		t.Fatalf("expected the killed engine to leave its socket behind: %v", err)
	}
	d2 := startDaemon(t, home)
	call(t, d2.client(t), "system.ping", nil, nil)
}

func TestEngineRefusesToRemoveANonSocketFileAtTheSocketPath(t *testing.T) {
	home := testkit.Home(t)
	paths := wire.PathsFor(home)
	if err := os.WriteFile(paths.Socket, []byte("precious"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := agentos(t, home, "engine", "--no-bridge", "--quiet")
	if r.code != exitError || !strings.Contains(r.stderr, "not a socket") {
		t.Fatalf("code %d stderr %q", r.code, r.stderr)
	}
	if b, _ := os.ReadFile(paths.Socket); string(b) != "precious" {
		t.Fatal("the file at the socket path was touched")
	}
}

func TestSIGTERMLeavesNoSocketOrPIDFile(t *testing.T) {
	home := testkit.Home(t)
	d := startDaemon(t, home)
	paths := wire.PathsFor(home)
	fi, err := os.Stat(paths.Socket)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Fatalf("socket mode %o, want 600", perm)
	}
	if engine.ReadPID(paths.PID) != d.cmd.Process.Pid {
		t.Fatal("pid file does not hold the engine's pid")
	}
	d.stop()
	for _, p := range []string{paths.Socket, paths.PID} {
		if _, err := os.Lstat(p); !os.IsNotExist(err) {
			t.Fatalf("%s still exists after stop", p)
		}
	}
	if b, _ := os.ReadFile(paths.Log); !strings.Contains(string(b), "engine stopped") {
		t.Fatalf("engine.log lacks the stop record:\n%s", b)
	}
}

func TestStartStatusStopThroughTheCLI(t *testing.T) {
	home := testkit.Home(t)
	if r := agentos(t, home, "status"); r.code != exitUnreachable {
		t.Fatalf("status with no engine: code %d, want %d (%s)", r.code, exitUnreachable, r.stderr)
	}
	r := agentos(t, home, "start")
	if r.code != 0 {
		t.Fatalf("start: %d %s", r.code, r.stderr)
	}
	t.Cleanup(func() { agentos(t, home, "stop") })
	if r := agentos(t, home, "start"); r.code != 0 || !strings.Contains(r.stdout, "already running") {
		t.Fatalf("second start: %d %q %q", r.code, r.stdout, r.stderr)
	}
	r = agentos(t, home, "status")
	if r.code != 0 || !strings.Contains(r.stdout, "running (pid") || !strings.Contains(r.stdout, "agentos.db") {
		t.Fatalf("status: %d %q %q", r.code, r.stdout, r.stderr)
	}
	r = agentos(t, home, "status", "--json")
	if r.code != 0 || !strings.Contains(r.stdout, `"db_path"`) {
		t.Fatalf("status --json: %q", r.stdout)
	}
	if r := agentos(t, home, "engine", "--no-bridge", "--quiet"); r.code != exitLocked {
		t.Fatalf("engine while a started one runs: code %d, want %d", r.code, exitLocked)
	}
	r = agentos(t, home, "stop")
	if r.code != 0 {
		t.Fatalf("stop: %d %s", r.code, r.stderr)
	}
	paths := wire.PathsFor(home)
	for _, p := range []string{paths.Socket, paths.PID} {
		if _, err := os.Lstat(p); !os.IsNotExist(err) {
			t.Fatalf("%s still exists after stop", p)
		}
	}
	if r := agentos(t, home, "stop"); r.code != exitUnreachable {
		t.Fatalf("stop with no engine: code %d", r.code)
	}
}

func TestSocketRefusesNothingFromTheSameUser(t *testing.T) {
	// The peer-credential check must admit the owner: a plain dial and a
	// line of JSON get an answer.
	home := testkit.Home(t)
	startDaemon(t, home)
	c, err := net.Dial("unix", wire.PathsFor(home).Socket)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte(`{"jsonrpc":"2.0","id":1,"method":"system.ping"}` + "\n")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 256)
	n, err := c.Read(buf)
	if err != nil || !strings.Contains(string(buf[:n]), `"pong":true`) {
		t.Fatalf("reply %q, err %v", buf[:n], err)
	}
}

func TestStartFailsWithTheReasonFromTheLog(t *testing.T) {
	home := testkit.Home(t)
	if err := os.WriteFile(wire.PathsFor(home).Socket, []byte("not mine"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := agentos(t, home, "start")
	if r.code != exitError || !strings.Contains(r.stderr, "not a socket") || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
		t.Fatalf("start with a file in the socket's place: code %d stderr %q", r.code, r.stderr)
	}
}
