package agents

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/agentos/agentos/engine/wire"
)

// Outcomes of a run.
const (
	OutcomeCompleted = "completed"
	OutcomeMaxTurns  = "max_turns"
	OutcomeFailed    = "failed"
	OutcomeCancelled = "cancelled"
	outcomeRunning   = "running"
)

// Kinds of Step.
const (
	StepStarted    = "started"
	StepModelTurn  = "model_turn"
	StepToolCall   = "tool_call"
	StepToolResult = "tool_result"
	StepAnswer     = "answer"
	StepEnded      = "ended"
)

const (
	// MaxDepth is how deep delegation goes: a run of depth MaxDepth is
	// offered no other agents.
	MaxDepth = 2
	// ModelResultBytes bounds a tool result as the model sees it.
	ModelResultBytes = 16 << 10
	// RecordBytes bounds each message and tool result kept in a run's
	// node.
	RecordBytes = 4 << 10
	// delegatePrefix names the tool that hands work to another agent.
	delegatePrefix = "agent_"
)

// ErrNoAgent is the error of a run of an agent that does not exist (or
// whose file did not load).
var ErrNoAgent = errors.New("no such agent")

// ToolSpec is what the model is told of one tool.
type ToolSpec struct {
	Description string
	Parameters  json.RawMessage // JSON Schema of its arguments
}

// Env is what a run reaches the rest of agentos through.
type Env interface {
	// Tool describes a capability (or data.* method) for the model; an
	// error when nothing provides it.
	Tool(ctx context.Context, capability string) (ToolSpec, error)
	// Call runs a capability (llm included) or data.* method as part of
	// the run: a job under the run's job, with its provider's own
	// permissions. Its result, as JSON.
	Call(ctx context.Context, capability string, args json.RawMessage) (json.RawMessage, error)
	// Write is a graph method (data.create, data.write, data.update,
	// data.link) made as the run's agent.
	Write(ctx context.Context, method string, params any) (json.RawMessage, error)
	// Step reports one step of a run to whoever watches.
	Step(ctx context.Context, s Step)
}

// Step is one thing a run did.
type Step struct {
	Run    string `json:"run"`
	Agent  string `json:"agent"`
	Kind   string `json:"kind"`
	Turn   int    `json:"turn,omitempty"`
	Tool   string `json:"tool,omitempty"`
	CallID string `json:"call_id,omitempty"`
	Text   string `json:"text,omitempty"` // the task, the answer, a tool's arguments or result (trimmed)
	Error  bool   `json:"error,omitempty"`
}

// Result is what agent.run returns.
type Result struct {
	Answer  string `json:"answer"`
	Run     string `json:"run"`
	Turns   int    `json:"turns"`
	Outcome string `json:"outcome"`
	Error   string `json:"error,omitempty"`
	Usage   Usage  `json:"usage"`
}

// Usage adds up the llm calls of a run.
type Usage struct {
	InputTokens  int `json:"input_tokens"`
	OutputTokens int `json:"output_tokens"`
}

// Runner runs agents.
type Runner struct {
	Env Env
	// Agents lists the agents as their files say now.
	Agents func() Listing
}

// Options of one run.
type Options struct {
	Parent string // the run that delegated this one
	Depth  int    // 0 for a run a caller asked for
	Model  string // overrides the agent's model

	ancestors []string // the runs above this one, for hiding from its searches
}

type message struct {
	Role       string     `json:"role"`
	Content    string     `json:"content"`
	ToolCalls  []toolCall `json:"tool_calls,omitempty"`
	ToolCallID string     `json:"tool_call_id,omitempty"`
}

type toolCall struct {
	ID        string         `json:"id"`
	Name      string         `json:"name"`
	Arguments map[string]any `json:"arguments"`
}

type llmTool struct {
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Parameters  json.RawMessage `json:"parameters"`
}

type llmResult struct {
	Message message `json:"message"`
	Usage   struct {
		InputTokens  *int `json:"input_tokens"`
		OutputTokens *int `json:"output_tokens"`
	} `json:"usage"`
}

// callRecord is one tool call as the run's node keeps it.
type callRecord struct {
	Turn       int            `json:"turn"`
	ID         string         `json:"id"`
	Tool       string         `json:"tool"`
	Capability string         `json:"capability,omitempty"`
	Agent      string         `json:"agent,omitempty"` // a delegation
	Arguments  map[string]any `json:"arguments"`
	Result     string         `json:"result,omitempty"`
	Error      string         `json:"error,omitempty"`
	Refused    bool           `json:"refused,omitempty"`
	Ms         int64          `json:"ms"`
}

// run is the state of one run.
type run struct {
	r       *Runner
	agent   *Agent
	id      string
	opts    Options
	tools   []llmTool
	byTool  map[string]string // tool name -> capability
	agentOf map[string]string // tool name -> delegate agent
	msgs    []message
	calls   []callRecord
	usage   Usage
	touched []string // nodes its tool calls returned
}

// Run runs agent name on task and records the run.
func (r *Runner) Run(ctx context.Context, name, task string, opts Options) (Result, error) {
	all := r.Agents()
	a := all.Get(name)
	if a == nil {
		for _, p := range all.Problems {
			if strings.TrimSuffix(baseName(p.Path), ".md") == name {
				return Result{}, fmt.Errorf("%w: %s does not load: %s", ErrNoAgent, p.Path, p.Reason)
			}
		}
		return Result{}, fmt.Errorf("%w %q", ErrNoAgent, name)
	}
	if strings.TrimSpace(task) == "" {
		return Result{}, errors.New("the task is empty: say what the agent should do")
	}
	ru := &run{r: r, agent: a, opts: opts, byTool: map[string]string{}, agentOf: map[string]string{}}
	if err := ru.start(ctx, task); err != nil {
		return Result{}, fmt.Errorf("record the run: %w", err)
	}
	ru.offerTools(ctx, all)
	res := ru.loop(ctx)
	ru.finish(ctx, &res)
	return res, nil
}

func baseName(p string) string {
	if i := strings.LastIndexAny(p, `/\`); i >= 0 {
		return p[i+1:]
	}
	return p
}

// start makes the run's node (and the agent's), linked: the run is there
// to see while it goes.
func (ru *run) start(ctx context.Context, task string) error {
	a := ru.agent
	raw, err := ru.r.Env.Write(ctx, "data.write", map[string]any{"shape": "agent", "items": []map[string]any{{
		"name": a.Name, "description": a.Description, "tools": a.Tools, "source": a.Source}}})
	if err != nil {
		return err
	}
	var wrote struct {
		IDs []string `json:"ids"`
	}
	_ = json.Unmarshal(raw, &wrote)
	rel := map[string]any{}
	if len(wrote.IDs) == 1 {
		rel["agent"] = wrote.IDs[0]
	}
	if ru.opts.Parent != "" {
		rel["parent"] = ru.opts.Parent
	}
	raw, err = ru.r.Env.Write(ctx, "data.create", map[string]any{"shape": "agent_run", "fields": map[string]any{
		"title": a.Name + ": " + clip(oneLine(task), 80), "agent_name": a.Name, "task": task,
		"outcome": outcomeRunning, "started": time.Now().UTC().Format(time.RFC3339Nano)}, "relations": rel})
	if err != nil {
		return err
	}
	var node struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(raw, &node); err != nil || node.ID == "" {
		return fmt.Errorf("data.create agent_run gave no id: %.200s", raw)
	}
	ru.id = node.ID
	ru.msgs = []message{{Role: "system", Content: a.Prompt}, {Role: "user", Content: task}}
	ru.step(ctx, Step{Kind: StepStarted, Text: clip(task, RecordBytes)})
	return nil
}

// offerTools tells the model about the agent's tools that something
// provides now, and the agents it may delegate to.
func (ru *run) offerTools(ctx context.Context, all Listing) {
	taken := map[string]bool{}
	for _, c := range ru.agent.Tools {
		spec, err := ru.r.Env.Tool(ctx, c)
		if err != nil {
			ru.step(ctx, Step{Kind: StepToolResult, Tool: c, Text: "not offered: " + err.Error(), Error: true})
			continue
		}
		name := toolName(c, taken)
		ru.byTool[name] = c
		params := spec.Parameters
		if len(params) == 0 {
			params = json.RawMessage(`{"type":"object","properties":{}}`)
		}
		ru.tools = append(ru.tools, llmTool{Name: name, Description: spec.Description, Parameters: params})
	}
	if ru.opts.Depth >= MaxDepth {
		return
	}
	for _, d := range ru.agent.Delegate {
		other := all.Get(d)
		if other == nil {
			continue
		}
		name := toolName(delegatePrefix+d, taken)
		ru.agentOf[name] = d
		ru.tools = append(ru.tools, llmTool{Name: name, Description: "Hand a task to the " + d + " agent: " + other.Description +
			" It answers with its result.",
			Parameters: json.RawMessage(`{"type":"object","properties":{"task":{"type":"string","description":"what the agent should do, with everything it needs to know"}},"required":["task"]}`)})
	}
}

// toolName is c's tool name (wire.ToolName, as MCP names it), made
// unique among taken.
func toolName(c string, taken map[string]bool) string {
	name := wire.ToolName(c)
	for n := 2; taken[name]; n++ {
		name = fmt.Sprintf("%s_%d", wire.ToolName(c), n)
	}
	taken[name] = true
	return name
}

// loop asks the model, runs the tool calls it asks for, and feeds the
// results back, until an answer, max_turns, a failure or cancellation.
func (ru *run) loop(ctx context.Context) Result {
	res := Result{Run: ru.id, Outcome: OutcomeMaxTurns}
	for turn := 1; turn <= ru.agent.MaxTurns; turn++ {
		res.Turns = turn
		ru.step(ctx, Step{Kind: StepModelTurn, Turn: turn})
		params := map[string]any{"messages": ru.msgs}
		if len(ru.tools) > 0 {
			params["tools"] = ru.tools
		}
		if m := ru.model(); m != "" {
			params["model"] = m
		}
		b, _ := json.Marshal(params)
		raw, err := ru.r.Env.Call(ctx, "llm", b)
		if err != nil {
			return ru.stopped(ctx, res, "the model call failed: "+err.Error())
		}
		var out llmResult
		if err := json.Unmarshal(raw, &out); err != nil {
			return ru.stopped(ctx, res, "the llm result is not {message, usage}: "+err.Error())
		}
		if out.Usage.InputTokens != nil {
			ru.usage.InputTokens += *out.Usage.InputTokens
		}
		if out.Usage.OutputTokens != nil {
			ru.usage.OutputTokens += *out.Usage.OutputTokens
		}
		reply := message{Role: "assistant", Content: out.Message.Content, ToolCalls: out.Message.ToolCalls}
		ru.msgs = append(ru.msgs, reply)
		if len(reply.ToolCalls) == 0 {
			res.Answer, res.Outcome = reply.Content, OutcomeCompleted
			ru.step(ctx, Step{Kind: StepAnswer, Turn: turn, Text: clip(reply.Content, RecordBytes)})
			return res
		}
		for _, tc := range reply.ToolCalls {
			text := ru.callTool(ctx, turn, tc)
			ru.msgs = append(ru.msgs, message{Role: "tool", ToolCallID: tc.ID, Content: text})
			if ctx.Err() != nil {
				return ru.stopped(ctx, res, "cancelled")
			}
		}
	}
	// No answer within max_turns: the last thing the model said, if anything.
	if n := len(ru.msgs); n > 0 {
		for i := n - 1; i >= 0; i-- {
			if ru.msgs[i].Role == "assistant" && ru.msgs[i].Content != "" {
				res.Answer = ru.msgs[i].Content
				break
			}
		}
	}
	return res
}

func (ru *run) model() string {
	if ru.opts.Model != "" {
		return ru.opts.Model
	}
	return ru.agent.Model
}

// stopped ends res as cancelled (ctx is done) or failed (why).
func (ru *run) stopped(ctx context.Context, res Result, why string) Result {
	if ctx.Err() != nil {
		res.Outcome, res.Error = OutcomeCancelled, "cancelled"
	} else {
		res.Outcome, res.Error = OutcomeFailed, why
	}
	return res
}

// callTool runs one tool call the model asked for and says, as text for
// the model, what came of it. A tool outside the agent's list is refused,
// not run.
func (ru *run) callTool(ctx context.Context, turn int, tc toolCall) string {
	rec := callRecord{Turn: turn, ID: tc.ID, Tool: tc.Name, Arguments: tc.Arguments}
	args, _ := json.Marshal(tc.Arguments)
	if tc.Arguments == nil {
		args = []byte("{}")
	}
	ru.step(ctx, Step{Kind: StepToolCall, Turn: turn, Tool: tc.Name, CallID: tc.ID, Text: clip(string(args), RecordBytes)})
	start := time.Now()
	var text string
	var failed error
	switch {
	case ru.agentOf[tc.Name] != "":
		rec.Agent = ru.agentOf[tc.Name]
		task, _ := tc.Arguments["task"].(string)
		child, err := ru.r.Run(ctx, rec.Agent, task, Options{Parent: ru.id, Depth: ru.opts.Depth + 1,
			ancestors: append(slices.Clip(ru.opts.ancestors), ru.id)})
		if err != nil {
			failed = err
		} else {
			b, _ := json.Marshal(map[string]any{"answer": child.Answer, "outcome": child.Outcome, "run": child.Run})
			text = string(b)
			if child.Outcome == OutcomeFailed || child.Outcome == OutcomeCancelled {
				failed = fmt.Errorf("the %s agent's run %s: %s", rec.Agent, child.Outcome, child.Error)
			}
		}
	case ru.byTool[tc.Name] != "":
		rec.Capability = ru.byTool[tc.Name]
		raw, err := ru.r.Env.Call(ctx, rec.Capability, args)
		if err != nil {
			failed = err
		} else {
			if rec.Capability == "data.search" {
				raw = withoutHits(raw, append(slices.Clip(ru.opts.ancestors), ru.id))
			}
			text = string(raw)
			ru.touched = append(ru.touched, nodeIDs(raw)...)
		}
	default:
		rec.Refused = true
		failed = fmt.Errorf("tool %q is not one this agent may use; its tools are %s", tc.Name, strings.Join(ru.toolNames(), ", "))
	}
	rec.Ms = time.Since(start).Milliseconds()
	if failed != nil {
		rec.Error = clip(failed.Error(), RecordBytes)
		text = "error: " + failed.Error()
	} else {
		rec.Result = clip(text, RecordBytes)
	}
	ru.calls = append(ru.calls, rec)
	ru.step(ctx, Step{Kind: StepToolResult, Turn: turn, Tool: tc.Name, CallID: tc.ID, Text: clip(text, RecordBytes), Error: failed != nil})
	return clip(text, ModelResultBytes)
}

func (ru *run) toolNames() []string {
	var out []string
	for _, t := range ru.tools {
		out = append(out, t.Name)
	}
	if len(out) == 0 {
		return []string{"(none)"}
	}
	return out
}

// finish writes what the run did to its node and links what it touched.
// It runs even when the run was cancelled.
func (ru *run) finish(ctx context.Context, res *Result) {
	ctx = context.WithoutCancel(ctx)
	res.Usage = ru.usage
	kept := make([]message, len(ru.msgs))
	for i, m := range ru.msgs {
		m.Content = clip(m.Content, RecordBytes)
		kept[i] = m
	}
	fields := map[string]any{"outcome": res.Outcome, "turns": res.Turns, "answer": res.Answer,
		"messages": kept, "tool_calls": ru.calls, "usage": ru.usage, "ended": time.Now().UTC().Format(time.RFC3339Nano)}
	if res.Error != "" {
		fields["error"] = res.Error
	}
	if _, err := ru.r.Env.Write(ctx, "data.update", map[string]any{"id": ru.id, "fields": fields}); err != nil {
		res.Error = strings.TrimSpace(res.Error + "; the run's record was not updated: " + err.Error())
	}
	seen := map[string]bool{ru.id: true}
	for _, id := range ru.touched {
		if seen[id] {
			continue
		}
		seen[id] = true
		_, _ = ru.r.Env.Write(ctx, "data.link", map[string]any{"from": ru.id, "label": "touched", "to": id})
	}
	ru.step(ctx, Step{Kind: StepEnded, Turn: res.Turns, Text: res.Outcome, Error: res.Outcome == OutcomeFailed})
}

func (ru *run) step(ctx context.Context, s Step) {
	s.Run, s.Agent = ru.id, ru.agent.Name
	ru.r.Env.Step(ctx, s)
}

// withoutHits drops the hits on the given nodes from a data.search
// result: a run's searches never find its own record, or its parents',
// which name the very words of its task.
func withoutHits(raw json.RawMessage, ids []string) json.RawMessage {
	var res map[string]json.RawMessage
	var hits []json.RawMessage
	if json.Unmarshal(raw, &res) != nil || json.Unmarshal(res["hits"], &hits) != nil {
		return raw
	}
	kept := hits[:0]
	for _, h := range hits {
		var hit struct {
			Node struct {
				ID string `json:"id"`
			} `json:"node"`
		}
		if json.Unmarshal(h, &hit) == nil && slices.Contains(ids, hit.Node.ID) {
			continue
		}
		kept = append(kept, h)
	}
	b, err := json.Marshal(kept)
	if err != nil {
		return raw
	}
	res["hits"] = b
	out, err := json.Marshal(res)
	if err != nil {
		return raw
	}
	return out
}

// nodeIDs are the ids of the nodes a tool's result holds: a node, a
// capability's stored result ({id, item}), a list of nodes, or {ids}.
func nodeIDs(raw json.RawMessage) []string {
	var one struct {
		ID     string          `json:"id"`
		Shapes []string        `json:"shapes"`
		Item   json.RawMessage `json:"item"`
		IDs    []string        `json:"ids"`
		Nodes  []struct {
			ID     string   `json:"id"`
			Shapes []string `json:"shapes"`
		} `json:"nodes"`
	}
	if json.Unmarshal(raw, &one) != nil {
		return nil
	}
	var out []string
	if one.ID != "" && (len(one.Shapes) > 0 || len(one.Item) > 0) {
		out = append(out, one.ID)
	}
	out = append(out, one.IDs...)
	for _, n := range one.Nodes {
		if n.ID != "" && len(n.Shapes) > 0 {
			out = append(out, n.ID)
		}
	}
	return out
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// clip cuts s to at most n bytes on a character boundary, saying so.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - 40
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + fmt.Sprintf("… [%d bytes more]", len(s)-cut)
}
