package broker

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fixtureWorker stands in for the SDK's agentos_worker.py: a real Python process that
// speaks the worker protocol and does what the call's function name says. It sets no
// rlimits itself, so the limits tests prove the runner's prlimit.
const fixtureWorker = `
import json, os, signal, sys, time

opts = dict(zip(sys.argv[1::2], sys.argv[2::2]))
out = sys.stdout

def send(obj):
    out.write(json.dumps(obj) + "\n")
    out.flush()

call = json.loads(sys.stdin.readline())
fn, p, cid = call["function"], call["params"], call["id"]

def result(v):
    send({"type": "result", "id": cid, "result": v})

def reply():
    return json.loads(sys.stdin.readline())

def eprint(*a):
    print(*a, file=sys.stderr, flush=True)

if fn == "echo":
    result({"params": p, "call": call, "opts": opts})
elif fn == "op":
    send({"type": "op", "id": "o1", "op": p.get("op", "test.echo"), "params": p.get("params", {})})
    result(reply())
elif fn == "ops_parallel":
    for i in range(p["n"]):
        send({"type": "op", "id": "o%d" % (i + 1), "op": "test.echo", "params": {"i": i}})
    replies = {}
    for _ in range(p["n"]):
        r = reply()
        replies[r["id"]] = r
    result(replies)
elif fn == "progress_log":
    send({"type": "progress", "current": 1, "total": 2, "message": "half"})
    send({"type": "log", "level": "warning", "message": "careful"})
    send({"type": "progress", "current": 2, "total": 2, "message": "all"})
    result("done")
elif fn == "progress_hang":
    send({"type": "progress", "current": 0, "total": 1, "message": "started"})
    time.sleep(3600)
elif fn == "garbage":
    out.write("this is not json\n")
    out.flush()
    time.sleep(3600)
elif fn == "hang":
    time.sleep(3600)
elif fn == "pid_hang":
    with open(p["pidfile"] + ".tmp", "w") as f:
        f.write(str(os.getpid()))
    os.rename(p["pidfile"] + ".tmp", p["pidfile"])
    time.sleep(3600)
elif fn == "hang_ignore_term":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    eprint("ignoring SIGTERM")
    time.sleep(3600)
elif fn == "grandchild":
    pidfile = p["pidfile"]
    if os.fork() == 0:
        with open(pidfile + ".tmp", "w") as f:
            f.write(str(os.getpid()))
        os.rename(pidfile + ".tmp", pidfile)
        time.sleep(3600)
        os._exit(0)
    while not os.path.exists(pidfile):
        time.sleep(0.002)
    if p.get("exit"):
        os._exit(0)
    result("forked")
elif fn == "flood_stdout":
    chunk = b"x" * (1 << 20)
    for _ in range(100):
        os.write(1, chunk)
elif fn == "flood_stdout_lines":
    line = (json.dumps({"type": "log", "level": "debug", "message": "y" * 1000}) + "\n").encode()
    chunk = line * ((1 << 20) // len(line))
    for _ in range(100):
        os.write(1, chunk)
    result("survived")
elif fn == "flood_stderr":
    chunk = b"e" * (1 << 20)
    for _ in range(100):
        os.write(2, chunk)
    os.write(2, b"\nlast stderr line\n")
    if p.get("fail"):
        sys.exit(3)
    result("survived")
elif fn == "alloc":
    x = bytearray(4 << 30)
    result(len(x))
elif fn == "exit3":
    eprint("about to exit 3")
    sys.exit(3)
elif fn == "os_exit":
    os._exit(7)
elif fn == "segfault":
    os.kill(os.getpid(), signal.SIGSEGV)
elif fn == "no_result":
    pass
elif fn == "raise":
    raise ValueError("boom")
elif fn == "report_error":
    send({"type": "error", "id": cid, "error": {"kind": p["kind"], "message": "ValueError: bad", "traceback": "Traceback: line 1"}})
elif fn == "wrong_id":
    send({"type": "result", "id": "someone-else", "result": 1})
elif fn == "spin":
    while True:
        pass
elif fn == "close_stdout":
    os.close(1)
    time.sleep(3600)
elif fn == "no_newline":
    out.write(json.dumps({"type": "result", "id": cid, "result": "tail"}))
    out.flush()
elif fn == "env":
    import resource
    lim = lambda r: list(resource.getrlimit(r))
    result({
        "env": dict(os.environ), "cwd": os.getcwd(), "argv": sys.argv,
        "isolated": sys.flags.isolated, "no_site": sys.flags.no_site,
        "limits": {"cpu": lim(resource.RLIMIT_CPU), "as": lim(resource.RLIMIT_AS), "nofile": lim(resource.RLIMIT_NOFILE)},
    })
elif fn == "lock_tmp":
    os.makedirs("locked/inner")
    open("locked/inner/f", "w").close()
    os.chmod("locked/inner", 0)
    os.chmod("locked", 0)
    result(os.getcwd())
else:
    send({"type": "error", "id": cid, "error": {"kind": "not_found", "message": "no function " + fn}})
`

// writeFixtureSDK writes the fixture worker into a fresh SDK folder.
func writeFixtureSDK(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, workerScript), []byte(fixtureWorker), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// requirePython skips when the machine has no /usr/bin/python3 to run workers with.
func requirePython(t *testing.T) {
	t.Helper()
	if !isExecutableFile(systemPython) {
		t.Skip("no " + systemPython)
	}
}

// newTestRunner returns a runner on the fixture SDK with small, fast limits.
func newTestRunner(t *testing.T, tweak func(*RunnerOptions)) *Runner {
	t.Helper()
	requirePython(t)
	opts := RunnerOptions{
		Python: systemPython,
		SDKDir: writeFixtureSDK(t),
		Limits: Limits{CPUSeconds: 20, MemoryBytes: 1 << 30, OpenFiles: 64, Grace: 300 * time.Millisecond},
		// These tests check pids from the host's view and pidfiles in their own
		// temp dirs; runner_sandbox_test.go runs the same fixture sandboxed.
		Sandbox: "off",
	}
	if tweak != nil {
		tweak(&opts)
	}
	return NewRunner(opts)
}

// fixtureCall calls function fn of the fixture with params.
func fixtureCall(t *testing.T, fn string, params any) Call {
	t.Helper()
	raw, err := json.Marshal(params)
	if err != nil {
		t.Fatal(err)
	}
	if params == nil {
		raw = nil
	}
	return Call{Skill: "fixture", SkillDir: t.TempDir(), Module: "tools", Function: fn, Params: raw, Timeout: 10 * time.Second}
}

// recorder is an OpHandler that records what it is given and serves ops with
// serve, or echoes their params.
type recorder struct {
	serve func(ctx context.Context, op Op) (json.RawMessage, error)

	mu       sync.Mutex
	ops      []Op
	progress []string
	logs     []string
	onProg   func()
}

func (r *recorder) HandleOp(ctx context.Context, op Op) (json.RawMessage, error) {
	r.mu.Lock()
	r.ops = append(r.ops, op)
	r.mu.Unlock()
	if r.serve != nil {
		return r.serve(ctx, op)
	}
	return op.Params, nil
}

func (r *recorder) Progress(current, total float64, message, _ string) {
	r.mu.Lock()
	r.progress = append(r.progress, strconv.FormatFloat(current, 'g', -1, 64)+"/"+strconv.FormatFloat(total, 'g', -1, 64)+" "+message)
	f := r.onProg
	r.mu.Unlock()
	if f != nil {
		f()
	}
}

func (r *recorder) Log(level, message string) {
	r.mu.Lock()
	r.logs = append(r.logs, level+": "+message)
	r.mu.Unlock()
}

// runError asserts err is a *RunError of kind and returns it.
func runError(t *testing.T, err error, kind string) *RunError {
	t.Helper()
	var re *RunError
	if !errors.As(err, &re) {
		t.Fatalf("error %v (%T) is not a *RunError", err, err)
	}
	if re.Kind != kind {
		t.Fatalf("kind = %q, want %q; error: %v; stderr: %q", re.Kind, kind, re, clipMessage(re.Stderr, 500))
	}
	return re
}

// decode unmarshals a result into v.
func decode(t *testing.T, raw json.RawMessage, v any) {
	t.Helper()
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("decode result %s: %v", clipMessage(string(raw), 200), err)
	}
}

// processGone reports whether pid has exited: no longer in /proc, or a zombie
// waiting for a reaper we do not control.
func processGone(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	// The state follows the command name, which is in parentheses.
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && (s[i+2] == 'Z' || s[i+2] == 'X')
}

// eventually polls cond for up to d.
func eventually(d time.Duration, cond func() bool) bool {
	for end := time.Now().Add(d); ; time.Sleep(10 * time.Millisecond) {
		if cond() {
			return true
		}
		if time.Now().After(end) {
			return false
		}
	}
}
