package wire

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Follow tunes Invoke.
type Follow struct {
	// OnStarted, when set, gets the job's id once the engine has taken it.
	OnStarted func(job string)
	// OnProgress gets each job.progress event of the job, in order.
	OnProgress func(Event)
	// OnLog gets each job.log event of the job (a line its skill logged).
	OnLog func(Event)
	// OnInput answers a job.input event: a skill of the job asks the
	// caller (kind elicitation or sampling, with its params). It runs in a
	// goroutine of its own; its result or error goes back by jobs.respond.
	// Set it only with the matching InvokeParams.ClientFeatures.
	OnInput func(ctx context.Context, kind string, params json.RawMessage) (json.RawMessage, error)
	// RejoinWithin is how long a call whose engine went away waits for one
	// to answer again, to tell a restart from a stop (default 10 s).
	RejoinWithin time.Duration
	Log          *slog.Logger
}

// Cancelled is the error of a call whose ctx ended: its job was cancelled,
// or CancelErr says why cancelling it failed.
type Cancelled struct {
	Job       string
	CancelErr error
}

func (e *Cancelled) Error() string {
	if e.CancelErr != nil {
		return fmt.Sprintf("cancelling job %s failed: %v", e.Job, e.CancelErr)
	}
	return fmt.Sprintf("job %s cancelled", e.Job)
}

func (e *Cancelled) Unwrap() error { return context.Canceled }

// Interrupted is the error of a call whose engine went away while its job
// ran. Jobs do not survive the engine, so the job did not complete; Invoke
// never runs it again, since it may have had effects. NewPID is the engine
// that answers now (0: none did within Follow.RejoinWithin).
type Interrupted struct {
	Job    string
	PID    int
	NewPID int
	Err    error // why the engine could not be reached, when NewPID is 0
}

func (e *Interrupted) Error() string {
	if e.NewPID == 0 {
		return fmt.Sprintf("interrupted: the engine stopped while job %s ran, and jobs do not survive the engine (%v)", e.Job, e.Err)
	}
	return fmt.Sprintf("interrupted: the engine restarted while job %s ran (pid %d, now %d), and jobs do not survive a restart", e.Job, e.PID, e.NewPID)
}

func (e *Interrupted) Unwrap() error { return ErrUnreachable }

// engineGone says an error means the engine (or the connection to it) is
// going or gone, rather than a failure of the call itself: the connection
// died, or the engine refused the call because it is shutting down (or too
// busy, which a reconnect sorts out as well).
func engineGone(err error) bool {
	return errors.Is(err, ErrUnreachable) || IsKind(err, KindUnavailable)
}

// Invoke runs capabilities.invoke as an async job on a connection of its
// own (its events need the socket's reader) and follows it to its end: the
// job's result, its error as an *Error, *Cancelled when ctx ends (the job is
// cancelled), or *Interrupted when the engine went away. A connection lost
// while the same engine runs on is rejoined and the job followed on.
func Invoke(ctx context.Context, socket string, opts ClientOptions, p InvokeParams, f Follow) (json.RawMessage, error) {
	if f.RejoinWithin <= 0 {
		f.RejoinWithin = 10 * time.Second
	}
	if f.Log == nil {
		f.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Name == "" {
		opts.Name = "client" // system.hello tells a restarted engine by its pid
	}
	r := NewRedialer(socket, opts)
	defer r.Close()
	c, err := r.Client(ctx)
	if err != nil {
		return nil, err
	}
	fl := &follower{ctx: ctx, f: f, events: make(chan Event, 64)}
	// Subscribe first so no event of the job is missed.
	if err := fl.subscribe(c); err != nil {
		return nil, err
	}
	p.Async = true
	var started struct {
		Job string `json:"job"`
	}
	if err := c.Call(ctx, MethodInvoke, p, &started); err != nil {
		return nil, err
	}
	fl.id, fl.pid = started.Job, c.Engine.PID
	if f.OnStarted != nil {
		f.OnStarted(started.Job)
	}
	return fl.run(r, c)
}

type follower struct {
	ctx    context.Context
	f      Follow
	events chan Event
	id     string
	pid    int
}

func (fl *follower) subscribe(c *Client) error {
	_, err := c.SubscribeTypes(fl.ctx, -1, []string{EventJobProgress, EventJobLog, EventJobInput, EventJobFinished}, func(ev Event) {
		if ev.Type == EventJobInput {
			fl.answer(c, ev) // never dropped: a skill waits for it
			return
		}
		if ev.Type == EventJobProgress || ev.Type == EventJobLog || ev.Type == EventJobFinished {
			select {
			case fl.events <- ev:
			default: // the ticker in run covers a lost job.finished
			}
		}
	})
	return err
}

// answer runs OnInput for a job.input event and sends what it gives back
// with jobs.respond, on the connection the input came on (the engine takes
// the answer from that connection only).
func (fl *follower) answer(c *Client, ev Event) {
	job, _ := ev.Data["job"].(string)
	req, _ := ev.Data["request"].(string)
	kind, _ := ev.Data["kind"].(string)
	params, _ := json.Marshal(ev.Data["params"])
	go func() {
		p := RespondParams{Job: job, Request: req}
		if fl.f.OnInput == nil {
			p.Error = "this caller answers no " + kind + " requests"
		} else if res, err := fl.f.OnInput(fl.ctx, kind, params); err != nil {
			p.Error = err.Error()
		} else {
			p.Result = res
		}
		if err := c.Call(fl.ctx, MethodJobsRespond, p, nil); err != nil {
			fl.f.Log.Warn("answering a job's input failed", "job", job, "request", req, "err", err)
		}
	}()
}

// ended asks the engine how the job stands: done once it ended, with its
// result or error.
func (fl *follower) ended(c *Client) (done bool, res json.RawMessage, err error) {
	var j Job
	if err := c.Call(fl.ctx, MethodJobsGet, IDParams{ID: fl.id}, &j); err != nil {
		return false, nil, err
	}
	switch j.State {
	case JobRunning:
		return false, nil, nil
	case JobCompleted:
		return true, j.Result, nil
	}
	if j.Error != nil {
		return true, nil, &Error{Code: j.Error.Kind.Code(), Kind: j.Error.Kind, Message: j.Error.Message}
	}
	return true, nil, Errorf(KindInternal, "job %s ended %s", fl.id, j.State)
}

// cancel cancels the job, on a new connection if the last one is gone.
func (fl *follower) cancel(r *Redialer) error {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(fl.ctx), 10*time.Second)
	defer cancel()
	err := r.Call(cctx, MethodJobsCancel, IDParams{ID: fl.id}, nil, true)
	if err != nil {
		fl.f.Log.Warn("cancelling the job of a cancelled call failed", "job", fl.id, "err", err)
	}
	return &Cancelled{Job: fl.id, CancelErr: err}
}

func (fl *follower) run(r *Redialer, c *Client) (json.RawMessage, error) {
	// The job.finished event says when to look; the ticker covers an event
	// lost to a full buffer.
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		var done bool
		var res json.RawMessage
		var err error
		select {
		case <-fl.ctx.Done():
			return nil, fl.cancel(r)
		case <-c.Done():
			err = ErrUnreachable
		case ev := <-fl.events:
			if ev.Data["job"] != fl.id {
				continue
			}
			if ev.Type == EventJobProgress {
				if fl.f.OnProgress != nil {
					fl.f.OnProgress(ev)
				}
				continue
			}
			if ev.Type == EventJobLog {
				if fl.f.OnLog != nil {
					fl.f.OnLog(ev)
				}
				continue
			}
			done, res, err = fl.ended(c)
		case <-tick.C:
			done, res, err = fl.ended(c)
		}
		switch {
		case done:
			return res, err
		case err == nil || fl.ctx.Err() != nil:
			continue // still running; or cancelled, which the next turn handles
		case !engineGone(err):
			return nil, err
		}
		nc, err := fl.rejoin(r, c, err)
		if nc == nil {
			if err != nil {
				return nil, err
			}
			continue // ctx ended meanwhile: the next turn cancels
		}
		c = nc
	}
}

// rejoin reconnects after the connection to the engine was lost. The same
// engine: the job is followed on a new subscription (and looked at at once,
// in case it ended meanwhile). Another engine, or none: *Interrupted.
func (fl *follower) rejoin(r *Redialer, c *Client, cause error) (*Client, error) {
	fl.f.Log.Info("engine connection lost while following a job; reconnecting", "job", fl.id, "err", cause)
	r.Drop(c)
	nc, err := r.Rejoin(fl.ctx, fl.f.RejoinWithin)
	switch {
	case err != nil && fl.ctx.Err() != nil:
		return nil, nil
	case err != nil:
		return nil, &Interrupted{Job: fl.id, PID: fl.pid, Err: err}
	case nc.Engine.PID != fl.pid:
		return nil, &Interrupted{Job: fl.id, PID: fl.pid, NewPID: nc.Engine.PID}
	}
	if err := fl.subscribe(nc); err != nil {
		return nil, err
	}
	select {
	case fl.events <- Event{Type: EventJobFinished, Data: map[string]any{"job": fl.id}}:
	default:
	}
	return nc, nil
}
