package mcpproxy

import (
	"context"
	"fmt"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/agentos/agentos/engine"
)

// invokeJob runs capabilities.invoke as an async job and follows it, as
// `agentos invoke` does: job.progress events become notifications/progress
// when the request carries a progress token, and a cancelled request (the
// client's notifications/cancelled) cancels the job.
func (p *Proxy) invokeJob(ctx context.Context, req mcp.CallToolRequest, params map[string]any) *mcp.CallToolResult {
	// Subscribing hands a client's socket to its events, so the job gets a
	// connection of its own.
	k := &conn{home: p.conn.home}
	c, err := k.client(ctx)
	if err != nil {
		return errorResult(err)
	}
	defer k.close()

	// Subscribe first so no event of the job is missed.
	events := make(chan engine.Event, 64)
	if _, err := c.SubscribeTypes(ctx, -1, []string{engine.EventJobProgress, engine.EventJobFinished}, func(ev engine.Event) {
		if ev.Type == engine.EventJobProgress || ev.Type == engine.EventJobFinished {
			select {
			case events <- ev:
			default:
			}
		}
	}); err != nil {
		return errorResult(err)
	}
	q := make(map[string]any, len(params)+1)
	for k, v := range params {
		q[k] = v
	}
	q["async"] = true
	var started struct {
		Job string `json:"job"`
	}
	if err := c.Call(ctx, "capabilities.invoke", q, &started); err != nil {
		return errorResult(err)
	}
	id := started.Job

	var token mcp.ProgressToken
	if req.Params.Meta != nil {
		token = req.Params.Meta.ProgressToken
	}

	// ended asks the engine how the job stands; nil while it runs.
	ended := func() *mcp.CallToolResult {
		var j engine.Job
		if err := c.Call(ctx, "jobs.get", map[string]string{"id": id}, &j); err != nil {
			if ctx.Err() != nil {
				return nil // the cancel case handles it
			}
			return errorResult(err)
		}
		switch j.State {
		case engine.JobRunning:
			return nil
		case engine.JobCompleted:
			return resultOf(j.Result, "")
		}
		if j.Error != nil {
			return errorResult(&engine.Error{Kind: j.Error.Kind, Message: j.Error.Message})
		}
		return mcp.NewToolResultError(fmt.Sprintf("job %s ended %s", id, j.State))
	}
	// The job.finished event says when to look; the ticker covers an event
	// lost to a full buffer.
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			err := c.Call(cctx, "jobs.cancel", map[string]string{"id": id}, nil)
			cancel()
			if err != nil {
				p.log.Warn("cancelling the job of a cancelled tool call failed", "job", id, "err", err)
				return mcp.NewToolResultError(fmt.Sprintf("cancelled; cancelling job %s failed: %v", id, err))
			}
			p.log.Info("tool call cancelled; job cancelled", "job", id)
			return mcp.NewToolResultError(fmt.Sprintf("cancelled: job %s cancelled", id))
		case ev := <-events:
			if ev.Data["job"] != id {
				continue
			}
			if ev.Type == engine.EventJobProgress {
				if token != nil {
					p.sendProgress(ctx, token, ev.Data)
				}
				continue
			}
			if res := ended(); res != nil {
				return res
			}
		case <-tick.C:
			if res := ended(); res != nil {
				return res
			}
		}
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
	if err := p.srv.SendNotificationToClient(ctx, string(mcp.MethodNotificationProgress), n); err != nil {
		p.log.Debug("progress notification not sent", "err", err)
	}
}
