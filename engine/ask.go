package engine

import (
	"context"
	"encoding/json"
	"strconv"
	"sync"

	"github.com/agentos/agentos/broker"
	"github.com/agentos/agentos/engine/wire"
)

// asker is the connection that started a job and the client features it
// answers for (InvokeParams.ClientFeatures): a skill's client.elicit or
// client.sample op, in that job or a job under it, becomes a job.input
// notification on that connection only, and waits for its jobs.respond.
type asker struct {
	conn     *conn
	job      string // the job the caller follows, whose id the input carries
	features map[string]bool

	mu      sync.Mutex
	next    int
	pending map[string]chan askReply
}

type askReply struct {
	result json.RawMessage
	err    string
}

func newAsker(c *conn, job string, features []string) *asker {
	a := &asker{conn: c, job: job, features: map[string]bool{}, pending: map[string]chan askReply{}}
	for _, f := range features {
		a.features[f] = true
	}
	return a
}

// askerOf is the asker of j or of the nearest job above it.
func askerOf(j *Job) *asker {
	for ; j != nil; j = j.parentJob {
		if j.asker != nil {
			return j.asker
		}
	}
	return nil
}

func (a *asker) open() (string, chan askReply) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.next++
	id := "r" + strconv.Itoa(a.next)
	ch := make(chan askReply, 1)
	a.pending[id] = ch
	return id, ch
}

func (a *asker) take(id string) chan askReply {
	a.mu.Lock()
	defer a.mu.Unlock()
	ch := a.pending[id]
	delete(a.pending, id)
	return ch
}

// askFeature is the client feature an op needs.
var askFeature = map[string]string{broker.OpNameClientElicit: wire.FeatureElicitation, broker.OpNameClientSample: wire.FeatureSampling}

// ask sends a skill's elicitation or sampling request to the caller of j's
// job tree and waits for the answer, the job's end (cancel, timeout) or the
// caller's connection closing.
func (s *Server) ask(ctx context.Context, j *Job, skill, op string, params json.RawMessage) (any, error) {
	feature := askFeature[op]
	a := askerOf(j)
	if a == nil || !a.features[feature] {
		return nil, wire.Errorf(wire.KindUnavailable, "%s: the caller of this call (%s) cannot answer %s: only an MCP client that offers %s can (`agentos mcp` passes it on)",
			op, j.Caller, feature, feature)
	}
	id, ch := a.open()
	var p any
	if err := json.Unmarshal(params, &p); err != nil {
		a.take(id)
		return nil, wire.Errorf(wire.KindInvalid, "%s: params must be a JSON object", op)
	}
	ev := wire.Event{Type: wire.EventJobInput, CallID: a.job, Skill: skill,
		Data: map[string]any{"job": a.job, "request": id, "kind": feature, "params": p}}
	if err := a.conn.notify("observer.event", ev); err != nil {
		a.take(id)
		return nil, wire.Errorf(wire.KindUnavailable, "%s: the caller's connection is gone: %v", op, err)
	}
	select {
	case r := <-ch:
		if r.err != "" {
			return nil, wire.Errorf(wire.KindUnavailable, "%s: the client did not answer: %s", op, r.err)
		}
		return r.result, nil
	case <-ctx.Done():
		a.take(id)
		return nil, wire.Errorf(wire.KindCancelled, "%s: the call ended while waiting for the client", op)
	case <-a.conn.done:
		a.take(id)
		return nil, wire.Errorf(wire.KindUnavailable, "%s: the caller's connection closed while waiting for the client", op)
	}
}

// jobsRespond answers a job.input: only on the connection it was sent to.
func (s *Server) jobsRespond(_ context.Context, c *call, p *wire.RespondParams) (any, error) {
	j, err := s.jobs.get(p.Job)
	if err != nil {
		return nil, err
	}
	a := j.asker
	if a == nil || c.conn == nil || a.conn != c.conn {
		return nil, wire.Errorf(wire.KindDenied, "jobs.respond: only the connection that started job %s answers its input", p.Job)
	}
	ch := a.take(p.Request)
	if ch == nil {
		return nil, wire.Errorf(wire.KindNotFound, "jobs.respond: job %s is not waiting for input %q (answered, or its call ended)", p.Job, p.Request)
	}
	ch <- askReply{result: p.Result, err: p.Error}
	return map[string]bool{"ok": true}, nil
}
