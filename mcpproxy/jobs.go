package mcpproxy

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/agentos/agentos/engine/wire"

	"github.com/mark3labs/mcp-go/mcp"
)

// rejoinWithin is how long a capability call whose engine went away waits
// for one to answer again, to tell a restart (the call was interrupted, the
// engine is back) from a stop (start it).
var rejoinWithin = 10 * time.Second

// invokeJob runs capabilities.invoke as an async job and follows it, as
// `agentos invoke` does: job.progress events become notifications/progress
// when the request carries a progress token, and a cancelled request (the
// client's notifications/cancelled) cancels the job.
//
// When the engine goes away meanwhile, the call reconnects: to the same
// engine (only the connection dropped), it follows the job on; to another
// one (the engine restarted, and jobs do not survive a restart), it ends
// with an isError result saying the call was interrupted, never re-running
// a capability that may have side effects.
func (p *Proxy) invokeJob(ctx context.Context, req mcp.CallToolRequest, params map[string]any) *mcp.CallToolResult {
	// Subscribing hands a client's socket to its events, so the job gets a
	// connection of its own.
	k := &conn{home: p.conn.home}
	c, err := k.client(ctx)
	if err != nil {
		return errorResult(err)
	}
	defer k.close()

	events := make(chan wire.Event, 64)
	subscribe := func(c *wire.Client) error {
		_, err := c.SubscribeTypes(ctx, -1, []string{wire.EventJobProgress, wire.EventJobFinished}, func(ev wire.Event) {
			if ev.Type == wire.EventJobProgress || ev.Type == wire.EventJobFinished {
				select {
				case events <- ev:
				default:
				}
			}
		})
		return err
	}
	// Subscribe first so no event of the job is missed.
	if err := subscribe(c); err != nil {
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
	id, pid := started.Job, c.Engine.PID
	what := "the call"
	if name, _ := params["capability"].(string); name != "" {
		what = fmt.Sprintf("the call of %s", name)
	}

	var token mcp.ProgressToken
	if req.Params.Meta != nil {
		token = req.Params.Meta.ProgressToken
	}

	// ended asks the engine how the job stands: a result once it has ended,
	// nil while it runs, or the error of asking.
	ended := func() (*mcp.CallToolResult, error) {
		var j wire.Job
		if err := c.Call(ctx, "jobs.get", map[string]string{"id": id}, &j); err != nil {
			return nil, err
		}
		switch j.State {
		case wire.JobRunning:
			return nil, nil
		case wire.JobCompleted:
			return resultOf(j.Result, ""), nil
		}
		if j.Error != nil {
			return errorResult(&wire.Error{Kind: j.Error.Kind, Message: j.Error.Message}), nil
		}
		return mcp.NewToolResultError(fmt.Sprintf("job %s ended %s", id, j.State)), nil
	}
	// The job.finished event says when to look; the ticker covers an event
	// lost to a full buffer.
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		var res *mcp.CallToolResult
		var err error
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
		case <-c.Done():
			err = wire.ErrUnreachable
		case ev := <-events:
			if ev.Data["job"] != id {
				continue
			}
			if ev.Type == wire.EventJobProgress {
				if token != nil {
					p.sendProgress(ctx, token, ev.Data)
				}
				continue
			}
			res, err = ended()
		case <-tick.C:
			res, err = ended()
		}
		switch {
		case res != nil:
			return res
		case err == nil || ctx.Err() != nil:
			continue // still running; or cancelled, which the next turn handles
		case !engineGone(err):
			return errorResult(err)
		}

		// The engine went away (a shutdown refuses calls, then closes
		// connections) or at least this connection did.
		p.log.Info("engine connection lost while following a job; reconnecting", "job", id, "err", err)
		k.drop(c)
		nc, rerr := k.rejoin(ctx, rejoinWithin)
		switch {
		case rerr != nil && ctx.Err() != nil:
			continue
		case rerr != nil:
			p.log.Warn("engine gone during a capability call", "job", id, "err", rerr)
			return mcp.NewToolResultError(fmt.Sprintf("%s was interrupted: the agentos engine stopped while it ran (job %s), "+
				"and jobs do not survive the engine, so it did not complete. Start the engine with `agentos start` "+
				"(this MCP session reconnects by itself), then retry if repeating what the call may already have done is safe. (%v)",
				what, id, rerr))
		case nc.Engine.PID != pid:
			p.log.Warn("engine restarted during a capability call; the call was interrupted", "job", id, "pid", pid, "new_pid", nc.Engine.PID)
			return mcp.NewToolResultError(fmt.Sprintf("%s was interrupted: the agentos engine restarted while it ran "+
				"(job %s of engine pid %d; pid %d answers now), and jobs do not survive a restart, so it did not complete. "+
				"The engine is back and the next call will work: retry if repeating what the call may already have done is safe.",
				what, id, pid, nc.Engine.PID))
		}
		// The same engine: follow the job on a new subscription, and look
		// at once, in case it ended meanwhile.
		c = nc
		if err := subscribe(c); err != nil {
			return errorResult(err)
		}
		if res, err := ended(); res != nil {
			return res
		} else if err != nil && ctx.Err() == nil {
			return errorResult(err)
		}
	}
}

// engineGone says an error means the engine (or the connection to it) is
// going or gone, rather than a failure of the call itself: the connection
// died, or the engine refused the call because it is shutting down (or
// too busy, which a reconnect sorts out as well).
func engineGone(err error) bool {
	var ee *wire.Error
	return errors.Is(err, wire.ErrUnreachable) || errors.As(err, &ee) && ee.Kind == wire.KindUnavailable
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
