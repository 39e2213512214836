package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/agentos/agentos/engine/wire"
	"github.com/agentos/agentos/internal/testkit"
)

// readmeCommands returns the first code block of the README: the command that
// runs the engine and the one that runs every test, in that order.
func readmeCommands(t *testing.T, root string) (run, test string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), "```sh\n")
	block, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("README has no sh code block")
	}
	var cmds []string
	for _, line := range strings.Split(block, "\n") {
		if cmd, _, _ := strings.Cut(line, "#"); strings.TrimSpace(cmd) != "" {
			cmds = append(cmds, strings.TrimSpace(cmd))
		}
	}
	if len(cmds) < 2 {
		t.Fatalf("README's first block has %d commands, want run then test", len(cmds))
	}
	return cmds[0], cmds[1]
}

func TestCIRunsTheREADMETestCommand(t *testing.T) {
	_, test := readmeCommands(t, "../..")
	ci, err := os.ReadFile("../../.ci/run")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(ci), "\n"+test+"\n") || !strings.Contains(string(ci), "set -euo pipefail") {
		t.Fatalf(".ci/run does not run %q under set -euo pipefail:\n%s", test, ci)
	}
}

// The README's first command, run from a clean clone with a fresh HOME,
// brings up an engine on the default ~/.agentos with the bundled shapes.
func TestREADMERunCommandWorksFromACleanClone(t *testing.T) {
	if testing.Short() {
		t.Skip("clones the repository and builds it")
	}
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, ".git")); err != nil {
		t.Skip("not a git checkout")
	}
	tmp := testkit.Home(t)
	clone := filepath.Join(tmp, "clone")
	if out, err := exec.Command("git", "clone", "-q", root, clone).CombinedOutput(); err != nil {
		t.Fatalf("git clone: %v\n%s", err, out)
	}
	run, _ := readmeCommands(t, clone)
	home := filepath.Join(tmp, "h")
	cmd := exec.Command("sh", "-c", run)
	cmd.Dir = clone
	env := []string{"HOME=" + home}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "HOME=") && !strings.HasPrefix(kv, "AGENTOS_HOME=") {
			env = append(env, kv)
		}
	}
	// The module and build caches stay where they were: the clone is
	// clean, the machine need not be.
	for _, v := range []string{"GOCACHE", "GOMODCACHE", "GOPATH"} {
		out, _ := exec.Command("go", "env", v).Output()
		env = append(env, v+"="+strings.TrimSpace(string(out)))
	}
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var logs strings.Builder
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	sock := wire.PathsFor(filepath.Join(home, ".agentos")).Socket
	ready := make(chan error, 1)
	go func() { ready <- wire.WaitReady(ctx, sock) }()
	select {
	case err := <-ready:
		if err != nil {
			t.Fatalf("%q did not bring up an engine at %s: %v\n%s", run, sock, err, logs.String())
		}
	case err := <-exited:
		exited <- err
		t.Fatalf("%q exited (%v) before its engine answered:\n%s", run, err, logs.String())
	}
	c, err := wire.Dial(ctx, sock, wire.ClientOptions{Name: "test"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var st wire.Status
	if err := c.Call(ctx, "system.status", nil, &st); err != nil {
		t.Fatal(err)
	}
	if st.Shapes < 12 {
		t.Fatalf("engine from the README has %d shapes loaded, want the bundled set", st.Shapes)
	}
}
