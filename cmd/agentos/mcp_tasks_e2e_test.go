package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/agentos/agentos/internal/testkit"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
)

const taskTools = `
import time
from agentos import OpError, ask, provides


@provides("report.send", task="optional")
def send(to: str) -> str:
    """Send the report once the user says yes."""
    answer = ask("Send the report to " + to + "?", {"type": "object", "properties": {"yes": {"type": "boolean"}}})
    return "sent" if (answer.get("content") or {}).get("yes") else "not sent"


@provides("report.build", task="optional")
def build(seconds: float = 1.5) -> str:
    """Build a report, slowly."""
    time.sleep(seconds)
    return "the report"


@provides("report.fail", task="required")
def fail() -> str:
    """Fail, as a task."""
    raise ValueError("no data for the report")


@provides("report.approve", task="required", requires=["elicitation"])
def approve(title: str) -> str:
    """Ask who approves, then file the report as a task."""
    answer = ask("Who approves " + title + "?", {"type": "object", "properties": {"name": {"type": "string"}}})
    return "approved by " + (answer.get("content") or {}).get("name", "nobody")


@provides("report.archive", task="required")
def archive() -> str:
    """Nothing can archive today."""
    raise OpError("unavailable", "the archive is offline")
`

// A task-supporting tool called by a client that speaks the tasks extension
// answers at once with a task, which is an engine job: another session
// picks it up with tasks/get after the first has gone, and reads the result
// inlined; a failing tool is a completed task with an isError result;
// tasks/cancel cancels the job. Without the extension the tool runs
// synchronously, and a task-only tool is refused with -32021.
func TestMCPTasksAreEngineJobs(t *testing.T) {
	home := testkit.Home(t)
	testkit.AddSkill(t, home, "reports", "client(elicit)", taskTools)
	d := startDaemon(t, home)
	session := func(t *testing.T, tasks bool) *client.Client {
		t.Helper()
		var caps mcp.ClientCapabilities
		if tasks {
			caps.Extensions = map[string]any{"io.modelcontextprotocol/tasks": map[string]any{}}
			caps.Elicitation = &mcp.ElicitationCapability{}
		}
		c, init := mcpClient(t, home, caps)
		if init.Capabilities.Extensions["io.modelcontextprotocol/tasks"] == nil {
			t.Fatalf("the server does not declare the tasks extension: %+v", init.Capabilities.Extensions)
		}
		return c
	}
	type task struct {
		ResultType, TaskID, Status string
		TTLMs                      int64 `json:"ttlMs"`
		InputRequests              map[string]struct {
			Method string
			Params struct{ Message string }
		} `json:"inputRequests"`
		Result *struct {
			IsError bool `json:"isError"`
			Content []struct{ Text string }
		}
		RequestState string `json:"requestState"`
		Error        *struct {
			Code    int
			Message string
		}
	}
	req := func(t *testing.T, c *client.Client, method string, params any) (task, *mcp.JSONRPCErrorDetails) {
		t.Helper()
		raw, rpcErr := rawRequest(t, c, int(time.Now().UnixNano()%1e9), method, params)
		var tk task
		if rpcErr == nil {
			if err := json.Unmarshal(raw, &tk); err != nil {
				t.Fatalf("%s: %v %s", method, err, raw)
			}
		}
		return tk, rpcErr
	}
	waitDone := func(t *testing.T, c *client.Client, id string) task {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			tk, rpcErr := req(t, c, "tasks/get", map[string]any{"taskId": id})
			if rpcErr != nil {
				t.Fatalf("tasks/get %s: %+v", id, rpcErr)
			}
			if tk.Status != "working" && tk.Status != "input_required" {
				return tk
			}
			if time.Now().After(deadline) {
				t.Fatalf("task %s still working", id)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	first := session(t, true)
	created, rpcErr := req(t, first, "tools/call", map[string]any{"name": "report_build", "arguments": map[string]any{}})
	if rpcErr != nil || created.ResultType != "task" || created.Status != "working" || !strings.HasPrefix(created.TaskID, "j") || created.TTLMs <= 0 {
		t.Fatalf("tools/call report_build: %+v %+v", created, rpcErr)
	}
	first.Close() // the session goes; the job goes on

	second := session(t, true)
	done := waitDone(t, second, created.TaskID)
	if done.Status != "completed" || done.Result == nil || done.Result.IsError || done.Result.Content[0].Text != "the report" {
		t.Fatalf("the task picked up on another session: %+v", done)
	}
	var job struct{ State string }
	call(t, d.client(t), "jobs.get", map[string]any{"id": created.TaskID}, &job)
	if job.State != "completed" {
		t.Errorf("the task's job is %s", job.State)
	}

	failed, _ := req(t, second, "tools/call", map[string]any{"name": "report_fail", "arguments": map[string]any{}})
	if done := waitDone(t, second, failed.TaskID); done.Status != "completed" || done.Result == nil || !done.Result.IsError ||
		!strings.Contains(done.Result.Content[0].Text, "no data for the report") {
		t.Errorf("a failing tool's task: %+v", done)
	}

	long, _ := req(t, second, "tools/call", map[string]any{"name": "report_build", "arguments": map[string]any{"seconds": 60}})
	if ack, rpcErr := req(t, second, "tasks/cancel", map[string]any{"taskId": long.TaskID}); rpcErr != nil || ack.ResultType != "complete" || ack.TaskID != "" {
		t.Fatalf("tasks/cancel: %+v %+v", ack, rpcErr)
	}
	if done := waitDone(t, second, long.TaskID); done.Status != "cancelled" {
		t.Errorf("the cancelled task is %s", done.Status)
	}
	if _, rpcErr := req(t, second, "tasks/get", map[string]any{"taskId": "j999999"}); rpcErr == nil || rpcErr.Code != mcp.INVALID_PARAMS {
		t.Errorf("tasks/get of an unknown task: %+v", rpcErr)
	}

	// A task that asks the user waits as input_required, with the request,
	// and goes on once tasks/update answers it.
	asking, _ := req(t, second, "tools/call", map[string]any{"name": "report_send", "arguments": map[string]any{"to": "Ana"}})
	var key string
	deadline := time.Now().Add(20 * time.Second)
	for key == "" {
		tk, _ := req(t, second, "tasks/get", map[string]any{"taskId": asking.TaskID})
		for k, in := range tk.InputRequests {
			if tk.Status == "input_required" && in.Method == "elicitation/create" && in.Params.Message == "Send the report to Ana?" {
				key = k
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the asking task never waited for input: %+v", tk)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if ack, rpcErr := req(t, second, "tasks/update", map[string]any{"taskId": asking.TaskID,
		"inputResponses": map[string]any{key: map[string]any{"action": "accept", "content": map[string]any{"yes": true}}}}); rpcErr != nil || ack.ResultType != "complete" {
		t.Fatalf("tasks/update: %+v %+v", ack, rpcErr)
	}
	if done := waitDone(t, second, asking.TaskID); done.Status != "completed" || done.Result.Content[0].Text != "sent" {
		t.Errorf("the answered task: %+v", done)
	}

	// A task tool that needs the user's input asks before its task exists
	// (input_required, with a requestState); the retry carrying the answer
	// gets the task, which ends with what the user said. A requestState
	// that names no waiting call of the tool is refused.
	round1, _ := req(t, second, "tools/call", map[string]any{"name": "report_approve", "arguments": map[string]any{"title": "Q3"}})
	if round1.ResultType != "input_required" || round1.TaskID != "" || round1.RequestState == "" || len(round1.InputRequests) != 1 {
		t.Fatalf("round 1 of report_approve: %+v", first)
	}
	for k, in := range round1.InputRequests {
		key = k
		if in.Method != "elicitation/create" || in.Params.Message != "Who approves Q3?" {
			t.Fatalf("round 1 asks %+v", in)
		}
	}
	for _, forged := range []string{"job:j999999", "job:" + created.TaskID, created.TaskID} {
		if _, rpcErr := req(t, second, "tools/call", map[string]any{"name": "report_approve", "arguments": map[string]any{"title": "Q3"},
			"requestState": forged, "inputResponses": map[string]any{key: map[string]any{"action": "accept"}}}); rpcErr == nil || rpcErr.Code != mcp.INVALID_PARAMS {
			t.Errorf("a retry with requestState %q: %+v", forged, rpcErr)
		}
	}
	retried, rpcErr := req(t, second, "tools/call", map[string]any{"name": "report_approve", "arguments": map[string]any{"title": "Q3"},
		"requestState": round1.RequestState, "inputResponses": map[string]any{key: map[string]any{"action": "accept", "content": map[string]any{"name": "Alice"}}}})
	if rpcErr != nil || retried.ResultType != "task" || retried.TaskID == "" || retried.RequestState != "" {
		t.Fatalf("round 2 of report_approve: %+v %+v", retried, rpcErr)
	}
	if done := waitDone(t, second, retried.TaskID); done.Status != "completed" || done.Result.Content[0].Text != "approved by Alice" {
		t.Errorf("the approved task: %+v", done)
	}

	// Nothing could serve it: a protocol-level failure, so failed with an
	// error, not a completed task with an error result.
	offline, _ := req(t, second, "tools/call", map[string]any{"name": "report_archive", "arguments": map[string]any{}})
	if done := waitDone(t, second, offline.TaskID); done.Status != "failed" || done.Result != nil || done.Error == nil ||
		done.Error.Code != -32013 || !strings.Contains(done.Error.Message, "the archive is offline") {
		t.Errorf("the unavailable task: %+v (error %+v)", done, done.Error)
	}

	// A client without the extension: the optional one runs at once, the
	// task-only one is refused, and tasks/* are refused.
	plain := session(t, false)
	var call mcp.CallToolRequest
	call.Params.Name = "report_build"
	call.Params.Arguments = map[string]any{"seconds": 0}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if res, err := plain.CallTool(ctx, call); err != nil || res.IsError || res.Content[0].(mcp.TextContent).Text != "the report" {
		t.Errorf("report_build without tasks: %v %+v", err, res)
	}
	if _, rpcErr := req(t, plain, "tools/call", map[string]any{"name": "report_fail", "arguments": map[string]any{}}); rpcErr == nil || rpcErr.Code != mcp.MISSING_REQUIRED_CLIENT_CAPABILITY {
		t.Errorf("a task-only tool without tasks: %+v", rpcErr)
	}
	if _, rpcErr := req(t, plain, "tasks/get", map[string]any{"taskId": created.TaskID}); rpcErr == nil || rpcErr.Code != mcp.MISSING_REQUIRED_CLIENT_CAPABILITY {
		t.Errorf("tasks/get without tasks: %+v", rpcErr)
	}
}
