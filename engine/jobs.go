package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime/debug"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/agentos/agentos/broker"
	"github.com/agentos/agentos/engine/wire"
	"github.com/agentos/agentos/graph"
	"github.com/agentos/agentos/internal/redact"
)

// Job is one invocation as the engine tracks it: the record jobs.get
// answers, and what it needs to cancel and wait for the work.
type Job struct {
	wire.Job

	ctx       context.Context
	cancel    context.CancelFunc
	done      chan struct{}
	parentJob *Job
	asker     *asker      // the caller that answers its skills' client ops (ask.go)
	secrets   *redact.Set // values its calls got from secrets.get (redact.go)
	shares    *lineShares
	// replyHolds: the method that runs the job writes its result in the
	// reply, and gives the shares back once that is on the wire.
	replyHolds bool
}

// lineShares are the shares of the runner's large-line pool that the job's
// results were read with (broker.WithLineShareKeeper): kept while the result
// travels on, so the pool bounds a large result until it is written out.
type lineShares struct {
	mu      sync.Mutex
	release []func()
}

func (j *Job) keepShare(release func()) {
	j.shares.mu.Lock()
	defer j.shares.mu.Unlock()
	j.shares.release = append(j.shares.release, release)
}

// releaseShares gives back every share the job keeps.
func (j *Job) releaseShares() {
	j.shares.mu.Lock()
	rel := j.shares.release
	j.shares.release = nil
	j.shares.mu.Unlock()
	for _, r := range rel {
		r()
	}
}

// jobTable keeps running jobs and the most recent finished ones.
type jobTable struct {
	mu       sync.Mutex
	next     atomic.Int64
	jobs     map[string]*Job
	finished []string // oldest first, bounded by keep
	keep     int
	bus      *Bus
	calls    *callMetrics
}

func newJobTable(bus *Bus, calls *callMetrics, keep int) *jobTable {
	return &jobTable{jobs: map[string]*Job{}, keep: keep, bus: bus, calls: calls}
}

type jobCtxKey struct{}

// jobFrom returns the job a context belongs to (nested calls), or nil.
func jobFrom(ctx context.Context) *Job {
	j, _ := ctx.Value(jobCtxKey{}).(*Job)
	return j
}

// start registers a running job whose context derives from parent: cancel
// the parent (or the job) and everything the job started stops with it.
func (t *jobTable) start(parent context.Context, caller string) *Job {
	ctx, cancel := context.WithCancel(parent)
	j := &Job{Job: wire.Job{ID: "j" + strconv.FormatInt(t.next.Add(1), 10), Caller: caller, State: wire.JobRunning,
		StartedAt: time.Now().UTC()}, cancel: cancel, done: make(chan struct{}), secrets: &redact.Set{}, shares: &lineShares{}}
	if p := jobFrom(parent); p != nil {
		j.Parent, j.parentJob = p.ID, p
	}
	// What the job writes (a @returns tool's items, its skill's graph
	// ops) is the job's doing, not the doing of the call that started
	// it: the changes carry the job's id, the call_id of its job.* events.
	j.ctx = graph.WithCall(context.WithValue(ctx, jobCtxKey{}, j), j.ID)
	// The runner passes what a worker says through it: no secret handed to
	// this job (or one above it) reaches an error, a log line or an event.
	j.ctx = broker.WithRedactor(j.ctx, j.redact)
	j.ctx = broker.WithLineShareKeeper(j.ctx, j.keepShare)
	t.mu.Lock()
	t.jobs[j.ID] = j
	t.mu.Unlock()
	return j
}

// finish records how j ended.
func (t *jobTable) finish(j *Job, result json.RawMessage, err error) {
	now := time.Now().UTC()
	t.mu.Lock()
	j.EndedAt = &now
	switch {
	case err == nil:
		j.State, j.Result = wire.JobCompleted, result
	case KindOf(err) == wire.KindCancelled:
		j.State, j.Error = wire.JobCancelled, &wire.JobError{Kind: wire.KindCancelled, Message: err.Error()}
	default:
		j.State, j.Error = wire.JobFailed, &wire.JobError{Kind: KindOf(err), Message: err.Error()}
	}
	if len(j.Result) > maxKeptResult {
		j.Result = json.RawMessage(fmt.Sprintf(`{"dropped":"the result was %d bytes; results over %d bytes are not kept"}`, len(j.Result), maxKeptResult))
	}
	// The caller has its result as the tool made it; what jobs.get keeps
	// for anyone to read later holds no secret handed to the job.
	j.Result = j.redactResult(j.Result)
	t.finished = append(t.finished, j.ID)
	if len(t.finished) > t.keep {
		delete(t.jobs, t.finished[0])
		t.finished = t.finished[1:]
	}
	ev := wire.Event{Type: wire.EventJobFinished, CallID: j.ID, Capability: j.Capability, Skill: j.Skill, Provider: j.Tool,
		Caller: j.Caller, Data: map[string]any{"job": j.ID, "state": j.State, "parent": j.Parent},
		LatencyMS: float64(now.Sub(j.StartedAt).Microseconds()) / 1000}
	if j.Error != nil {
		ev.Error, ev.ErrorKind = j.Error.Message, j.Error.Kind
	}
	name := j.Capability
	if name == "" {
		name = "skill:" + j.Skill
	}
	t.mu.Unlock()
	t.calls.observe("capability", name, j.State, now.Sub(j.StartedAt))
	j.cancel()
	close(j.done)
	t.bus.Publish(ev)
}

// maxKeptResult bounds the result a finished job keeps for jobs.get.
const maxKeptResult = 1 << 20

func (t *jobTable) progress(j *Job, current, total float64, msg, delta string) {
	t.mu.Lock()
	j.Progress = &wire.JobProgress{Current: current, Total: total, Message: msg, Delta: delta}
	data := map[string]any{"job": j.ID, "tool": j.Tool, "current": current, "total": total, "message": msg}
	if delta != "" {
		data["delta"] = delta
	}
	ev := wire.Event{Type: wire.EventJobProgress, Skill: j.Skill, Capability: j.Capability, Provider: j.Tool, CallID: j.ID, Data: data}
	t.mu.Unlock()
	t.bus.Publish(ev)
}

// logged publishes a line j's skill logged (agentos.log), for the callers
// following the job (MCP sends them as notifications/message).
func (t *jobTable) logged(j *Job, level, msg string) {
	t.mu.Lock()
	ev := wire.Event{Type: wire.EventJobLog, Skill: j.Skill, Capability: j.Capability, Provider: j.Tool, CallID: j.ID,
		Data: map[string]any{"job": j.ID, "tool": j.Tool, "level": level, "message": msg}}
	t.mu.Unlock()
	t.bus.Publish(ev)
}

// set updates j's fields under the table's lock.
func (t *jobTable) set(j *Job, fn func(j *Job)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	fn(j)
}

// snapshot returns a copy safe to encode, without the result unless asked.
func (t *jobTable) snapshot(j *Job, withResult bool) wire.Job {
	t.mu.Lock()
	defer t.mu.Unlock()
	c := j.Job
	c.Attempts = append([]wire.Attempt(nil), j.Attempts...)
	if !withResult {
		c.Result = nil
	}
	return c
}

func (t *jobTable) get(id string) (*Job, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	j, ok := t.jobs[id]
	if !ok {
		return nil, wire.Errorf(wire.KindNotFound, "no job %q (finished jobs are kept for the last %d)", id, t.keep)
	}
	return j, nil
}

// list returns the jobs, newest first.
func (t *jobTable) list() []*Job {
	t.mu.Lock()
	out := make([]*Job, 0, len(t.jobs))
	for _, j := range t.jobs {
		out = append(out, j)
	}
	t.mu.Unlock()
	sort.Slice(out, func(a, b int) bool { return out[a].StartedAt.After(out[b].StartedAt) })
	return out
}

func (t *jobTable) running() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.jobs) - len(t.finished)
}

// runJob runs fn as a new job started from ctx and records how it ended.
func (s *Server) runJob(ctx context.Context, caller string, fn func(j *Job) (any, error)) (any, error) {
	return s.completeJob(s.jobs.start(ctx, caller), fn)
}

// runJobReplying is runJob for a method that answers with the job's result:
// the job's shares of the large-line pool are given back once the reply is
// on the wire (c.afterReply), not when the job ends.
func (s *Server) runJobReplying(ctx context.Context, c *call, fn func(j *Job) (any, error)) (any, error) {
	j := s.jobs.start(ctx, c.caller)
	j.replyHolds = true
	out, err := s.completeJob(j, fn)
	if err != nil || c.conn == nil {
		// No result, or no connection whose reply would say when it is written
		// (a method called from inside the engine): nothing to wait for.
		j.releaseShares()
		return out, err
	}
	prev := c.afterReply
	c.afterReply = func() {
		j.releaseShares()
		if prev != nil {
			prev()
		}
	}
	return out, nil
}

// completeJob runs fn for the started job j and records how it ended,
// panics included: a job never stays "running" after its work is gone.
func (s *Server) completeJob(j *Job, fn func(j *Job) (any, error)) (out any, err error) {
	defer func() {
		if !j.replyHolds {
			j.releaseShares()
		}
	}()
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("panic in job", "job", j.ID, "panic", r, "stack", string(debug.Stack()))
			err = j.redactError(wire.Errorf(wire.KindInternal, "internal error in job %s: %v (see logs/engine.log)", j.ID, r))
			s.jobs.finish(j, nil, err)
			out = nil
		}
	}()
	res, err := fn(j)
	var raw json.RawMessage
	if r, ok := res.(json.RawMessage); ok && err == nil && json.Valid(r) {
		// A tool's result as the runner read it: already JSON, and maybe
		// tens of MiB; Marshal would copy it (and grow a buffer twice its
		// size) only to compact it.
		raw = r
	} else if err == nil {
		if raw, err = json.Marshal(res); err != nil {
			err = wire.Errorf(wire.KindInternal, "encode the result of job %s: %v", j.ID, err)
		}
	}
	if err != nil && j.ctx.Err() != nil && KindOf(err) != wire.KindTimeout {
		err = wire.Errorf(wire.KindCancelled, "job %s was cancelled", j.ID)
	}
	// Whatever the error went through on its way up, the record, the events
	// and the caller get it without the job's secrets.
	err = j.redactError(err)
	s.jobs.finish(j, raw, err)
	if err != nil {
		return nil, err
	}
	return raw, nil
}

// objectOrEmpty makes absent or null params an empty object.
func objectOrEmpty(p json.RawMessage) json.RawMessage {
	if len(p) == 0 || string(p) == "null" {
		return json.RawMessage("{}")
	}
	return p
}

// cancelAll cancels every running job and waits (until ctx ends) for them.
func (t *jobTable) cancelAll(ctx context.Context) {
	t.mu.Lock()
	var running []*Job
	for _, j := range t.jobs {
		if j.State == wire.JobRunning {
			running = append(running, j)
		}
	}
	t.mu.Unlock()
	for _, j := range running {
		j.cancel()
	}
	for _, j := range running {
		select {
		case <-j.done:
		case <-ctx.Done():
			return
		}
	}
}
