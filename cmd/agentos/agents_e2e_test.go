package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentos/agentos/engine/wire"
	"github.com/agentos/agentos/internal/testkit"
	"github.com/mark3labs/mcp-go/mcp"
)

// labTools are the capabilities the test agents call.
const labTools = `
import time
from agentos import provides


@provides("lab.lookup")
def lookup(city: str) -> dict:
    """Look up a city's temperature."""
    return {"city": city, "temp": {"Paris": 12, "Oslo": -3}.get(city, 20)}


@provides("lab.fail")
def fail() -> str:
    """Always fails."""
    raise RuntimeError("the lab is closed")


@provides("lab.nap")
def nap(seconds: float) -> str:
    """Sleep a while."""
    time.sleep(seconds)
    return f"slept {seconds}"


@provides("lab.secret")
def secret() -> str:
    """A tool no agent lists."""
    return "the secret"
`

// scriptedLLM is an OpenAI-compatible chat-completions server on
// 127.0.0.1 that plays the model: by the task (the first user message) it
// answers with tool calls, then with text built from the tool results it
// was sent, so an agent's whole loop runs for real.
type scriptedLLM struct {
	srv  *httptest.Server
	mu   sync.Mutex
	seen [][]map[string]any // the messages of each request
	tool [][]string         // the tool names offered in each request
	// marker is the argument the "hang" task's call to testkit.HangTools'
	// hang gives, to find its processes by.
	marker string
}

func newScriptedLLM(t *testing.T) *scriptedLLM {
	s := &scriptedLLM{}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Messages []map[string]any `json:"messages"`
			Tools    []struct {
				Function struct {
					Name string `json:"name"`
				} `json:"function"`
			} `json:"tools"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		var names []string
		for _, tl := range body.Tools {
			names = append(names, tl.Function.Name)
		}
		s.mu.Lock()
		s.seen = append(s.seen, body.Messages)
		s.tool = append(s.tool, names)
		s.mu.Unlock()
		task, _ := body.Messages[1]["content"].(string)
		var results []string
		for _, m := range body.Messages {
			if m["role"] == "tool" {
				results = append(results, fmt.Sprint(m["content"]))
			}
		}
		calls := func(cs ...string) { // name:arguments pairs
			var tc []string
			for i, c := range cs {
				name, args, _ := strings.Cut(c, ":")
				tc = append(tc, fmt.Sprintf(`{"id":"call_%d_%d","type":"function","function":{"name":%q,"arguments":%q}}`, len(results), i, name, args))
			}
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"id":"c","object":"chat.completion","model":"gpt-test","choices":[{"index":0,"message":{"role":"assistant","content":"","tool_calls":[%s]},"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":10,"completion_tokens":5}}`, strings.Join(tc, ","))
		}
		say := func(text string) {
			b, _ := json.Marshal(text)
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"id":"c","object":"chat.completion","model":"gpt-test","choices":[{"index":0,"message":{"role":"assistant","content":%s},"finish_reason":"stop"}],"usage":{"prompt_tokens":10,"completion_tokens":5}}`, b)
		}
		switch {
		case task == "loop":
			calls(`lab_lookup:{"city":"Paris"}`)
		case len(results) > 0:
			say("answer from: " + strings.Join(results, " | "))
		case task == "one city":
			calls(`lab_lookup:{"city":"Paris"}`)
		case task == "two cities":
			calls(`lab_lookup:{"city":"Paris"}`, `lab_lookup:{"city":"Oslo"}`)
		case task == "a secret":
			calls(`lab_secret:{}`)
		case task == "a failure":
			calls(`lab_fail:{}`)
		case task == "delegate":
			calls(`agent_helper:{"task":"one city"}`)
		case task == "hang":
			b, _ := json.Marshal(map[string]string{"marker": s.marker})
			calls(`hang:` + string(b))
		case task == "chain": // delegate to whoever is offered, else answer
			for _, n := range names {
				if strings.HasPrefix(n, "agent_") {
					calls(n + `:{"task":"chain"}`)
					return
				}
			}
			say("the bottom")
		case task == "delegate hang":
			calls(`agent_hanger:{"task":"hang"}`)
		case task == "nap":
			calls(`lab_nap:{"seconds":1.5}`)
		case task == "long nap":
			calls(`lab_nap:{"seconds":4}`)
		default:
			say("nothing to do for " + task)
		}
	}))
	t.Cleanup(s.srv.Close)
	return s
}

// agentsHome is a home whose llm is the scripted server (through the
// bundled openai skill), with the lab skill and agents files.
func agentsHome(t *testing.T, llm *scriptedLLM, files map[string]string) string {
	t.Helper()
	home := testkit.Home(t)
	cfg := fmt.Sprintf("skills:\n  openai:\n    settings:\n      base_url: %s/v1\n      models: [gpt-test]\ncapabilities:\n  llm:\n    pin: openai\n", llm.srv.URL)
	if err := os.WriteFile(filepath.Join(home, "config.yaml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	testkit.AddSkill(t, home, "lab", "", labTools)
	if err := os.MkdirAll(filepath.Join(home, "agents"), 0o700); err != nil {
		t.Fatal(err)
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(home, "agents", name+".md"), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return home
}

const weatherAgent = `---
name: weather
description: Answers questions about the weather of cities.
tools: [lab.lookup, lab.fail]
delegate: [helper]
max_turns: 3
---
You know the weather. Use lab_lookup for each city.
`

const helperAgent = `---
name: helper
description: Looks cities up for other agents.
tools: lab.lookup
---
You help.
`

type agentResult struct {
	Answer, Run, Outcome, Error string
	Turns                       int
	Usage                       struct {
		InputTokens  int `json:"input_tokens"`
		OutputTokens int `json:"output_tokens"`
	}
}

func runAgentJob(t *testing.T, c *wire.Client, agent, task string) agentResult {
	t.Helper()
	var started struct{ Job string }
	call(t, c, wire.MethodInvoke, map[string]any{"capability": "agent.run", "params": map[string]any{"agent": agent, "task": task}, "async": true}, &started)
	j := waitJob(t, c, started.Job)
	if j.State != wire.JobCompleted {
		t.Fatalf("agent.run %s %q: job %s: %+v", agent, task, j.State, j.Error)
	}
	var r agentResult
	if err := json.Unmarshal(j.Result, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// An agent's loop against a model server: one tool call and an answer
// built from its result; two calls in one turn; max_turns; a tool outside
// its list refused to the model (and not run); a failing tool's error fed
// back; a delegation to another agent. Each run is an agent_run node with
// the messages, tool calls, usage and outcome, linked to its agent (and a
// delegated run to its parent).
func TestAgentsRunToolLoopsAgainstAModel(t *testing.T) {
	llm := newScriptedLLM(t)
	home := agentsHome(t, llm, map[string]string{"weather": weatherAgent, "helper": helperAgent})
	d := startDaemon(t, home)
	c := d.client(t)
	call(t, c, wire.MethodSecretsSet, map[string]any{"name": "openai", "value": "sk-test"}, nil)

	r := runAgentJob(t, c, "weather", "one city")
	if r.Outcome != "completed" || r.Turns != 2 || r.Answer != `answer from: {"city":"Paris","temp":12}` || r.Usage.InputTokens != 20 {
		t.Fatalf("one city: %+v", r)
	}
	var run struct {
		Shapes []string
		Fields struct {
			AgentName string `json:"agent_name"`
			Task      string
			Outcome   string
			Turns     int
			Answer    string
			Messages  []struct{ Role, Content string }
			ToolCalls []struct {
				Tool, Capability, Result string
				Arguments                map[string]any
			} `json:"tool_calls"`
			Usage struct {
				InputTokens int `json:"input_tokens"`
			}
		}
	}
	call(t, c, wire.MethodRead, map[string]any{"id": r.Run}, &run)
	f := run.Fields
	if f.AgentName != "weather" || f.Task != "one city" || f.Outcome != "completed" || f.Turns != 2 || f.Usage.InputTokens != 20 ||
		len(f.Messages) != 5 || f.Messages[0].Role != "system" || f.Messages[3].Role != "tool" || f.Messages[4].Role != "assistant" ||
		len(f.ToolCalls) != 1 || f.ToolCalls[0].Capability != "lab.lookup" || f.ToolCalls[0].Arguments["city"] != "Paris" ||
		!strings.Contains(f.ToolCalls[0].Result, `"temp":12`) {
		t.Fatalf("the run node: %+v", run)
	}
	var nb struct {
		Edges []struct{ From, Label, To string }
		Nodes []struct {
			ID     string
			Shapes []string
			Fields map[string]any
		}
	}
	call(t, c, wire.MethodNeighbors, map[string]any{"id": r.Run}, &nb)
	linked := false
	for _, n := range nb.Nodes {
		if n.Fields["name"] == "weather" && strings.Contains(strings.Join(n.Shapes, ","), "agent") {
			linked = true
		}
	}
	if !linked {
		t.Errorf("the run is not linked to its agent: %+v", nb)
	}

	if r := runAgentJob(t, c, "weather", "two cities"); r.Outcome != "completed" ||
		r.Answer != `answer from: {"city":"Paris","temp":12} | {"city":"Oslo","temp":-3}` {
		t.Errorf("two cities: %+v", r)
	}
	if r := runAgentJob(t, c, "weather", "loop"); r.Outcome != "max_turns" || r.Turns != 3 {
		t.Errorf("loop: %+v", r)
	}
	r = runAgentJob(t, c, "weather", "a secret")
	if r.Outcome != "completed" || !strings.Contains(r.Answer, `error: tool "lab_secret" is not one this agent may use`) {
		t.Errorf("a secret: %+v", r)
	}
	var jobs struct{ Jobs []wire.Job }
	call(t, c, wire.MethodJobsList, nil, &jobs)
	for _, j := range jobs.Jobs {
		if j.Capability == "lab.secret" {
			t.Errorf("the refused tool ran: %+v", j)
		}
	}
	if r := runAgentJob(t, c, "weather", "a failure"); r.Outcome != "completed" || !strings.Contains(r.Answer, "error: ") || !strings.Contains(r.Answer, "the lab is closed") {
		t.Errorf("a failure: %+v", r)
	}

	// Delegation: the helper runs as a child run, and the weather agent
	// answers from what it said.
	r = runAgentJob(t, c, "weather", "delegate")
	if r.Outcome != "completed" || !strings.Contains(r.Answer, `"outcome":"completed"`) || !strings.Contains(r.Answer, `temp`) {
		t.Fatalf("delegate: %+v", r)
	}
	var child struct {
		Runs []struct {
			ID     string
			Fields map[string]any
		} `json:"nodes"`
	}
	call(t, c, wire.MethodRead, map[string]any{"shape": "agent_run", "where": map[string]any{"agent_name": "helper"}}, &child)
	if len(child.Runs) != 1 || child.Runs[0].Fields["outcome"] != "completed" {
		t.Fatalf("the helper's run: %+v", child)
	}
	call(t, c, wire.MethodNeighbors, map[string]any{"id": child.Runs[0].ID}, &nb)
	parented := false
	for _, e := range nb.Edges {
		if e.From == child.Runs[0].ID && e.Label == "parent" && e.To == r.Run {
			parented = true
		}
	}
	if !parented {
		t.Errorf("the helper's run is not linked to its parent %s: %+v", r.Run, nb.Edges)
	}
	// The helper was offered only its own tools (depth 1 may delegate, but
	// it lists no one).
	llm.mu.Lock()
	offered := llm.tool
	llm.mu.Unlock()
	for i, names := range offered {
		if strings.Join(names, ",") == "lab_lookup" {
			break
		}
		if i == len(offered)-1 {
			t.Errorf("no request offered the helper's tools alone: %v", offered)
		}
	}
}

// Delegation goes two levels deep: the run at depth 2 is offered no
// delegates, though its file lists one, and answers itself.
func TestAgentsDelegateAtMostTwoLevels(t *testing.T) {
	llm := newScriptedLLM(t)
	chain := func(name, next string) string {
		return "---\nname: " + name + "\ndescription: A link in a chain.\ntools: []\ndelegate: [" + next + "]\n---\nPass it on.\n"
	}
	home := agentsHome(t, llm, map[string]string{
		"chain0": chain("chain0", "chain1"), "chain1": chain("chain1", "chain2"),
		"chain2": chain("chain2", "chain3"), "chain3": chain("chain3", "chain0")})
	d := startDaemon(t, home)
	c := d.client(t)
	call(t, c, wire.MethodSecretsSet, map[string]any{"name": "openai", "value": "sk-test"}, nil)
	r := runAgentJob(t, c, "chain0", "chain")
	if r.Outcome != "completed" || !strings.Contains(r.Answer, `the bottom`) {
		t.Fatalf("chain0: %+v", r)
	}
	var runs struct {
		Nodes []struct{ Fields map[string]any }
	}
	call(t, c, wire.MethodRead, map[string]any{"shape": "agent_run"}, &runs)
	var ran []string
	for _, n := range runs.Nodes {
		ran = append(ran, fmt.Sprint(n.Fields["agent_name"]))
	}
	sort.Strings(ran)
	if strings.Join(ran, ",") != "chain0,chain1,chain2" {
		t.Errorf("runs %v: want chain0, chain1 and chain2 only", ran)
	}
	llm.mu.Lock()
	defer llm.mu.Unlock()
	for _, names := range llm.tool {
		if slices.Contains(names, "agent_chain3") {
			t.Errorf("the depth-2 run was offered a delegate: %v", names)
		}
	}
}

// Cancelling an agent's job mid-run cancels the run it delegated to and
// that run's tool call: the hanging skill's processes are killed, and both
// runs are recorded cancelled.
func TestAgentsCancelKillsTheRunsToolCalls(t *testing.T) {
	llm := newScriptedLLM(t)
	home := agentsHome(t, llm, map[string]string{
		"boss": `---
name: boss
description: Hands the work to the hanger.
tools: []
delegate: [hanger]
---
Delegate.
`,
		"hanger": `---
name: hanger
description: Calls a tool that hangs.
tools: [hang]
---
Hang.
`})
	testkit.AddSkill(t, home, "hanger", "", testkit.HangTools)
	llm.marker = testkit.SkillDir(home, "hanger") // on the worker's command line and its child's
	d := startDaemon(t, home)
	c := d.client(t)
	call(t, c, wire.MethodSecretsSet, map[string]any{"name": "openai", "value": "sk-test"}, nil)
	var started struct{ Job string }
	call(t, c, wire.MethodInvoke, map[string]any{"capability": "agent.run", "params": map[string]any{"agent": "boss", "task": "delegate hang"}, "async": true}, &started)
	pids := testkit.WaitMarked(t, llm.marker, 2)
	pids = append(pids, testkit.SandboxHelpers(pids)...)
	var hang wire.Job
	var jobs struct{ Jobs []wire.Job }
	call(t, c, wire.MethodJobsList, nil, &jobs)
	for _, j := range jobs.Jobs {
		if j.Capability == "hang" && j.State == wire.JobRunning {
			hang = j
		}
	}
	if hang.ID == "" {
		t.Fatalf("no running job for the hanging tool: %+v", jobs.Jobs)
	}

	call(t, c, wire.MethodJobsCancel, map[string]any{"id": started.Job}, nil)
	testkit.WaitNoneMarked(t, llm.marker, "the cancelled agent run")
	for _, pid := range pids {
		testkit.WaitGone(t, pid, "the cancelled agent run")
	}
	if j := waitJob(t, c, hang.ID); j.State != wire.JobCancelled {
		t.Errorf("the hanging tool's job is %s", j.State)
	}
	if j := waitJob(t, c, started.Job); j.State != wire.JobCancelled {
		t.Errorf("the agent's job is %s", j.State)
	}
	for _, agent := range []string{"hanger", "boss"} {
		var runs struct {
			Nodes []struct{ Fields map[string]any }
		}
		deadline := time.Now().Add(20 * time.Second)
		for {
			call(t, c, wire.MethodRead, map[string]any{"shape": "agent_run", "where": map[string]any{"agent_name": agent}}, &runs)
			if len(runs.Nodes) == 1 && runs.Nodes[0].Fields["outcome"] == "cancelled" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s's run is not recorded cancelled: %+v", agent, runs)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// A mission runs on its schedule once enabled, never overlapping itself
// (each run here outlasts every), and stops once disabled. Missions are off
// until enabled.
func TestAgentMissionsRunOnScheduleWithoutOverlap(t *testing.T) {
	llm := newScriptedLLM(t)
	home := agentsHome(t, llm, map[string]string{"napper": `---
name: napper
description: Naps on a schedule.
tools: [lab.nap]
mission: nap
every: 1s
---
Nap.
`})
	d := startDaemon(t, home)
	c := d.client(t)
	call(t, c, wire.MethodSecretsSet, map[string]any{"name": "openai", "value": "sk-test"}, nil)
	type runNode struct {
		Fields struct {
			Outcome        string
			Started, Ended time.Time
		}
	}
	runs := func() []runNode {
		var out struct{ Nodes []runNode }
		call(t, c, wire.MethodRead, map[string]any{"shape": "agent_run", "where": map[string]any{"agent_name": "napper"}}, &out)
		return out.Nodes
	}
	time.Sleep(1500 * time.Millisecond)
	if n := len(runs()); n != 0 {
		t.Fatalf("%d runs before the mission was enabled", n)
	}
	if r := agentos(t, home, "agents", "enable", "napper"); r.code != 0 || !strings.Contains(r.stdout, "mission enabled") {
		t.Fatalf("enable: %+v", r)
	}
	if r := agentos(t, home, "agents", "list"); !strings.Contains(r.stdout, "every 1s, on") {
		t.Errorf("list after enable: %+v", r)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		done := 0
		for _, r := range runs() {
			if r.Fields.Outcome == "completed" {
				done++
			}
		}
		if done >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the mission did not run three times: %+v", runs())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if r := agentos(t, home, "agents", "disable", "napper"); r.code != 0 {
		t.Fatalf("disable: %+v", r)
	}
	off := time.Now()
	// The run going on when it was disabled ends; none starts after.
	time.Sleep(3 * time.Second)
	all := runs()
	sort.Slice(all, func(i, j int) bool { return all[i].Fields.Started.Before(all[j].Fields.Started) })
	for i, r := range all {
		if r.Fields.Started.After(off) {
			t.Errorf("run %d started after the mission was disabled: %+v", i, r)
		}
		if i > 0 && r.Fields.Started.Before(all[i-1].Fields.Ended) {
			t.Errorf("run %d (started %s) overlaps run %d (ended %s)", i, r.Fields.Started, i-1, all[i-1].Fields.Ended)
		}
	}
	if r := agentos(t, home, "agents", "enable", "nobody"); r.code == 0 || !strings.Contains(r.stderr, "no agent") {
		t.Errorf("enable an unknown agent: %+v", r)
	}
}

// agentos agents run prints each step as it happens (stderr) and the
// answer (stdout); agents show prints the file.
func TestAgentsRunCommandPrintsTheRunLive(t *testing.T) {
	llm := newScriptedLLM(t)
	home := agentsHome(t, llm, map[string]string{"weather": weatherAgent, "helper": helperAgent})
	d := startDaemon(t, home)
	call(t, d.client(t), wire.MethodSecretsSet, map[string]any{"name": "openai", "value": "sk-test"}, nil)
	r := agentos(t, home, "agents", "run", "weather", "one city")
	if r.code != 0 || strings.TrimSpace(r.stdout) != `answer from: {"city":"Paris","temp":12}` {
		t.Fatalf("agents run: %+v", r)
	}
	for _, want := range []string{"weather: started (run ", "weather: turn 1: asking the model", `weather: calling lab_lookup {"city":"Paris"}`,
		`weather: lab_lookup answered {"city":"Paris","temp":12}`, "weather: answered", "completed after 2 turns"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	if r := agentos(t, home, "agents", "show", "weather"); r.code != 0 || !strings.Contains(r.stdout, "lab.lookup, lab.fail") || !strings.Contains(r.stdout, "You know the weather.") {
		t.Errorf("agents show: %+v", r)
	}
	if r := agentos(t, home, "agents", "run", "nobody", "x"); r.code != 1 || !strings.Contains(r.stderr, `no such agent "nobody"`) {
		t.Errorf("agents run nobody: %+v", r)
	}
}

// Through `agentos mcp` with mcp-go's client: agent_run is a tool (the
// capability) whose steps arrive as progress, each agent is a prompt whose
// argument is the task, and a new agent file shows up in prompts/list.
func TestAgentsOverMCP(t *testing.T) {
	llm := newScriptedLLM(t)
	home := agentsHome(t, llm, map[string]string{"weather": weatherAgent, "helper": helperAgent})
	d := startDaemon(t, home)
	call(t, d.client(t), wire.MethodSecretsSet, map[string]any{"name": "openai", "value": "sk-test"}, nil)
	c, _ := mcpClient(t, home, mcp.ClientCapabilities{})
	var mu sync.Mutex
	var progress []string
	changed := make(chan struct{}, 8)
	c.OnNotification(func(n mcp.JSONRPCNotification) {
		switch n.Method {
		case string(mcp.MethodNotificationProgress):
			msg, _ := n.Params.AdditionalFields["message"].(string)
			mu.Lock()
			progress = append(progress, msg)
			mu.Unlock()
		case string(mcp.MethodNotificationPromptsListChanged):
			changed <- struct{}{}
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var req mcp.CallToolRequest
	req.Params.Name = "agent_run"
	req.Params.Arguments = map[string]any{"agent": "weather", "task": "one city"}
	req.Params.Meta = &mcp.Meta{ProgressToken: "p1"}
	res, err := c.CallTool(ctx, req)
	if err != nil || res.IsError {
		t.Fatalf("agent_run: %v %+v", err, res)
	}
	var got agentResult
	if err := json.Unmarshal([]byte(res.Content[0].(mcp.TextContent).Text), &got); err != nil || got.Outcome != "completed" ||
		got.Answer != `answer from: {"city":"Paris","temp":12}` {
		t.Fatalf("agent_run result %s (%v)", res.Content[0].(mcp.TextContent).Text, err)
	}
	mu.Lock()
	steps := strings.Join(progress, "\n")
	mu.Unlock()
	if !strings.Contains(steps, "weather: calling lab_lookup") || !strings.Contains(steps, "weather: answered") {
		t.Errorf("progress notifications: %q", steps)
	}

	prompts, err := c.ListPrompts(ctx, mcp.ListPromptsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var weather *mcp.Prompt
	for i, p := range prompts.Prompts {
		if p.Name == "weather" {
			weather = &prompts.Prompts[i]
		}
	}
	if weather == nil || len(weather.Arguments) != 1 || weather.Arguments[0].Name != "task" || !weather.Arguments[0].Required {
		t.Fatalf("the weather prompt: %+v", prompts.Prompts)
	}
	var get mcp.GetPromptRequest
	get.Params.Name = "weather"
	get.Params.Arguments = map[string]string{"task": "Is it cold in Oslo?"}
	pr, err := c.GetPrompt(ctx, get)
	if err != nil {
		t.Fatal(err)
	}
	text := pr.Messages[0].Content.(mcp.TextContent).Text
	if !strings.Contains(text, "You know the weather.") || !strings.Contains(text, "Is it cold in Oslo?") || !strings.Contains(text, "agent_run") {
		t.Errorf("the weather prompt's text: %q", text)
	}

	if err := os.WriteFile(filepath.Join(home, "agents", "poet.md"), []byte("---\nname: poet\ndescription: Writes poems.\ntools: [lab.lookup]\n---\nRhyme.\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(20 * time.Second)
	for {
		select {
		case <-changed:
		case <-deadline:
			t.Fatal("no prompts/list_changed after a new agent file")
		}
		prompts, err := c.ListPrompts(ctx, mcp.ListPromptsRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if slices.ContainsFunc(prompts.Prompts, func(p mcp.Prompt) bool { return p.Name == "poet" }) {
			break
		}
	}
}

// The web UI's Runs view in headless Chromium: a run started while the list
// is open appears without a reload, its page shows its steps live and then
// as recorded, with the answer and a link to its agent. The screenshot is
// left in .ci/artifacts/runs.png.
func TestAgentRunsViewInChromium(t *testing.T) {
	tools := requireCITools(t)
	chromium := tools.needChromium(t)
	shot := filepath.Join(artifactsDir(t), "runs.png")
	os.Remove(shot)
	llm := newScriptedLLM(t)
	home := agentsHome(t, llm, map[string]string{"napper": "---\nname: napper\ndescription: Naps.\ntools: [lab.nap]\n---\nNap.\n"})
	d, url := startDaemonBridge(t, home)
	c := d.client(t)
	call(t, c, wire.MethodSecretsSet, map[string]any{"name": "openai", "value": "sk-test"}, nil)
	waitBridge(t, url)
	runBrowserScript(t, tools, "runs.mjs", 2*time.Minute, []string{"RUNS_URL=" + url, "RUNS_SCREENSHOT=" + shot,
		"RUNS_NODE_MODULES=" + tools.NodeModules, "RUNS_CHROMIUM=" + chromium},
		func(line string, answer io.Writer) {
			if line == "RUN" {
				var started struct{ Job string }
				call(t, c, wire.MethodInvoke, map[string]any{"capability": "agent.run", "params": map[string]any{"agent": "napper", "task": "long nap"}, "async": true}, &started)
				fmt.Fprintf(answer, "STARTED %s\n", started.Job)
			}
		})
	if _, err := os.Stat(shot); err != nil {
		t.Errorf("no screenshot: %v", err)
	}
}
