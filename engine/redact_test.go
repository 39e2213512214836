package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentos/agentos/engine/wire"
	"github.com/agentos/agentos/internal/testkit"
)

// leakTools gets a secret through the op and then does everything a careless
// or hostile tool could do with it short of returning it: logs it through the
// SDK, reports it as progress, prints it to stderr and to stdout, raises with
// it. The nested pair gets it in a job below and raises with it above.
const leakTools = `import sys
from agentos import provides, secrets, log, progress, capability

@provides("leak.raise")
def leak_raise() -> dict:
    v = secrets.get("apikey")
    log.error("calling the api with %s", v)
    log.warning("key=" + v)
    progress(1, 2, "authenticating as " + v)
    print("debug: token " + v, file=sys.stderr)
    sys.stderr.flush()
    raise RuntimeError("the api refused key " + v + " (401)")

@provides("leak.stdout")
def leak_stdout() -> dict:
    v = secrets.get("apikey")
    # A non-protocol line on the protocol's own pipe: the engine quotes its
    # start, clipped inside the value.
    from agentos import _conn
    _conn.current("leak").send_line(("x" * 100 + v + "\n").encode())
    return {}

@provides("leak.fetch")
def leak_fetch() -> dict:
    return {"v": secrets.get("apikey")}

@provides("leak.outer")
def leak_outer() -> dict:
    got = capability("leak.fetch").invoke({})
    raise ValueError("inner gave me " + got["v"])
`

const leakSecret = "sk-LEAK-0123456789abcdef-PLAIN"

// A secret a tool got is nowhere in what the engine says about the call: the
// error the caller gets, jobs.get (the result it keeps too), the observer's
// events, logs/engine.log. (The tool that returns it still gives it to its
// caller: here the nested call, whose parent then raises with it.)
func TestSecretsHandedToACallAreRedacted(t *testing.T) {
	home := testkit.Home(t)
	testkit.AddSkill(t, home, "leaky", "secrets(apikey) capability(leak.fetch)", leakTools)
	testkit.RunEngine(t, home)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := wire.DialHome(ctx, home, wire.ClientOptions{Name: "test"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	var evMu sync.Mutex
	var events []wire.Event
	if _, err := c.Subscribe(ctx, -1, func(ev wire.Event) {
		evMu.Lock()
		events = append(events, ev)
		evMu.Unlock()
	}); err != nil {
		t.Fatal(err)
	}
	if err := c.Call(ctx, "secrets.set", map[string]string{"name": "apikey", "value": leakSecret}, nil); err != nil {
		t.Fatal(err)
	}

	leaks := func(what, text string) {
		t.Helper()
		// The whole value, and any 8 bytes of it (a clipped message).
		for i := 0; i+8 <= len(leakSecret); i++ {
			if strings.Contains(text, leakSecret[i:i+8]) {
				t.Errorf("%s holds (part of) the secret %q: %s", what, leakSecret[i:i+8], text)
				return
			}
		}
	}
	var jobIDs []string
	for _, tc := range []struct{ capability, mustSay string }{
		{"leak.raise", "[redacted:apikey] (401)"},
		{"leak.stdout", "[redacted:apikey]"},
		{"leak.outer", "inner gave me [redacted:apikey]"},
	} {
		var res json.RawMessage
		err := c.Call(ctx, "capabilities.invoke", map[string]any{"capability": tc.capability, "params": map[string]any{}}, &res)
		var we *wire.Error
		if !errors.As(err, &we) {
			t.Fatalf("%s: got %v (%s), want an engine error", tc.capability, err, res)
		}
		leaks(tc.capability+" error", we.Message)
		if !strings.Contains(we.Message, tc.mustSay) {
			t.Errorf("%s error %q does not say %q", tc.capability, we.Message, tc.mustSay)
		}
	}

	// jobs.get of every job, nested ones included.
	var list struct {
		Jobs []wire.Job `json:"jobs"`
	}
	if err := c.Call(ctx, wire.MethodJobsList, nil, &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Jobs) < 4 {
		t.Fatalf("jobs.list has %d jobs, want the 3 calls and the nested one", len(list.Jobs))
	}
	for _, j := range list.Jobs {
		jobIDs = append(jobIDs, j.ID)
	}
	sawProgress := false
	for _, id := range jobIDs {
		var raw json.RawMessage
		if err := c.Call(ctx, wire.MethodJobsGet, wire.IDParams{ID: id}, &raw); err != nil {
			t.Fatal(err)
		}
		var j wire.Job
		if err := json.Unmarshal(raw, &j); err != nil {
			t.Fatal(err)
		}
		if j.Progress != nil && strings.Contains(j.Progress.Message, "authenticating as [redacted:apikey]") {
			sawProgress = true
		}
		if j.Tool == "leak_fetch" && !strings.Contains(string(j.Result), `"v":"[redacted:apikey]"`) {
			t.Errorf("the nested job's kept result is %s, want the value redacted", j.Result)
		}
		b, _ := json.Marshal(j)
		leaks("jobs.get "+id, string(b))
	}
	if !sawProgress {
		t.Error("no job's progress says the redacted message")
	}

	// Every event published, from the start (a ping makes sure the last ones are in).
	if err := c.Call(ctx, "system.ping", nil, nil); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	evMu.Lock()
	var failed int
	for _, ev := range events {
		b, _ := json.Marshal(ev)
		leaks("event "+ev.Type, string(b))
		if ev.Error != "" {
			failed++
		}
	}
	evMu.Unlock()
	if failed < 3 {
		t.Errorf("only %d events carry an error: the check saw nothing", failed)
	}

	logb, err := os.ReadFile(filepath.Join(home, "logs", "engine.log"))
	if err != nil {
		t.Fatal(err)
	}
	leaks("logs/engine.log", string(logb))
	for _, want := range []string{"skill call failed", "calling the api with [redacted:apikey]", "debug: token [redacted:apikey]"} {
		if !strings.Contains(string(logb), want) {
			t.Errorf("logs/engine.log does not have %q:\n%s", want, logb)
		}
	}
}
