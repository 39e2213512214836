package broker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestRunReturnsTheToolResultAndSendsTheCallLine(t *testing.T) {
	t.Parallel()
	r := newTestRunner(t, nil)
	c := fixtureCall(t, "echo", map[string]any{"url": "https://example.com", "n": 3})
	c.ID = "call-7"
	c.Timeout = 5 * time.Second
	res, err := r.Run(context.Background(), c, &recorder{})
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Params map[string]any    `json:"params"`
		Call   map[string]any    `json:"call"`
		Opts   map[string]string `json:"opts"`
	}
	decode(t, res, &got)
	if got.Params["url"] != "https://example.com" || got.Params["n"] != 3.0 {
		t.Errorf("params = %v", got.Params)
	}
	for k, want := range map[string]any{"type": "call", "id": "call-7", "skill": "fixture", "module": "tools", "function": "echo"} {
		if got.Call[k] != want {
			t.Errorf("call line %s = %v, want %v", k, got.Call[k], want)
		}
	}
	if d, _ := got.Call["deadline_ms"].(float64); d <= 0 || d > 5000 {
		t.Errorf("deadline_ms = %v, want in (0, 5000]", got.Call["deadline_ms"])
	}
	want := map[string]string{
		"--sdk": r.sdkDir, "--skill": c.SkillDir,
		"--cpu-seconds": "20", "--memory-bytes": fmt.Sprint(1 << 30), "--open-files": "64",
	}
	if !reflect.DeepEqual(got.Opts, want) {
		t.Errorf("worker flags = %v, want %v", got.Opts, want)
	}
	if n := r.Running(); n != 0 {
		t.Errorf("Running() = %d after the call, want 0", n)
	}
}

func TestRunWithoutParamsSendsAnEmptyObject(t *testing.T) {
	t.Parallel()
	r := newTestRunner(t, nil)
	res, err := r.Run(context.Background(), fixtureCall(t, "echo", nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	var got struct{ Params map[string]any }
	decode(t, res, &got)
	if got.Params == nil || len(got.Params) != 0 {
		t.Errorf("params = %v, want {}", got.Params)
	}
}

func TestRunPassesParamsLargerThanThePipeBuffer(t *testing.T) {
	t.Parallel()
	r := newTestRunner(t, nil)
	big := strings.Repeat("p", 1<<20)
	res, err := r.Run(context.Background(), fixtureCall(t, "echo", map[string]string{"big": big}), nil)
	if err != nil {
		t.Fatal(err)
	}
	var got struct{ Params map[string]string }
	decode(t, res, &got)
	if got.Params["big"] != big {
		t.Errorf("big param came back with %d bytes, want %d", len(got.Params["big"]), len(big))
	}
}

func TestWorkerRunsIsolatedWithScrubbedEnvInATempDirThatIsRemoved(t *testing.T) {
	t.Setenv("AGENTOS_SECRET_TEST", "must not leak")
	r := newTestRunner(t, nil)
	res, err := r.Run(context.Background(), fixtureCall(t, "env", nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Env      map[string]string `json:"env"`
		Cwd      string            `json:"cwd"`
		Argv     []string          `json:"argv"`
		Isolated int               `json:"isolated"`
		NoSite   int               `json:"no_site"`
	}
	decode(t, res, &got)
	want := map[string]string{
		"PATH": "/usr/bin:/bin", "HOME": got.Cwd, "TMPDIR": got.Cwd, "LANG": "C.UTF-8",
		"PYTHONDONTWRITEBYTECODE": "1", "PYTHONIOENCODING": "utf-8",
	}
	if !reflect.DeepEqual(got.Env, want) {
		t.Errorf("worker env = %v, want exactly %v", got.Env, want)
	}
	if !strings.HasPrefix(filepath.Base(got.Cwd), "agentos-call-") {
		t.Errorf("cwd = %s, want a per-call temp dir", got.Cwd)
	}
	if _, err := os.Stat(got.Cwd); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("call dir %s still there after the call (stat: %v)", got.Cwd, err)
	}
	if got.Isolated != 1 || got.NoSite != 1 {
		t.Errorf("flags isolated=%d no_site=%d, want -I -S", got.Isolated, got.NoSite)
	}
	if len(got.Argv) == 0 || got.Argv[0] != filepath.Join(r.sdkDir, workerScript) {
		t.Errorf("argv = %v, want the shim by absolute path first", got.Argv)
	}
}

func TestRunnerAppliesRlimitsToTheWorker(t *testing.T) {
	t.Parallel()
	r := newTestRunner(t, func(o *RunnerOptions) {
		o.Limits.CPUSeconds, o.Limits.MemoryBytes, o.Limits.OpenFiles = 7, 768<<20, 48
	})
	res, err := r.Run(context.Background(), fixtureCall(t, "env", nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	var got struct{ Limits map[string][2]int64 }
	decode(t, res, &got)
	// The fixture sets none itself: these come from prlimit, soft = hard.
	want := map[string][2]int64{"cpu": {7, 7}, "as": {768 << 20, 768 << 20}, "nofile": {48, 48}}
	if !reflect.DeepEqual(got.Limits, want) {
		t.Errorf("worker rlimits = %v, want %v", got.Limits, want)
	}
}

func TestCallDirIsRemovedEvenWhenTheSkillLocksItsFolders(t *testing.T) {
	t.Parallel()
	r := newTestRunner(t, nil)
	res, err := r.Run(context.Background(), fixtureCall(t, "lock_tmp", nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	var dir string
	decode(t, res, &dir)
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("call dir %s still there (stat: %v)", dir, err)
	}
}

func TestFinalLineWithoutNewlineStillCounts(t *testing.T) {
	t.Parallel()
	r := newTestRunner(t, nil)
	res, err := r.Run(context.Background(), fixtureCall(t, "no_newline", nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	if string(res) != `"tail"` {
		t.Errorf("result = %s", res)
	}
}

func TestProgressAndLogReachTheHandlerInOrder(t *testing.T) {
	t.Parallel()
	r := newTestRunner(t, nil)
	h := &recorder{}
	res, err := r.Run(context.Background(), fixtureCall(t, "progress_log", nil), h)
	if err != nil {
		t.Fatal(err)
	}
	if string(res) != `"done"` {
		t.Errorf("result = %s", res)
	}
	if want := []string{"1/2 half", "2/2 all"}; !slices.Equal(h.progress, want) {
		t.Errorf("progress = %q, want %q", h.progress, want)
	}
	if want := []string{"warning: careful"}; !slices.Equal(h.logs, want) {
		t.Errorf("logs = %q, want %q", h.logs, want)
	}
}

func TestOpRoundTripReachesTheHandlerAndReturnsItsResult(t *testing.T) {
	t.Parallel()
	r := newTestRunner(t, nil)
	h := &recorder{serve: func(_ context.Context, op Op) (json.RawMessage, error) {
		return json.RawMessage(`{"status":200,"text":"hi"}`), nil
	}}
	res, err := r.Run(context.Background(), fixtureCall(t, "op", map[string]any{
		"op": "http.request", "params": map[string]string{"url": "https://example.com"},
	}), h)
	if err != nil {
		t.Fatal(err)
	}
	var reply map[string]any
	decode(t, res, &reply)
	if reply["type"] != "op_result" || reply["id"] != "o1" || reply["error"] != nil {
		t.Errorf("op_result = %v", reply)
	}
	if rr, _ := reply["result"].(map[string]any); rr["status"] != 200.0 {
		t.Errorf("op_result result = %v", reply["result"])
	}
	if len(h.ops) != 1 || h.ops[0].Name != "http.request" || h.ops[0].ID != "o1" || string(h.ops[0].Params) != `{"url": "https://example.com"}` {
		t.Errorf("handler got %+v", h.ops)
	}
}

func TestOpErrorsReachTheWorkerWithTheirKind(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		err  error
		want wireError
	}{
		{"run error keeps its kind", &RunError{Kind: "denied", Message: "not in allowed-tools"}, wireError{Kind: "denied", Message: "not in allowed-tools"}},
		{"wrapped kind error", fmt.Errorf("gate: %w", &RunError{Kind: KindUnavailable, Message: "refused"}), wireError{Kind: KindUnavailable, Message: "refused"}},
		{"plain error is internal", errors.New("disk on fire"), wireError{Kind: KindInternal, Message: "disk on fire"}},
		{"cancelled context", fmt.Errorf("fetch: %w", context.Canceled), wireError{Kind: KindCancelled, Message: "fetch: context canceled"}},
	}
	r := newTestRunner(t, nil)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := &recorder{serve: func(context.Context, Op) (json.RawMessage, error) { return nil, tc.err }}
			res, err := r.Run(context.Background(), fixtureCall(t, "op", map[string]any{"op": "secrets.get"}), h)
			if err != nil {
				t.Fatal(err)
			}
			var reply struct {
				Result json.RawMessage `json:"result"`
				Error  *wireError      `json:"error"`
			}
			decode(t, res, &reply)
			if reply.Error == nil || *reply.Error != tc.want || reply.Result != nil {
				t.Errorf("op_result = %s, want error %+v and no result", res, tc.want)
			}
		})
	}
}

func TestConcurrentOpsAreServedInParallelAndMatchedByID(t *testing.T) {
	t.Parallel()
	r := newTestRunner(t, nil)
	h := &recorder{serve: func(_ context.Context, op Op) (json.RawMessage, error) {
		var p struct{ I int }
		if err := json.Unmarshal(op.Params, &p); err != nil {
			return nil, err
		}
		// Later ops answer first, so replies arrive out of order.
		time.Sleep(time.Duration(3-p.I) * 40 * time.Millisecond)
		return json.RawMessage(fmt.Sprintf(`{"op":%q,"i":%d}`, op.ID, p.I)), nil
	}}
	res, err := r.Run(context.Background(), fixtureCall(t, "ops_parallel", map[string]int{"n": 3}), h)
	if err != nil {
		t.Fatal(err)
	}
	var replies map[string]struct {
		Result struct {
			Op string `json:"op"`
			I  int    `json:"i"`
		} `json:"result"`
	}
	decode(t, res, &replies)
	for i := range 3 {
		id := fmt.Sprintf("o%d", i+1)
		if got := replies[id].Result; got.Op != id || got.I != i {
			t.Errorf("reply %s = %+v", id, got)
		}
	}
}

func TestOpContextIsCancelledWhenTheCallEnds(t *testing.T) {
	t.Parallel()
	r := newTestRunner(t, nil)
	opEnded := make(chan error, 1)
	// The call ends (its ctx is cancelled) once the op has started, however
	// long the worker took to get there.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h := &recorder{serve: func(opCtx context.Context, _ Op) (json.RawMessage, error) {
		cancel()
		<-opCtx.Done()
		opEnded <- opCtx.Err()
		return nil, opCtx.Err()
	}}
	c := fixtureCall(t, "op", map[string]any{"op": "http.request"})
	_, err := r.Run(ctx, c, h)
	runError(t, err, KindCancelled)
	select {
	case got := <-opEnded:
		if got == nil {
			t.Error("op context ended without an error")
		}
	default:
		t.Error("Run returned before HandleOp did")
	}
}

func TestOpsWithoutAHandlerAreDenied(t *testing.T) {
	t.Parallel()
	r := newTestRunner(t, nil)
	res, err := r.Run(context.Background(), fixtureCall(t, "op", map[string]any{"op": "graph.write"}), nil)
	if err != nil {
		t.Fatal(err)
	}
	var reply struct{ Error *wireError }
	decode(t, res, &reply)
	if reply.Error == nil || reply.Error.Kind != "denied" {
		t.Errorf("op_result = %s, want a denied error", res)
	}
}

func TestInvalidCallsAreRejectedBeforeAnyProcessStarts(t *testing.T) {
	t.Parallel()
	r := newTestRunner(t, nil)
	cases := map[string]func(*Call){
		"no module":         func(c *Call) { c.Module = "" },
		"no function":       func(c *Call) { c.Function = "" },
		"no skill dir":      func(c *Call) { c.SkillDir = "" },
		"params not object": func(c *Call) { c.Params = json.RawMessage(`[1,2]`) },
		"params not json":   func(c *Call) { c.Params = json.RawMessage(`{"a":`) },
	}
	for name, breakIt := range cases {
		c := fixtureCall(t, "echo", nil)
		breakIt(&c)
		_, err := r.Run(context.Background(), c, nil)
		if re := runError(t, err, KindInvalid); re.Message == "" {
			t.Errorf("%s: empty message", name)
		}
	}
}

func TestRunnerWithoutAnInterpreterIsUnavailable(t *testing.T) {
	t.Parallel()
	cases := map[string]RunnerOptions{
		"nothing configured":  {},
		"interpreter missing": {Python: "/nonexistent/python3", SDKDir: writeFixtureSDK(t)},
		"sdk without shim":    {Python: systemPython, SDKDir: t.TempDir()},
	}
	for name, opts := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := NewRunner(opts).Run(context.Background(), fixtureCall(t, "echo", nil), nil)
			runError(t, err, KindUnavailable)
		})
	}
}

func TestRunErrorMessageIsOneLineWithTheStderrHint(t *testing.T) {
	e := &RunError{Kind: KindSkillFailed, Message: "worker exited with status 1 without sending a result\nmore",
		Stderr: "Traceback (most recent call last):\n  File \"x\"\nValueError: boom\n\n"}
	want := "worker exited with status 1 without sending a result (stderr: ValueError: boom)"
	if got := e.Error(); got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if got := (&RunError{Message: "plain"}).Error(); got != "plain" {
		t.Errorf("Error() without stderr = %q", got)
	}
}
