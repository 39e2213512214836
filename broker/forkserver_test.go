package broker

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/agentos/agentos/broker/sandbox"
)

// forkSkill is a skill on the real SDK, run by runner: fork.
const forkSkill = `
import os, signal, sys, time
from agentos import progress, secrets

COUNT = 0

def counter():
    global COUNT
    COUNT += 1
    return {"count": COUNT, "pid": os.getpid(), "cwd": os.getcwd()}

def steps():
    progress(1, 2, "half")
    progress(2, 2, "all")
    return "done"

def op():
    return secrets.get("token")

def crash():
    import ctypes
    ctypes.string_at(0)  # a real segfault

def exit3():
    os._exit(3)

def hang():
    time.sleep(3600)

def escape(marker):
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            os.execv(sys.executable, [sys.executable, "-c", "import time; time.sleep(3600)", marker])
        os._exit(0)
    time.sleep(0.2)
    return "forked"

def read_other(path):
    try:
        with open(path) as f:
            return "ok: " + f.read()
    except Exception as e:
        return "denied: " + type(e).__name__
`

// forkRunner is a sandboxed runner: fork on the real SDK, and its skill folder.
func forkRunner(t *testing.T) (*Runner, string) {
	t.Helper()
	requirePython(t)
	sdk, err := filepath.Abs("../sdk/python")
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	skill := filepath.Join(root, "forky")
	if err := os.Mkdir(skill, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(skill, "tools.py"), []byte(forkSkill), 0o644); err != nil {
		t.Fatal(err)
	}
	r := NewRunner(RunnerOptions{Python: systemPython, SDKDir: sdk, Sandbox: "best-effort", Runner: RunnerFork, TempDir: t.TempDir(),
		Limits: Limits{CPUSeconds: 20, MemoryBytes: 1 << 30, OpenFiles: 64, Grace: 300 * time.Millisecond, Processes: 64}})
	t.Cleanup(r.Close)
	requireLayers(t, r, sandbox.LayerNoNewPrivs, sandbox.LayerPIDNS)
	return r, skill
}

func forkCall(r *Runner, skill, fn string, params any, h OpHandler, timeout time.Duration) (json.RawMessage, error) {
	if params == nil {
		params = map[string]any{}
	}
	raw, _ := json.Marshal(params)
	return r.Run(context.Background(), Call{Skill: "forky", SkillDir: skill, Module: "tools", Function: fn, Params: raw, Timeout: timeout}, h)
}

// template returns the running template for skill, failing the test if the
// call was spawned instead.
func template(t *testing.T, r *Runner, skill string) *forkServer {
	t.Helper()
	r.forkMu.Lock()
	defer r.forkMu.Unlock()
	fs := r.forks[templateFor(Call{SkillDir: skill}).id()]
	if fs == nil {
		t.Fatalf("no fork server is running: the call was spawned (%v)", r.forkFailed)
	}
	return fs
}

func TestForkRunnerGivesEveryCallAFreshProcess(t *testing.T) {
	r, skill := forkRunner(t)
	pids := map[int]bool{}
	for i := 0; i < 3; i++ {
		res, err := forkCall(r, skill, "counter", nil, nil, 20*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		var got struct {
			Count int    `json:"count"`
			PID   int    `json:"pid"`
			Cwd   string `json:"cwd"`
		}
		decode(t, res, &got)
		if got.Count != 1 {
			t.Errorf("call %d: module counter is %d: state leaked from an earlier call", i, got.Count)
		}
		if filepath.Dir(got.Cwd) != r.tempDir {
			t.Errorf("call %d ran in %s, not a call dir of %s", i, got.Cwd, r.tempDir)
		}
		pids[got.PID] = true
	}
	template(t, r, skill)
}

func TestForkRunnerProgressAndOps(t *testing.T) {
	r, skill := forkRunner(t)
	rec := &recorder{serve: func(ctx context.Context, op Op) (json.RawMessage, error) {
		return json.RawMessage(`"s3cret"`), nil
	}}
	res, err := forkCall(r, skill, "steps", nil, rec, 20*time.Second)
	if err != nil || string(res) != `"done"` {
		t.Fatalf("steps: %s, %v", res, err)
	}
	if len(rec.progress) != 2 || rec.progress[1] != "2/2 all" {
		t.Errorf("progress: %q", rec.progress)
	}
	res, err = forkCall(r, skill, "op", nil, rec, 20*time.Second)
	if err != nil || string(res) != `"s3cret"` {
		t.Fatalf("op: %s, %v", res, err)
	}
	if len(rec.ops) != 1 || rec.ops[0].Name != "secrets.get" {
		t.Errorf("ops: %+v", rec.ops)
	}
	template(t, r, skill)
}

func TestForkRunnerReportsCrashesAndExits(t *testing.T) {
	r, skill := forkRunner(t)
	_, err := forkCall(r, skill, "crash", nil, nil, 20*time.Second)
	if e := runError(t, err, KindSkillFailed); !strings.Contains(e.Message, "SIGSEGV") {
		t.Errorf("crash: %s", e.Message)
	}
	_, err = forkCall(r, skill, "exit3", nil, nil, 20*time.Second)
	if e := runError(t, err, KindSkillFailed); !strings.Contains(e.Message, "status 3") {
		t.Errorf("exit: %s", e.Message)
	}
	template(t, r, skill)
}

func TestForkRunnerTimeoutCancelAndGrandchildren(t *testing.T) {
	r, skill := forkRunner(t)
	if _, err := forkCall(r, skill, "hang", nil, nil, 500*time.Millisecond); err != nil {
		runError(t, err, KindTimeout)
	} else {
		t.Fatal("hang returned")
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	_, err := r.Run(ctx, Call{Skill: "forky", SkillDir: skill, Module: "tools", Function: "hang", Timeout: 20 * time.Second}, nil)
	runError(t, err, KindCancelled)

	marker := "agentos-fork-escape-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	res, err := forkCall(r, skill, "escape", map[string]any{"marker": marker}, nil, 20*time.Second)
	if err != nil || string(res) != `"forked"` {
		t.Fatalf("escape: %s, %v", res, err)
	}
	if !eventually(5*time.Second, func() bool { return len(markedProcesses(t, marker)) == 0 }) {
		t.Errorf("processes outlived the call: %v", markedProcesses(t, marker))
	}
	template(t, r, skill)
}

func TestForkRunnerCallCannotReadAnotherCallsDir(t *testing.T) {
	r, skill := forkRunner(t)
	requireLayers(t, r, sandbox.LayerLandlock)
	other, err := os.MkdirTemp(r.tempDir, callDirPrefix)
	if err != nil {
		t.Fatal(err)
	}
	secret := filepath.Join(other, "secret")
	if err := os.WriteFile(secret, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := forkCall(r, skill, "read_other", map[string]any{"path": secret}, nil, 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var got string
	decode(t, res, &got)
	mustBeDenied(t, "another call's dir", got)
	template(t, r, skill)
}

func TestForkServerIsRestartedAfterItIsKilled(t *testing.T) {
	r, skill := forkRunner(t)
	if _, err := forkCall(r, skill, "counter", nil, nil, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	first := template(t, r, skill)
	if err := unix.Kill(-first.launch.Cmd.Process.Pid, unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-first.dead
	if _, err := forkCall(r, skill, "counter", nil, nil, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	if second := template(t, r, skill); second == first {
		t.Error("the dead template was not replaced")
	}
}

// A call with files grants is forked too, on a template made for exactly
// those grants; a call without them, on the folder's plain template, cannot
// read what the grant opened.
func TestForkRunnerRunsCallsWithGrantsOnTheirOwnTemplate(t *testing.T) {
	r, skill := forkRunner(t)
	requireLayers(t, r, sandbox.LayerLandlock)
	grant := t.TempDir()
	note := filepath.Join(grant, "note.txt")
	if err := os.WriteFile(note, []byte("granted"), 0o644); err != nil {
		t.Fatal(err)
	}
	read := func(grants []string) string {
		t.Helper()
		raw, _ := json.Marshal(map[string]any{"path": note})
		res, err := r.Run(context.Background(), Call{Skill: "forky", SkillDir: skill, Module: "tools", Function: "read_other",
			Params: raw, Timeout: 20 * time.Second, ReadPaths: grants}, nil)
		if err != nil {
			t.Fatal(err)
		}
		var got string
		decode(t, res, &got)
		return got
	}
	if got := read([]string{grant}); got != "ok: granted" {
		t.Errorf("with the grant: %q", got)
	}
	if got := read(nil); !strings.HasPrefix(got, "denied") {
		t.Errorf("without the grant, on the plain template: %q", got)
	}
	r.forkMu.Lock()
	n := len(r.forks)
	r.forkMu.Unlock()
	if n != 2 {
		t.Errorf("%d templates, want 2: the plain one and the grant's", n)
	}
}

// With runner: fork, a runner whose interpreter or SDK is missing says so
// (unavailable), as spawn does, instead of making the call wait: a template
// that dies at start is seen at once.
func TestForkRunnerWithoutAnInterpreterIsUnavailable(t *testing.T) {
	t.Parallel()
	requirePython(t)
	for name, opts := range map[string]RunnerOptions{
		"interpreter missing": {Python: "/nonexistent/python3", SDKDir: writeFixtureSDK(t)},
		"sdk without shim":    {Python: systemPython, SDKDir: t.TempDir()},
	} {
		t.Run(name, func(t *testing.T) {
			opts.Runner, opts.Sandbox, opts.TempDir = RunnerFork, "best-effort", t.TempDir()
			r := NewRunner(opts)
			t.Cleanup(r.Close)
			c := fixtureCall(t, "echo", nil)
			// Shorter than forkStartTimeout: a start that waited for the
			// template would end the call as timeout, not unavailable.
			c.Timeout = forkStartTimeout / 2
			_, err := r.Run(context.Background(), c, nil)
			runError(t, err, KindUnavailable)
		})
	}
}
