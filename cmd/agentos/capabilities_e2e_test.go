package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/agentos/agentos/engine/wire"
	"github.com/agentos/agentos/internal/testkit"
)

// echoSkill provides "echo": it answers with its own id, or fails the way
// the params ask.
func echoSkill(id string) string {
	return fmt.Sprintf(`from agentos import provides, OpError, http

@provides("echo")
def echo(fail: str = "") -> dict:
    if fail == "unavailable-%[1]s":
        http.get("http://127.0.0.1:1/")  # nothing listens: connection refused
    if fail == "bad":
        raise OpError("invalid", "bad input")
    return {"by": "%[1]s"}
`, id)
}

type invoked struct {
	By string `json:"by"`
}

func invoke(t *testing.T, c *wire.Client, params map[string]any) (string, error) {
	t.Helper()
	var out invoked
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := c.Call(ctx, "capabilities.invoke", params, &out)
	return out.By, err
}

func TestCapabilityResolutionPinPolicyAndFallback(t *testing.T) {
	home := testkit.Home(t)
	testkit.AddSkill(t, home, "local-echo", "http(localhost:11434 127.0.0.1:1)", echoSkill("local-echo"))
	testkit.AddSkill(t, home, "cloud-echo", "http(api.example.com 127.0.0.1:1)", echoSkill("cloud-echo"))
	os.WriteFile(filepath.Join(home, "config.yaml"), []byte("capabilities:\n  echo: {policy: cloud-first}\n"), 0o600)
	d := startDaemon(t, home)
	c := d.client(t)

	if by, err := invoke(t, c, map[string]any{"capability": "echo"}); err != nil || by != "cloud-echo" {
		t.Fatalf("cloud-first chose %q (%v)", by, err)
	}
	var list struct {
		Capabilities []struct {
			Capability string
			Providers  []struct{ Skill, Reason string }
		}
	}
	call(t, c, "capabilities.list", nil, &list)
	// echo sorts after the bundled agent.run, before feeds.sync, llm,
	// notes.import and web.read.
	if len(list.Capabilities) != 6 || list.Capabilities[1].Capability != "echo" || list.Capabilities[1].Providers[0].Skill != "cloud-echo" ||
		!strings.Contains(list.Capabilities[1].Providers[0].Reason, "cloud-first") {
		t.Fatalf("capabilities.list: %+v", list)
	}

	// A pin beats the policy, survives a restart (it is in config.yaml), and clears.
	call(t, c, "capabilities.prefer", map[string]any{"capability": "echo", "skill": "local-echo"}, nil)
	if by, _ := invoke(t, c, map[string]any{"capability": "echo"}); by != "local-echo" {
		t.Fatalf("pin ignored: %q", by)
	}
	r := agentos(t, home, "call", "capabilities.list")
	if !strings.Contains(r.stdout, "pinned by the user") {
		t.Fatalf("reason does not mention the pin:\n%s", r.stdout)
	}
	d.stop()
	d = startDaemon(t, home)
	c = d.client(t)
	if by, _ := invoke(t, c, map[string]any{"capability": "echo"}); by != "local-echo" {
		t.Fatalf("pin lost on restart: %q", by)
	}
	call(t, c, "capabilities.prefer", map[string]any{"capability": "echo", "skill": ""}, nil)

	// Fallback on unavailable, not on bad input.
	if by, err := invoke(t, c, map[string]any{"capability": "echo", "params": map[string]any{"fail": "unavailable-cloud-echo"}}); err != nil || by != "local-echo" {
		t.Fatalf("no fallback after connection refused: %q %v", by, err)
	}
	_, err := invoke(t, c, map[string]any{"capability": "echo", "params": map[string]any{"fail": "bad"}})
	wantErr(t, err, wire.KindInvalid, "bad input")
	var jobs struct{ Jobs []wire.Job }
	call(t, c, "jobs.list", nil, &jobs)
	if len(jobs.Jobs) == 0 || len(jobs.Jobs[0].Attempts) != 1 || jobs.Jobs[0].Skill != "cloud-echo" {
		t.Fatalf("the bad-input job should show one attempt, on cloud-echo: %+v", jobs.Jobs[0])
	}
	// An explicit provider wins over everything; an unknown one is not_found.
	if by, _ := invoke(t, c, map[string]any{"capability": "echo", "provider": "local-echo"}); by != "local-echo" {
		t.Fatalf("explicit provider ignored: %q", by)
	}
	_, err = invoke(t, c, map[string]any{"capability": "nothing"})
	wantErr(t, err, wire.KindNoProvider, "nothing")
}

func TestLocalFirstPolicyChoosesTheLocalProvider(t *testing.T) {
	home := testkit.Home(t)
	testkit.AddSkill(t, home, "a-cloud", "http(api.example.com)", echoSkill("a-cloud"))
	testkit.AddSkill(t, home, "b-local", "http(127.0.0.1:8080)", echoSkill("b-local"))
	os.WriteFile(filepath.Join(home, "config.yaml"), []byte("capabilities:\n  echo: {policy: local-first}\n"), 0o600)
	c := startDaemon(t, home).client(t)
	if by, err := invoke(t, c, map[string]any{"capability": "echo"}); err != nil || by != "b-local" {
		t.Fatalf("local-first chose %q (%v)", by, err)
	}
}

func TestCancelKillsTheWholeTreeIncludingNestedCalls(t *testing.T) {
	home := testkit.Home(t)
	testkit.AddSkill(t, home, "hanger", "capability(hang)", testkit.HangTools)
	d := startDaemon(t, home)
	c := d.client(t)
	// The skill's folder marks its workers' command lines, and hang marks
	// its child's with it too.
	marker := testkit.SkillDir(home, "hanger")
	var started struct{ Job string }
	call(t, c, "capabilities.invoke", map[string]any{"capability": "outer", "params": map[string]any{"marker": marker}, "async": true}, &started)
	if started.Job == "" {
		t.Fatal("async invoke gave no job id")
	}
	// Wait until outer, the nested hang and its child all run.
	pids := testkit.WaitMarked(t, marker, 3)
	pids = append(pids, testkit.SandboxHelpers(pids)...)
	var jobs struct{ Jobs []wire.Job }
	call(t, c, "jobs.list", nil, &jobs)
	var nested *wire.Job
	for i, j := range jobs.Jobs {
		if j.Parent == started.Job {
			nested = &jobs.Jobs[i]
		}
	}
	if nested == nil || nested.State != wire.JobRunning {
		t.Fatalf("no running nested job under %s: %+v", started.Job, jobs.Jobs)
	}
	var cancelled wire.Job
	call(t, c, "jobs.cancel", map[string]any{"id": started.Job}, &cancelled)
	if cancelled.State != wire.JobCancelled {
		t.Fatalf("job after cancel: %+v", cancelled)
	}
	testkit.WaitNoneMarked(t, marker, "the cancelled job")
	for _, pid := range pids {
		testkit.WaitGone(t, pid, "the cancelled job")
	}
	var nj wire.Job
	call(t, c, "jobs.get", map[string]any{"id": nested.ID}, &nj)
	if nj.State != wire.JobCancelled && nj.State != wire.JobFailed {
		t.Fatalf("nested job after cancel: %+v", nj)
	}
	call(t, c, "system.ping", nil, nil)
}

func TestCLIInvokeShowsProgressAndPrintsTheResult(t *testing.T) {
	home := testkit.Home(t)
	testkit.AddSkill(t, home, "counter", "", testkit.CountTools)
	testkit.AddSkill(t, home, "local-echo", "", echoSkill("local-echo"))
	startDaemon(t, home)
	r := agentos(t, home, "invoke", "count", `{"n": 3}`)
	if r.code != 0 || !strings.Contains(r.stdout, `"counted": 3`) {
		t.Fatalf("invoke: %+v", r)
	}
	// stderr is not a terminal here: progress comes as plain lines, no escape codes.
	if !strings.Contains(r.stderr, "100%") || !strings.Contains(r.stderr, "step 3") || strings.Contains(r.stderr, "\x1b[") {
		t.Fatalf("no plain progress on stderr: %q", r.stderr)
	}
	r = agentos(t, home, "invoke", "--async", "count", `{"n": 1}`)
	if r.code != 0 || !strings.Contains(r.stdout, `"job"`) {
		t.Fatalf("invoke --async: %+v", r)
	}
	if r := agentos(t, home, "invoke", "nothing"); r.code != exitError || !strings.Contains(r.stderr, "no_provider") {
		t.Fatalf("invoke of an unprovided capability: %+v", r)
	}
	if r := agentos(t, home, "invoke", "count", "[1]"); r.code != exitUsage {
		t.Fatalf("invoke with non-object params: %+v", r)
	}
	r = agentos(t, home, "capabilities")
	if r.code != 0 || !strings.Contains(r.stdout, "counter/count") || !strings.Contains(r.stdout, "the only provider") {
		t.Fatalf("capabilities: %+v", r)
	}
	if r := agentos(t, home, "prefer", "echo", "local-echo"); r.code != 0 {
		t.Fatalf("prefer: %+v", r)
	}
	if b, _ := os.ReadFile(filepath.Join(home, "config.yaml")); !strings.Contains(string(b), "pin: local-echo") {
		t.Fatalf("pin not saved:\n%s", b)
	}
	if r := agentos(t, home, "prefer", "echo", "counter"); r.code != exitError {
		t.Fatalf("pinning a skill that does not provide it: %+v", r)
	}
}
