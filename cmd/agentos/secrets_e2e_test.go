package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/agentos/agentos/engine/wire"
	"github.com/agentos/agentos/internal/testkit"

	"golang.org/x/sys/unix"
)

// e2eSecret is a value no test output, file or log may contain.
const e2eSecret = "sk-e2e-PLAINTEXT-0a1b2c3d4e5f"

const vaultSkillTools = `from agentos import tool, secrets

@tool
def reveal() -> str:
    return secrets.get("openai")

@tool
def missing() -> str:
    return secrets.get("anthropic")
`

// vaultHome makes an AGENTOS_HOME with one skill, "vaulty", that may read
// the secrets openai and anthropic.
func vaultHome(t *testing.T) string {
	t.Helper()
	home := testkit.Home(t)
	dir := filepath.Join(home, "skills", "vaulty")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	md := "---\nname: vaulty\ndescription: Reads secrets for tests.\nallowed-tools: secrets(openai anthropic)\n---\n# Vaulty\n"
	os.WriteFile(filepath.Join(dir, "SKILL.md"), []byte(md), 0o600)
	os.WriteFile(filepath.Join(dir, "tools.py"), []byte(vaultSkillTools), 0o600)
	return home
}

func runVaultTool(t *testing.T, c *wire.Client, tool string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out string
	err := c.Call(ctx, "skills.run", map[string]any{"skill": "vaulty", "tool": tool}, &out)
	return out, err
}

func secretWantErr(t *testing.T, err error, kind wire.Kind, inMsg ...string) {
	t.Helper()
	var ee *wire.Error
	if !errors.As(err, &ee) {
		t.Fatalf("got %v, want an engine error of kind %s", err, kind)
	}
	if ee.Kind != kind {
		t.Errorf("error kind %q, want %q (message %q)", ee.Kind, kind, ee.Message)
	}
	for _, s := range inMsg {
		if !strings.Contains(ee.Message, s) {
			t.Errorf("error %q does not say %q", ee.Message, s)
		}
	}
	if strings.Contains(ee.Message, "PLAINTEXT") {
		t.Fatalf("an error carries the value: %q", ee.Message)
	}
}

// fileContains reports whether path holds needle; a missing file holds nothing.
func fileContains(t *testing.T, path, needle string) bool {
	t.Helper()
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Contains(b, []byte(needle))
}

func TestSecretsSetListDeleteThroughTheCLI(t *testing.T) {
	home := vaultHome(t)
	d := startDaemon(t, home)
	paths := wire.PathsFor(home)

	if r := agentosStdin(t, home, e2eSecret+"\n", "secrets", "set", "openai"); r.code != 0 || r.stdout != "secret openai stored\n" {
		t.Fatalf("set from stdin: %+v", r)
	}
	if fi, err := os.Stat(filepath.Join(home, "vault.key")); err != nil || fi.Mode().Perm() != 0o600 || fi.Size() != 32 {
		t.Fatalf("vault.key: %v %v", fi, err)
	}

	r := agentos(t, home, "secrets", "list")
	if r.code != 0 || !strings.Contains(r.stdout, "NAME") || !strings.Contains(r.stdout, "UPDATED") || !strings.Contains(r.stdout, "openai") {
		t.Fatalf("list: %+v", r)
	}
	rj := agentos(t, home, "secrets", "list", "--json")
	var listed struct {
		Secrets []map[string]any `json:"secrets"`
	}
	if rj.code != 0 || json.Unmarshal([]byte(rj.stdout), &listed) != nil || len(listed.Secrets) != 1 || listed.Secrets[0]["name"] != "openai" {
		t.Fatalf("list --json: %+v", rj)
	}
	for _, out := range []string{r.stdout, r.stderr, rj.stdout} {
		if strings.Contains(out, "PLAINTEXT") {
			t.Fatalf("list shows the value: %q", out)
		}
	}

	// The value is never taken from argv, and the refusal does not repeat it.
	r = agentos(t, home, "secrets", "set", "openai", e2eSecret)
	if r.code != exitUsage || !strings.Contains(r.stderr, "never from the command line") || strings.Contains(r.stderr, "PLAINTEXT") {
		t.Fatalf("set with a value in argv: %+v", r)
	}
	for _, args := range [][]string{{"secrets"}, {"secrets", "frob"}, {"secrets", "set"}, {"secrets", "set", "bad/name"}, {"secrets", "delete"}, {"secrets", "list", "x"}} {
		if r := agentosStdin(t, home, "v", args...); r.code != exitUsage {
			t.Errorf("agentos %v: code %d, want %d (stderr %q)", args, r.code, exitUsage, r.stderr)
		}
	}
	if r := agentosStdin(t, home, "", "secrets", "set", "empty"); r.code != exitError || !strings.Contains(r.stderr, "stdin is empty") {
		t.Fatalf("set with empty stdin: %+v", r)
	}
	if r := agentosStdin(t, home, "\xff\xfe\n", "secrets", "set", "binary"); r.code != exitError || !strings.Contains(r.stderr, "not UTF-8") {
		t.Fatalf("set with binary stdin: %+v", r)
	}
	for _, args := range [][]string{{"secrets", "--help"}, {"secrets", "set", "--help"}, {"secrets", "list", "--help"}, {"secrets", "delete", "--help"}} {
		if r := agentos(t, home, args...); r.code != 0 || !strings.Contains(r.stdout, "Usage: agentos "+strings.Join(args[:len(args)-1], " ")) {
			t.Errorf("agentos %v: %+v", args, r)
		}
	}

	if _, err := exec.LookPath("python3"); err == nil {
		c := d.client(t)
		got, err := runVaultTool(t, c, "reveal")
		if err != nil || got != e2eSecret {
			t.Fatalf("a skill granted secrets(openai) got %q, %v", got, err)
		}
		_, err = runVaultTool(t, c, "missing")
		secretWantErr(t, err, wire.KindUnavailable, "secret anthropic is not set; `agentos secrets set anthropic`")
	}

	// A second set replaces; stdin with CRLF loses only the line ending.
	if r := agentosStdin(t, home, "two words \r\n", "secrets", "set", "openai"); r.code != 0 || r.stdout != "secret openai updated\n" {
		t.Fatalf("replace: %+v", r)
	}
	if _, err := exec.LookPath("python3"); err == nil {
		if got, err := runVaultTool(t, d.client(t), "reveal"); err != nil || got != "two words " {
			t.Fatalf("after replace the skill got %q, %v", got, err)
		}
	}
	agentosStdin(t, home, e2eSecret, "secrets", "set", "openai")

	// On disk: ciphertext only, in the database file and its WAL alike.
	for _, p := range []string{paths.DB, paths.DB + "-wal"} {
		if fileContains(t, p, "PLAINTEXT") {
			t.Fatalf("%s holds the plaintext", p)
		}
	}
	if _, err := os.Stat(paths.DB + "-wal"); err != nil {
		t.Logf("no WAL file to check: %v", err)
	}

	if r := agentos(t, home, "secrets", "delete", "openai"); r.code != 0 || r.stdout != "secret openai deleted\n" {
		t.Fatalf("delete: %+v", r)
	}
	if r := agentos(t, home, "secrets", "delete", "openai"); r.code != exitError || !strings.Contains(r.stderr, `secret "openai" is not set`) {
		t.Fatalf("delete again: %+v", r)
	}
	if r := agentos(t, home, "secrets", "list"); r.code != 0 || strings.Contains(r.stdout, "openai") || !strings.Contains(r.stderr, "no secrets") {
		t.Fatalf("list after delete: %+v", r)
	}

	d.stop()
	for _, p := range []string{paths.DB, paths.DB + "-wal", paths.Log, paths.AuditLog} {
		if fileContains(t, p, "PLAINTEXT") {
			t.Fatalf("%s holds the plaintext", p)
		}
	}
	if strings.Contains(d.logs.String(), "PLAINTEXT") {
		t.Fatal("the engine's stderr holds the plaintext")
	}
}

func TestSecretsSetWithoutAnEngineExits2BeforeReadingTheValue(t *testing.T) {
	home := testkit.Home(t)
	if r := agentosStdin(t, home, e2eSecret, "secrets", "set", "openai"); r.code != exitUnreachable || strings.Contains(r.stderr, "PLAINTEXT") {
		t.Fatalf("%+v", r)
	}
}

func TestAnotherVaultKeyCannotReadTheSecret(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is needed to run a skill")
	}
	home := vaultHome(t)
	d := startDaemon(t, home)
	if r := agentosStdin(t, home, e2eSecret, "secrets", "set", "openai"); r.code != 0 {
		t.Fatalf("set: %+v", r)
	}
	d.stop()

	key := filepath.Join(home, "vault.key")
	other := make([]byte, 32)
	rand.Read(other)
	if err := os.Remove(key); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, other, 0o600); err != nil {
		t.Fatal(err)
	}
	d = startDaemon(t, home)
	c := d.client(t)
	_, err := runVaultTool(t, c, "reveal")
	secretWantErr(t, err, wire.KindUnavailable, `cannot decrypt secret "openai"`, "does not match the key it was stored with", "agentos secrets set openai")
	// The names are still listed; setting the secret again heals it.
	if r := agentos(t, home, "secrets", "list"); r.code != 0 || !strings.Contains(r.stdout, "openai") {
		t.Fatalf("list: %+v", r)
	}
	if r := agentosStdin(t, home, e2eSecret, "secrets", "set", "openai"); r.code != 0 {
		t.Fatalf("set again: %+v", r)
	}
	if got, err := runVaultTool(t, c, "reveal"); err != nil || got != e2eSecret {
		t.Fatalf("after setting it again: %q, %v", got, err)
	}

	// A key other users could read is refused, with what to do.
	os.Chmod(key, 0o644)
	r := agentosStdin(t, home, "x", "secrets", "set", "openai")
	if r.code != exitError || !strings.Contains(r.stderr, "chmod 600 "+key) {
		t.Fatalf("set with a 0644 key: %+v", r)
	}
	_, err = runVaultTool(t, c, "reveal")
	secretWantErr(t, err, wire.KindUnavailable, "chmod 600")
}

// openPTY opens a pseudo-terminal pair with x/sys/unix alone.
func openPTY(t *testing.T) (master, tty *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	// Through Control, not Fd(): Fd() would put the master in blocking
	// mode, and the test's read deadline on it would never fire.
	rc, err := m.SyscallConn()
	if err != nil {
		t.Skipf("pty: %v", err)
	}
	var n int
	var ierr error
	if err := rc.Control(func(fd uintptr) {
		if ierr = unix.IoctlSetPointerInt(int(fd), unix.TIOCSPTLCK, 0); ierr == nil {
			n, ierr = unix.IoctlGetInt(int(fd), unix.TIOCGPTN)
		}
	}); err != nil || ierr != nil {
		t.Skipf("set up pty: %v %v", err, ierr)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("open pty: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return m, s
}

func echoOn(t *testing.T, tty *os.File) bool {
	t.Helper()
	tio, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	return tio.Lflag&unix.ECHO != 0
}

// promptRun is `agentos secrets set NAME` with a terminal as stdin, stopped
// at its prompt.
type promptRun struct {
	cmd    *exec.Cmd
	stdout bytes.Buffer
	stderr chan string // everything written to stderr, once it closes
}

func startPrompt(t *testing.T, home, name string, tty *os.File) *promptRun {
	t.Helper()
	p := &promptRun{stderr: make(chan string, 1)}
	p.cmd = exec.Command(binPath, "secrets", "set", name)
	p.cmd.Env = append(os.Environ(), "AGENTOS_HOME="+home)
	p.cmd.Stdin = tty
	p.cmd.Stdout = &p.stdout
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	errPipe, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.cmd.Process.Kill() })
	prompted := make(chan struct{})
	go func() {
		var all bytes.Buffer
		buf := make([]byte, 256)
		once := false
		for {
			n, err := errPipe.Read(buf)
			all.Write(buf[:n])
			if !once && strings.Contains(all.String(), "(typing is hidden): ") {
				once = true
				close(prompted)
			}
			if err != nil {
				p.stderr <- all.String()
				return
			}
		}
	}()
	select {
	case <-prompted:
	case <-time.After(20 * time.Second):
		p.cmd.Process.Kill()
		t.Fatalf("no prompt; stderr: %q", <-p.stderr)
	}
	return p
}

func (p *promptRun) wait(t *testing.T) (code int, stderr string) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		var xe *exec.ExitError
		if errors.As(err, &xe) {
			code = xe.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		p.cmd.Process.Kill()
		t.Fatal("agentos secrets set did not finish")
	}
	return code, <-p.stderr
}

func TestSecretsSetPromptsWithoutEchoAndRestoresTheTerminal(t *testing.T) {
	home := testkit.Home(t)
	startDaemon(t, home)
	master, tty := openPTY(t)
	if !echoOn(t, tty) {
		t.Fatal("a fresh terminal should echo")
	}

	t.Run("a typed value is stored and never echoed", func(t *testing.T) {
		p := startPrompt(t, home, "typed", tty)
		if echoOn(t, tty) {
			t.Fatal("echo is on while the prompt waits for the secret")
		}
		if _, err := master.Write([]byte(e2eSecret + "\n")); err != nil {
			t.Fatal(err)
		}
		code, stderr := p.wait(t)
		if code != 0 || p.stdout.String() != "secret typed stored\n" {
			t.Fatalf("code %d stdout %q stderr %q", code, p.stdout.String(), stderr)
		}
		if !echoOn(t, tty) {
			t.Fatal("echo was not turned back on")
		}
		// What the terminal showed: nothing of the value.
		if err := master.SetReadDeadline(time.Now().Add(200 * time.Millisecond)); err != nil {
			t.Fatalf("the pty master should be pollable: %v", err)
		}
		shown, _ := io.ReadAll(master)
		if strings.Contains(string(shown), "PLAINTEXT") {
			t.Fatalf("the terminal echoed the value: %q", shown)
		}
		if r := agentos(t, home, "secrets", "list"); !strings.Contains(r.stdout, "typed") {
			t.Fatalf("not stored: %+v", r)
		}
	})

	t.Run("Ctrl-C at the prompt restores echo and stores nothing", func(t *testing.T) {
		p := startPrompt(t, home, "interrupted", tty)
		if echoOn(t, tty) {
			t.Fatal("echo is on while the prompt waits for the secret")
		}
		master.Write([]byte("half-typed"))
		time.Sleep(50 * time.Millisecond)
		if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
			t.Fatal(err)
		}
		code, stderr := p.wait(t)
		if code != exitError || !strings.Contains(stderr, "nothing was stored") {
			t.Fatalf("code %d stderr %q", code, stderr)
		}
		if !echoOn(t, tty) {
			t.Fatal("echo was left off after an interrupt")
		}
		if r := agentos(t, home, "secrets", "list"); strings.Contains(r.stdout, "interrupted") {
			t.Fatalf("an interrupted set stored something: %+v", r)
		}
	})
}
