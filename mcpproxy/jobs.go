package mcpproxy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/agentos/agentos/engine/wire"
)

// rejoinWithin is how long a capability call whose engine went away waits
// for one to answer again, to tell a restart (the call was interrupted, the
// engine is back) from a stop (start it).
var rejoinWithin = 10 * time.Second

// invokeJob runs capabilities.invoke as an async job and follows it
// (wire.Invoke, as `agentos invoke` does): job.progress events become
// notifications/progress when the request carries a progress token, and a
// cancelled request (the client's notifications/cancelled) cancels the job.
// An engine that went away meanwhile ends the call with an isError result
// saying it was interrupted: a capability that may have had side effects is
// never run again.
func (p *Proxy) invokeJob(ctx context.Context, req mcp.CallToolRequest, params wire.InvokeParams) *mcp.CallToolResult {
	if modern, feats := modernInput(req); modern && (len(feats) > 0 || req.Params.RequestState != "") {
		params.ClientFeatures = feats
		return p.invokeMRTR(ctx, req, params)
	}
	var token mcp.ProgressToken
	if req.Params.Meta != nil {
		token = req.Params.Meta.ProgressToken
	}
	follow := p.notifying(func() (context.Context, mcp.ProgressToken) { return ctx, token })
	if params.ClientFeatures = clientFeatures(ctx); len(params.ClientFeatures) > 0 {
		follow.OnInput = func(_ context.Context, kind string, raw json.RawMessage) (json.RawMessage, error) {
			return p.askClient(ctx, kind, raw)
		}
	}
	res, err := wire.Invoke(ctx, p.eng.Socket(), p.eng.Options(), params, follow)
	return p.callResult(params, res, err)
}

// notifying is a Follow that sends a job's log lines and, when the request
// has a progress token, its progress to the request of round(): the one
// call's request, or the current round of a multi-round-trip call (nil
// context: none is listening).
func (p *Proxy) notifying(round func() (context.Context, mcp.ProgressToken)) wire.Follow {
	return wire.Follow{RejoinWithin: rejoinWithin, Log: p.log,
		OnLog: func(ev wire.Event) {
			if ctx, _ := round(); ctx != nil {
				p.sendLog(ctx, ev)
			}
		},
		OnProgress: func(ev wire.Event) {
			if ctx, token := round(); ctx != nil && token != nil {
				p.sendProgress(ctx, token, ev.Data)
			}
		}}
}

// callResult is the tool result of a capability call that gave res or err.
func (p *Proxy) callResult(params wire.InvokeParams, res json.RawMessage, err error) *mcp.CallToolResult {
	if err == nil {
		return resultOf(res, "")
	}
	what := "the call"
	if params.Capability != "" {
		what = fmt.Sprintf("the call of %s", params.Capability)
	}
	var cancelled *wire.Cancelled
	var gone *wire.Interrupted
	switch {
	case errors.As(err, &cancelled) && cancelled.CancelErr != nil:
		return mcp.NewToolResultError(fmt.Sprintf("cancelled; %v", cancelled))
	case errors.As(err, &cancelled):
		p.log.Info("tool call cancelled; job cancelled", "job", cancelled.Job)
		return mcp.NewToolResultError(fmt.Sprintf("cancelled: %v", cancelled))
	case errors.As(err, &gone) && gone.NewPID == 0:
		p.log.Warn("engine gone during a capability call", "job", gone.Job, "err", gone.Err)
		return mcp.NewToolResultError(fmt.Sprintf("%s was interrupted: the agentos engine stopped while it ran (job %s), "+
			"and jobs do not survive the engine, so it did not complete. Start the engine with `agentos start` "+
			"(this MCP session reconnects by itself), then retry if repeating what the call may already have done is safe. (%v)",
			what, gone.Job, gone.Err))
	case errors.As(err, &gone):
		p.log.Warn("engine restarted during a capability call; the call was interrupted", "job", gone.Job, "pid", gone.PID, "new_pid", gone.NewPID)
		return mcp.NewToolResultError(fmt.Sprintf("%s was interrupted: the agentos engine restarted while it ran "+
			"(job %s of engine pid %d; pid %d answers now), and jobs do not survive a restart, so it did not complete. "+
			"The engine is back and the next call will work: retry if repeating what the call may already have done is safe.",
			what, gone.Job, gone.PID, gone.NewPID))
	}
	return errorResult(err)
}

// sendLog forwards a line the job's skill logged as notifications/message,
// at or above the session's logging/setLevel (mcp-go checks it); the logger
// is the skill.
func (p *Proxy) sendLog(ctx context.Context, ev wire.Event) {
	msg, _ := ev.Data["message"].(string)
	level := mcp.LoggingLevelInfo
	switch ev.Data["level"] {
	case "debug":
		level = mcp.LoggingLevelDebug
	case "warning", "warn":
		level = mcp.LoggingLevelWarning
	case "error":
		level = mcp.LoggingLevelError
	}
	n := mcp.NewLoggingMessageNotification(level, ev.Skill, msg)
	if err := p.srv.SendLogMessageToClient(ctx, n); err != nil {
		p.log.Debug("log notification not sent", "err", err)
	}
}

// sendProgress forwards one job.progress event as notifications/progress.
func (p *Proxy) sendProgress(ctx context.Context, token mcp.ProgressToken, d map[string]any) {
	n := map[string]any{"progressToken": token}
	cur, _ := d["current"].(float64)
	n["progress"] = cur
	if total, _ := d["total"].(float64); total > 0 {
		n["total"] = total
	}
	if msg, _ := d["message"].(string); msg != "" {
		n["message"] = msg
	}
	if delta, _ := d["delta"].(string); delta != "" {
		n["message"] = delta // a streamed piece of the answer (DESIGN §13)
	}
	if err := p.srv.SendNotificationToClient(ctx, string(mcp.MethodNotificationProgress), n); err != nil {
		p.log.Debug("progress notification not sent", "err", err)
	}
}
