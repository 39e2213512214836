package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/agentos/agentos/engine/wire"
)

// binPath is the agentos binary built once for all end-to-end tests.
var binPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "agentos-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binPath = filepath.Join(dir, "agentos")
	// AGENTOS_TEST_RACE=1 builds the binary under test with the race
	// detector, so the end-to-end tests also check the daemon for races.
	args := []string{"build", "-o", binPath}
	if os.Getenv("AGENTOS_TEST_RACE") != "" {
		args = append(args, "-race")
	}
	build := exec.Command("go", append(args, ".")...)
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build agentos:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// result of one CLI run.
type result struct {
	stdout, stderr string
	code           int
}

// agentos runs the built binary with AGENTOS_HOME=home.
func agentos(t *testing.T, home string, args ...string) result {
	t.Helper()
	return agentosStdin(t, home, "", args...)
}

func agentosStdin(t *testing.T, home, stdin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binPath, args...)
	cmd.Env = append(os.Environ(), "AGENTOS_HOME="+home)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var xe *exec.ExitError
	if errors.As(err, &xe) {
		code = xe.ExitCode()
	} else if err != nil {
		t.Fatalf("run agentos %v: %v", args, err)
	}
	return result{out.String(), errb.String(), code}
}

// daemon is an `agentos engine` process under test.
type daemon struct {
	t    *testing.T
	home string
	cmd  *exec.Cmd
	done chan struct{} // closed once the process has exited
	err  error         // its exit status, valid after done
	logs bytes.Buffer
}

// startDaemon runs `agentos engine` in the foreground and waits until its
// socket answers.
func startDaemon(t *testing.T, home string) *daemon {
	t.Helper()
	return startDaemonArgs(t, home, "--no-bridge")
}

// startDaemonBridge starts the engine with its bridge on a free loopback
// port and returns the bridge's URL (as agentos status reports it).
func startDaemonBridge(t *testing.T, home string) (*daemon, string) {
	t.Helper()
	d := startDaemonArgs(t, home, "--bridge-addr", "127.0.0.1:0")
	var st wire.Status
	call(t, d.client(t), "system.status", nil, &st)
	if !strings.HasPrefix(st.Bridge, "http://127.0.0.1:") {
		t.Fatalf("status names no bridge: %+v\n%s", st, d.logs.String())
	}
	return d, st.Bridge
}

func startDaemonArgs(t *testing.T, home string, args ...string) *daemon {
	t.Helper()
	d := &daemon{t: t, home: home, done: make(chan struct{})}
	d.cmd = exec.Command(binPath, append([]string{"engine"}, args...)...)
	d.cmd.Env = append(os.Environ(), "AGENTOS_HOME="+home)
	d.cmd.Stderr = &d.logs
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.err = d.cmd.Wait(); close(d.done) }()
	t.Cleanup(func() { d.kill() })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ready := make(chan error, 1)
	go func() { ready <- wire.WaitReady(ctx, wire.PathsFor(home).Socket) }()
	select {
	case err := <-ready:
		if err != nil {
			t.Fatalf("engine did not come up: %v\n%s", err, d.logs.String())
		}
	case <-d.done:
		t.Fatalf("engine exited at start: %v\n%s", d.err, d.logs.String())
	}
	return d
}

// stop sends SIGTERM and waits for a clean exit.
func (d *daemon) stop() {
	d.t.Helper()
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
		if d.err != nil {
			d.t.Fatalf("engine exit: %v\n%s", d.err, d.logs.String())
		}
	case <-time.After(30 * time.Second):
		d.t.Fatalf("engine did not stop\n%s", d.logs.String())
	}
}

// kill sends SIGKILL, as a crash would, and reaps the process.
func (d *daemon) kill() {
	select {
	case <-d.done:
		return
	default:
	}
	_ = d.cmd.Process.Kill()
	select {
	case <-d.done:
	case <-time.After(10 * time.Second):
	}
}

// client dials the daemon's socket.
func (d *daemon) client(t *testing.T) *wire.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := wire.DialHome(ctx, d.home, wire.ClientOptions{Name: "test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func call(t *testing.T, c *wire.Client, method string, params, result any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.Call(ctx, method, params, result); err != nil {
		t.Fatalf("%s: %v", method, err)
	}
}
