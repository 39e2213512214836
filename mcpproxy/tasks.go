package mcpproxy

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/agentos/agentos/engine/wire"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// MCP tasks (the io.modelcontextprotocol/tasks extension, SEP-2663) over
// engine jobs: a task-supporting tool called by a client that negotiated
// the extension starts its capability as an async job and answers at once
// with the job as the task; tasks/get reads the job (its result inlined
// once it ends) and tasks/cancel cancels it. A tool supports tasks when its
// provider says so: @provides(cap, task="optional") or task="required" (a
// required one refuses clients without the extension with -32021).
//
// mcp-go serves an older tasks protocol (tasks/result, tasks/list), so the
// proxy answers these methods ahead of it (answerAhead, intercept.go).
const (
	tasksExtension = "io.modelcontextprotocol/tasks"
	// taskTTL is how long a task is promised to stay readable. The engine
	// keeps the last 1000 finished jobs, so a task outlives this unless a
	// thousand others finish after it.
	taskTTL      = time.Hour
	taskPollMs   = 500
	metaCapsKey  = "io.modelcontextprotocol/clientCapabilities"
	taskRequired = "required"
	// mrtrWait is how long a task tool that needs client input may take to
	// ask before its task is created anyway (and asks through tasks/get).
	mrtrWait = 10 * time.Second
	// mrtrStatePrefix starts the requestState of a call waiting for input;
	// the job's id follows.
	mrtrStatePrefix = "job:"
)

// taskTool is what the proxy knows of a capability tool that supports
// tasks or requires client capabilities.
type taskTool struct {
	capability string
	support    string   // optional or required; "" for no task support
	requires   []string // client capabilities the tool cannot work without: elicitation, sampling
	schema     *argSchema
}

// taskRequest is the part of a request the tasks layer reads.
type taskRequest struct {
	ID     any    `json:"id"`
	Method string `json:"method"`
	Params struct {
		Name           string                     `json:"name"`
		Arguments      map[string]any             `json:"arguments"`
		TaskID         string                     `json:"taskId"`
		InputResponses map[string]json.RawMessage `json:"inputResponses"`
		RequestState   string                     `json:"requestState"`
		Meta           json.RawMessage            `json:"_meta"`
	} `json:"params"`
}

// features are the client capabilities of the request (its _meta) or of
// the session that a task's skill may ask for.
func (r *taskRequest) features(sess server.ClientSession) []string {
	var caps mcp.ClientCapabilities
	var meta map[string]json.RawMessage
	if json.Unmarshal(r.Params.Meta, &meta) != nil || json.Unmarshal(meta[metaCapsKey], &caps) != nil {
		if info, ok := sess.(server.SessionWithClientInfo); ok {
			caps = info.GetClientCapabilities()
		}
	}
	var out []string
	if caps.Elicitation != nil {
		out = append(out, wire.FeatureElicitation)
	}
	if caps.Sampling != nil {
		out = append(out, wire.FeatureSampling)
	}
	return out
}

// negotiated says whether the request's client declared the tasks
// extension: in the request's own _meta (per-request opt-in) or for the
// session at initialize.
func (r *taskRequest) negotiated(sess server.ClientSession) bool {
	var meta map[string]json.RawMessage
	if json.Unmarshal(r.Params.Meta, &meta) == nil {
		var caps mcp.ClientCapabilities
		if json.Unmarshal(meta[metaCapsKey], &caps) == nil && caps.Extensions[tasksExtension] != nil {
			return true
		}
	}
	if info, ok := sess.(server.SessionWithClientInfo); ok {
		return info.GetClientCapabilities().Extensions[tasksExtension] != nil
	}
	return false
}

// rpcError is a JSON-RPC error answer of the tasks layer.
func rpcError(id any, code int, msg string, data any) mcp.JSONRPCMessage {
	return mcp.JSONRPCError{JSONRPC: mcp.JSONRPC_VERSION, ID: mcp.NewRequestId(id), Error: mcp.NewJSONRPCErrorDetails(code, msg, data)}
}

func rpcResult(id any, res any) mcp.JSONRPCMessage {
	return mcp.JSONRPCResponse{JSONRPC: mcp.JSONRPC_VERSION, ID: mcp.NewRequestId(id), Result: res}
}

var missingTasks = map[string]any{"capability": tasksExtension,
	"requiredCapabilities": map[string]any{"extensions": map[string]any{tasksExtension: map[string]any{}}}}

// answerTaskMethod answers tools/call of a task-supporting tool and the
// tasks/* methods; errNotOurs for every other message.
func (p *Proxy) answerTaskMethod(ctx context.Context, sess server.ClientSession, msg []byte) (mcp.JSONRPCMessage, error) {
	// Every tools/call passes here: one that is not ours leaves without
	// being decoded twice (mcp-go decodes it).
	tasksMethod := bytes.Contains(msg, []byte(`"tasks/`))
	if !tasksMethod && !bytes.Contains(msg, []byte(`"tools/call"`)) {
		return nil, errNotOurs
	}
	p.refreshMu.Lock()
	tools := p.taskTools
	p.refreshMu.Unlock()
	if !tasksMethod && len(tools) == 0 {
		return nil, errNotOurs
	}
	var req taskRequest
	if json.Unmarshal(msg, &req) != nil || req.ID == nil {
		return nil, errNotOurs
	}
	switch req.Method {
	case "tools/call":
		tt, ok := tools[req.Params.Name]
		if !ok {
			return nil, errNotOurs
		}
		if missing := missingFeature(tt.requires, req.features(sess)); missing != "" {
			return rpcError(req.ID, mcp.MISSING_REQUIRED_CLIENT_CAPABILITY,
				fmt.Sprintf("tool %s needs the client to offer %s, and this request's client does not", req.Params.Name, missing),
				// requiredCapabilities as SEP-2575 has it; capability as mcp-go's client reads it
				map[string]any{"capability": missing, "requiredCapabilities": map[string]any{missing: map[string]any{}}}), nil
		}
		if tt.support == "" {
			return nil, errNotOurs
		}
		if !req.negotiated(sess) {
			if tt.support == taskRequired {
				return rpcError(req.ID, mcp.MISSING_REQUIRED_CLIENT_CAPABILITY,
					fmt.Sprintf("tool %s runs only as a task: the client must declare the %s extension", req.Params.Name, tasksExtension), missingTasks), nil
			}
			return nil, errNotOurs // runs synchronously, through mcp-go
		}
		if req.Params.RequestState != "" {
			return p.resumeMRTR(ctx, req, tt), nil
		}
		if bad := tt.schema.check(req.Params.Arguments); bad != "" {
			return rpcResult(req.ID, map[string]any{"resultType": "complete", "isError": true,
				"content": []mcp.Content{mcp.NewTextContent(req.Params.Name + ": " + bad)}}), nil
		}
		return p.createTask(ctx, sess, req, tt), nil
	case "tasks/get", "tasks/cancel", "tasks/update":
		if !req.negotiated(sess) {
			return rpcError(req.ID, mcp.MISSING_REQUIRED_CLIENT_CAPABILITY, req.Method+" needs the "+tasksExtension+" extension", missingTasks), nil
		}
		switch req.Method {
		case "tasks/cancel":
			return p.cancelTask(ctx, req), nil
		case "tasks/update":
			if _, msg := p.taskJob(ctx, req); msg != nil {
				return msg, nil
			}
			ignored, err := p.taskInputs.answer(ctx, req.Params.TaskID, req.Params.InputResponses)
			if err != nil {
				return rpcError(req.ID, mcp.INTERNAL_ERROR, "tasks/update: "+err.Error(), nil), nil
			}
			if len(ignored) > 0 {
				p.log.Info("tasks/update answered inputs the task is not waiting for; ignored", "task", req.Params.TaskID, "inputs", ignored)
			}
			return rpcResult(req.ID, map[string]any{"resultType": "complete"}), nil
		}
		return p.getTask(ctx, req), nil
	case "tasks/result", "tasks/list":
		return rpcError(req.ID, mcp.METHOD_NOT_FOUND, req.Method+" is not part of the tasks extension: tasks/get inlines the result", nil), nil
	}
	return nil, errNotOurs
}

// missingFeature is the first of required that offered lacks, or "".
func missingFeature(required, offered []string) string {
	for _, r := range required {
		if !slices.Contains(offered, r) {
			return r
		}
	}
	return ""
}

// headerMismatch checks the SEP-2243 headers of an HTTP request against
// its body, as mcp-go does for the methods it answers: Mcp-Method must name
// the method, Mcp-Name the tool (tools/call) or the task, and a tool's
// Mcp-Param-* headers (its x-mcp-header parameters) the arguments.
func (p *Proxy) headerMismatch(h http.Header, msg []byte) string {
	var req taskRequest
	if json.Unmarshal(msg, &req) != nil {
		return ""
	}
	if m := h.Get("Mcp-Method"); m != "" && m != req.Method {
		return fmt.Sprintf("the Mcp-Method header says %q, the body %q", m, req.Method)
	}
	name := req.Params.Name
	if strings.HasPrefix(req.Method, "tasks/") {
		name = req.Params.TaskID
	}
	if n := h.Get("Mcp-Name"); n != "" && n != name {
		return fmt.Sprintf("the Mcp-Name header says %q, the body %q", n, name)
	}
	if req.Method != string(mcp.MethodToolsCall) || p.srv == nil {
		return ""
	}
	tool := p.srv.GetTool(name)
	if tool == nil {
		return ""
	}
	var body struct {
		Params json.RawMessage `json:"params"`
	}
	_ = json.Unmarshal(msg, &body)
	lookup := func(k string) (string, bool) {
		v := h.Values(k)
		if len(v) == 0 {
			return "", false
		}
		return v[0], true
	}
	if err := mcp.ValidateParamHeadersLookup(lookup, &tool.Tool, body.Params); err != nil {
		return err.Error()
	}
	return ""
}

// createTask starts the capability as an async job: the job is the task,
// and it exists in the engine before the answer leaves.
func (p *Proxy) createTask(ctx context.Context, sess server.ClientSession, req taskRequest, tt taskTool) mcp.JSONRPCMessage {
	args, err := json.Marshal(req.Params.Arguments)
	if err != nil {
		return rpcError(req.ID, mcp.INVALID_PARAMS, err.Error(), nil)
	}
	var started struct {
		Job string `json:"job"`
	}
	// Started on the tasks connection, which answers what the client can.
	c, err := p.taskInputs.client(ctx, p.eng)
	if err != nil {
		return rpcResult(req.ID, map[string]any{"resultType": "complete", "isError": true, "content": errorResult(err).Content})
	}
	params := wire.InvokeParams{Capability: tt.capability, Params: args, Async: true, ClientFeatures: req.features(sess)}
	if err := c.Call(ctx, wire.MethodInvoke, params, &started); err != nil {
		return rpcResult(req.ID, map[string]any{"resultType": "complete", "isError": true, "content": errorResult(err).Content})
	}
	// A tool that needs its client's input gathers the first of it before
	// the task exists (SEP-2322's input_required result, then SEP-2663's
	// task on the retry), when it asks soon enough.
	if len(tt.requires) > 0 && p.taskInputs.awaitInput(ctx, p.eng, started.Job, mrtrWait) {
		return rpcResult(req.ID, map[string]any{"resultType": "input_required",
			"inputRequests": p.taskInputs.requests(started.Job), "requestState": mrtrStatePrefix + started.Job})
	}
	return p.taskCreated(ctx, req.ID, started.Job)
}

// taskCreated is the CreateTaskResult of the task of job.
func (p *Proxy) taskCreated(ctx context.Context, id any, job string) mcp.JSONRPCMessage {
	var j wire.Job
	if err := p.eng.Call(ctx, wire.MethodJobsGet, wire.IDParams{ID: job}, &j, true); err != nil {
		return rpcError(id, mcp.INTERNAL_ERROR, "the task's job: "+err.Error(), nil)
	}
	res := taskFields(j)
	res["resultType"] = "task"
	return rpcResult(id, res)
}

// resumeMRTR is the retry of a tools/call answered input_required: the
// client's inputResponses go to the job waiting for them, which goes on
// as a task.
func (p *Proxy) resumeMRTR(ctx context.Context, req taskRequest, tt taskTool) mcp.JSONRPCMessage {
	job, ok := strings.CutPrefix(req.Params.RequestState, mrtrStatePrefix)
	var j wire.Job
	if !ok || p.eng.Call(ctx, wire.MethodJobsGet, wire.IDParams{ID: job}, &j, true) != nil || j.Capability != tt.capability {
		return rpcError(req.ID, mcp.INVALID_PARAMS, "tools/call: requestState names no call of "+req.Params.Name+" waiting for input", nil)
	}
	ignored, err := p.taskInputs.answer(ctx, job, req.Params.InputResponses)
	if err != nil {
		return rpcError(req.ID, mcp.INTERNAL_ERROR, "tools/call: "+err.Error(), nil)
	}
	if len(ignored) > 0 {
		p.log.Info("tools/call retry answered inputs the call is not waiting for; ignored", "job", job, "inputs", ignored)
	}
	return p.taskCreated(ctx, req.ID, job)
}

// taskFields are a task's fields of job j.
func taskFields(j wire.Job) map[string]any {
	status := map[string]string{wire.JobRunning: "working", wire.JobCompleted: "completed",
		wire.JobFailed: "completed", wire.JobCancelled: "cancelled"}[j.State]
	if status == "" {
		status = "failed"
	}
	updated := j.StartedAt
	if j.EndedAt != nil {
		updated = *j.EndedAt
	}
	return map[string]any{"taskId": j.ID, "status": status,
		"createdAt": j.StartedAt.UTC().Format(time.RFC3339Nano), "lastUpdatedAt": updated.UTC().Format(time.RFC3339Nano),
		"ttlMs": taskTTL.Milliseconds(), "pollIntervalMs": taskPollMs}
}

// getTask answers tasks/get: the job as a task, its result inlined once
// it ended. A tool that ran and failed is completed with an isError result
// (that is the tool's answer); only a server-side failure is failed.
func (p *Proxy) getTask(ctx context.Context, req taskRequest) mcp.JSONRPCMessage {
	j, msg := p.taskJob(ctx, req)
	if msg != nil {
		return msg
	}
	res := taskFields(j)
	res["resultType"] = "complete"
	if inputs := p.taskInputs.requests(j.ID); inputs != nil && j.State == wire.JobRunning {
		res["status"], res["inputRequests"] = "input_required", inputs
	}
	switch {
	case j.State == wire.JobCompleted:
		res["result"] = withResultType(resultOf(j.Result, ""))
	case j.State == wire.JobFailed && j.Error != nil && serverSide[j.Error.Kind]:
		res["status"] = "failed"
		res["error"] = map[string]any{"code": j.Error.Kind.Code(), "message": j.Error.Message}
	case j.State == wire.JobFailed && j.Error != nil:
		res["result"] = withResultType(mcp.NewToolResultError(fmt.Sprintf("%s (error kind: %s)", j.Error.Message, j.Error.Kind)))
	}
	return rpcResult(req.ID, res)
}

// serverSide are the kinds of job failure that are not the tool's answer
// but the server's: nothing could serve the call, or the engine broke. A
// task that ends so is failed, with a protocol error.
var serverSide = map[wire.Kind]bool{wire.KindInternal: true, wire.KindUnavailable: true, wire.KindNoProvider: true}

func withResultType(r *mcp.CallToolResult) map[string]any {
	b, _ := json.Marshal(r)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	out["resultType"] = "complete"
	return out
}

// cancelTask answers tasks/cancel: the job is cancelled (a task that ended
// already is left as it is), and the answer is an empty ack.
func (p *Proxy) cancelTask(ctx context.Context, req taskRequest) mcp.JSONRPCMessage {
	j, msg := p.taskJob(ctx, req)
	if msg != nil {
		return msg
	}
	if j.State == wire.JobRunning {
		if err := p.eng.Call(ctx, wire.MethodJobsCancel, wire.IDParams{ID: j.ID}, nil, false); err != nil {
			return rpcError(req.ID, mcp.INTERNAL_ERROR, "cancel the task's job: "+err.Error(), nil)
		}
	}
	return rpcResult(req.ID, map[string]any{"resultType": "complete"})
}

// taskJob is the job of the request's taskId, or the error to answer.
func (p *Proxy) taskJob(ctx context.Context, req taskRequest) (wire.Job, mcp.JSONRPCMessage) {
	var j wire.Job
	if req.Params.TaskID == "" {
		return j, rpcError(req.ID, mcp.INVALID_PARAMS, req.Method+": taskId is required", nil)
	}
	if err := p.eng.Call(ctx, wire.MethodJobsGet, wire.IDParams{ID: req.Params.TaskID}, &j, true); err != nil {
		if wire.IsKind(err, wire.KindNotFound) {
			return j, rpcError(req.ID, mcp.INVALID_PARAMS, fmt.Sprintf("%s: no task %q", req.Method, req.Params.TaskID), nil)
		}
		return j, rpcError(req.ID, mcp.INTERNAL_ERROR, req.Method+": "+err.Error(), nil)
	}
	return j, nil
}
