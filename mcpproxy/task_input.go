package mcpproxy

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/agentos/agentos/engine/wire"

	"github.com/mark3labs/mcp-go/mcp"
)

// taskInputs is how a task asks its client for input (SEP-2322's
// input_required, SEP-2663's tasks/update). Tasks are started on a
// connection of the proxy's own, which says it answers elicitation and
// sampling (what the client declared): a skill's agentos.ask in the task's
// job arrives there as a job.input event and is kept, by task, until the
// client polls tasks/get (which shows it under inputRequests) and answers
// with tasks/update (which the proxy passes on with jobs.respond on that
// same connection, the only one the engine takes the answer from).
type taskInputs struct {
	mu      sync.Mutex
	conn    *wire.Client
	pending map[string]map[string]pendingInput // task -> request id -> input
	wake    chan struct{}                      // closed and replaced when an input arrives or a job ends
}

type pendingInput struct {
	kind   string
	params json.RawMessage
}

// client is the tasks connection, dialled (and subscribed to job.input) on
// first use and again after it died.
func (t *taskInputs) client(ctx context.Context, eng *wire.Redialer) (*wire.Client, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.conn != nil {
		select {
		case <-t.conn.Done():
			t.conn, t.pending = nil, nil // its waiting inputs ended with it
		default:
			return t.conn, nil
		}
	}
	c, err := eng.Fresh(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := c.SubscribeTypes(ctx, -1, []string{wire.EventJobInput, wire.EventJobFinished}, t.record); err != nil {
		c.Close()
		return nil, err
	}
	t.conn, t.pending = c, map[string]map[string]pendingInput{}
	return c, nil
}

func (t *taskInputs) record(ev wire.Event) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.signal()
	if ev.Type != wire.EventJobInput || t.pending == nil {
		return
	}
	job, _ := ev.Data["job"].(string)
	req, _ := ev.Data["request"].(string)
	kind, _ := ev.Data["kind"].(string)
	params, _ := json.Marshal(ev.Data["params"])
	if t.pending[job] == nil {
		t.pending[job] = map[string]pendingInput{}
	}
	t.pending[job][req] = pendingInput{kind: kind, params: params}
}

// requests are a task's waiting inputs in MCP's form: each the request the
// client would have been sent (elicitation/create, sampling/createMessage).
func (t *taskInputs) requests(task string) map[string]any {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.pending[task]) == 0 {
		return nil
	}
	out := map[string]any{}
	for id, in := range t.pending[task] {
		out[id] = inputRequest(in)
	}
	return out
}

// inputRequest is a skill's ask or sample as the MCP request it stands for.
func inputRequest(in pendingInput) map[string]any {
	var p map[string]any
	_ = json.Unmarshal(in.params, &p)
	if in.kind == wire.FeatureSampling {
		var msgs []map[string]any
		raw, _ := p["messages"].([]any)
		for _, m := range raw {
			mm, _ := m.(map[string]any)
			content := mm["content"]
			if s, ok := content.(string); ok {
				content = map[string]any{"type": "text", "text": s}
			}
			msgs = append(msgs, map[string]any{"role": mm["role"], "content": content})
		}
		params := map[string]any{"messages": msgs, "maxTokens": p["max_tokens"]}
		if s, ok := p["system"].(string); ok {
			params["systemPrompt"] = s
		}
		if v, ok := p["temperature"]; ok {
			params["temperature"] = v
		}
		return map[string]any{"method": string(mcp.MethodSamplingCreateMessage), "params": params}
	}
	schema := p["schema"]
	if schema == nil {
		schema = map[string]any{"type": "object", "properties": map[string]any{}}
	}
	return map[string]any{"method": string(mcp.MethodElicitationCreate), "params": map[string]any{"message": p["message"], "requestedSchema": schema}}
}

// answer passes the client's responses to the task's waiting inputs on,
// and forgets them. Keys the task is not waiting for (answered already, or
// never asked) are ignored, as SEP-2663 has tasks/update acknowledged
// whatever it carries; it returns them, for the log.
func (t *taskInputs) answer(ctx context.Context, task string, responses map[string]json.RawMessage) (ignored []string, err error) {
	t.mu.Lock()
	c := t.conn
	answer := map[string]json.RawMessage{}
	for id, res := range responses {
		if _, ok := t.pending[task][id]; ok {
			answer[id] = res
			delete(t.pending[task], id)
		} else {
			ignored = append(ignored, id)
		}
	}
	t.mu.Unlock()
	for id, res := range answer {
		if err := c.Call(ctx, wire.MethodJobsRespond, wire.RespondParams{Job: task, Request: id, Result: res}, nil); err != nil {
			return ignored, fmt.Errorf("pass input %s on to task %s: %w", id, task, err)
		}
	}
	return ignored, nil
}

// signal wakes the waiters of awaitInput; t.mu is held.
func (t *taskInputs) signal() {
	if t.wake != nil {
		close(t.wake)
	}
	t.wake = make(chan struct{})
}

// awaitInput waits until job asks its client for input (true), or ends,
// or max passes (false).
func (t *taskInputs) awaitInput(ctx context.Context, eng *wire.Redialer, job string, max time.Duration) bool {
	timer := time.NewTimer(max)
	defer timer.Stop()
	for {
		t.mu.Lock()
		if t.wake == nil {
			t.wake = make(chan struct{})
		}
		wake, asked := t.wake, len(t.pending[job]) > 0
		t.mu.Unlock()
		if asked {
			return true
		}
		var j wire.Job
		if err := eng.Call(ctx, wire.MethodJobsGet, wire.IDParams{ID: job}, &j, true); err != nil || j.State != wire.JobRunning {
			return false
		}
		select {
		case <-wake:
		case <-timer.C:
			return false
		case <-ctx.Done():
			return false
		}
	}
}
