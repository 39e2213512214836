package mcpproxy

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/agentos/agentos/engine/wire"

	"github.com/mark3labs/mcp-go/mcp"
)

// Multi round-trip calls (SEP-2322, protocol 2026-07-28). That protocol has
// no server-initiated requests: a tool that needs the user or the client's
// model answers its tools/call with input_required, and the client calls
// again with the answers. A skill's agentos.ask / agentos.sample blocks its
// tool until it is answered, so the proxy parks the call: the job runs on
// in the background, each question it asks ends the current round with an
// input_required result whose requestState names the parked call, and the
// retry carrying the answers hands them to the waiting questions and waits
// for the next question or the result.

const (
	// mrtrAbandon is how long a parked call's question waits for the
	// client's retry; then the skill's ask fails and the job goes on.
	mrtrAbandon = 10 * time.Minute
	// mrtrStateBytes is the size of a parked call's random requestState.
	mrtrStateBytes = 16
)

// errAbandoned is what a skill's question gets when no retry answered it.
var errAbandoned = errors.New("the client did not call again with an answer within 10 minutes")

// modernInput says whether req is of protocol 2026-07-28 or later, and what
// its client offers that a skill may ask for (its _meta's capabilities).
func modernInput(req mcp.CallToolRequest) (bool, []string) {
	m := req.Params.Meta
	if m == nil || !mcp.IsModernProtocol(m.ProtocolVersion()) {
		return false, nil
	}
	var out []string
	if caps := m.ClientCapabilities(); caps != nil {
		if caps.Elicitation != nil {
			out = append(out, wire.FeatureElicitation)
		}
		if caps.Sampling != nil {
			out = append(out, wire.FeatureSampling)
		}
	}
	return true, out
}

// parkedCalls are the multi round-trip calls between rounds, by
// requestState.
type parkedCalls struct {
	mu      sync.Mutex
	byState map[string]*parkedCall
}

// parkedCall is one multi round-trip capability call.
type parkedCall struct {
	tool  string
	state string

	mu      sync.Mutex
	asks    map[string]*parkedAsk // waiting questions, by input key
	next    int                   // the next question's key number
	result  *mcp.CallToolResult   // set when the job ended
	changed chan struct{}         // closed and replaced when asks or result change
	round   context.Context       // the request of the current round; nil between rounds
	token   mcp.ProgressToken     // its progress token
	cancel  context.CancelFunc    // ends the job
}

type parkedAsk struct {
	request map[string]any // the MCP request it stands for
	answer  chan json.RawMessage
}

func (pc *parkedCalls) add(c *parkedCall) {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if pc.byState == nil {
		pc.byState = map[string]*parkedCall{}
	}
	pc.byState[c.state] = c
}

func (pc *parkedCalls) get(state string) *parkedCall {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	return pc.byState[state]
}

func (pc *parkedCalls) remove(state string) {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	delete(pc.byState, state)
}

func (c *parkedCall) signal() {
	close(c.changed)
	c.changed = make(chan struct{})
}

// ask is the job's question: it waits for the answer a retry brings.
func (c *parkedCall) ask(ctx context.Context, kind string, params json.RawMessage) (json.RawMessage, error) {
	a := &parkedAsk{request: inputRequest(pendingInput{kind: kind, params: params}), answer: make(chan json.RawMessage, 1)}
	c.mu.Lock()
	c.next++
	key := fmt.Sprintf("input-%d", c.next)
	c.asks[key] = a
	c.signal()
	c.mu.Unlock()
	t := time.NewTimer(mrtrAbandon)
	defer t.Stop()
	select {
	case res := <-a.answer:
		return res, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-t.C:
		c.mu.Lock()
		delete(c.asks, key)
		c.mu.Unlock()
		return nil, errAbandoned
	}
}

// current is the request of the round under way, for the job's progress
// and log lines.
func (c *parkedCall) current() (context.Context, mcp.ProgressToken) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.round, c.token
}

// invokeMRTR runs a capability call of a 2026-07-28 request: round one
// starts the job, a retry (requestState) answers its questions; either
// waits for the next question or the result.
func (p *Proxy) invokeMRTR(ctx context.Context, req mcp.CallToolRequest, params wire.InvokeParams) *mcp.CallToolResult {
	var c *parkedCall
	if state := req.Params.RequestState; state != "" {
		if c = p.parked.get(state); c == nil || c.tool != req.Params.Name {
			return mcp.NewToolResultError(fmt.Sprintf("%s: requestState names no call of this tool waiting for input "+
				"(it ended, was abandoned, or is another tool's); call the tool again without it", req.Params.Name))
		}
		c.mu.Lock()
		for key, res := range req.Params.InputResponses {
			if a, ok := c.asks[key]; ok {
				raw, _ := json.Marshal(res)
				a.answer <- raw
				delete(c.asks, key)
			}
		}
		c.mu.Unlock()
	} else {
		var b [mrtrStateBytes]byte
		_, _ = rand.Read(b[:])
		c = &parkedCall{tool: req.Params.Name, state: "mrtr:" + hex.EncodeToString(b[:]), asks: map[string]*parkedAsk{}, changed: make(chan struct{})}
		jctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		c.cancel = cancel
		p.parked.add(c)
		follow := p.notifying(c.current)
		follow.OnInput = c.ask
		go func() {
			defer cancel()
			res, err := wire.Invoke(jctx, p.eng.Socket(), p.eng.Options(), params, follow)
			r := p.callResult(params, res, err)
			c.mu.Lock()
			c.result = r
			c.signal()
			c.mu.Unlock()
			// A round under way takes the result; a retry that comes later
			// still finds it for a while.
			time.AfterFunc(time.Minute, func() { p.parked.remove(c.state) })
		}()
	}
	var token mcp.ProgressToken
	if req.Params.Meta != nil {
		token = req.Params.Meta.ProgressToken
	}
	c.mu.Lock()
	c.round, c.token = ctx, token
	c.mu.Unlock()
	return p.nextRound(ctx, c)
}

// nextRound waits for c's next question (an input_required result) or
// its result. A round the client gives up on cancels the call.
func (p *Proxy) nextRound(ctx context.Context, c *parkedCall) *mcp.CallToolResult {
	defer func() {
		c.mu.Lock()
		c.round, c.token = nil, nil
		c.mu.Unlock()
	}()
	for {
		c.mu.Lock()
		result, changed := c.result, c.changed
		asks := mcp.InputRequests{}
		for key, a := range c.asks {
			var in mcp.InputRequest
			raw, _ := json.Marshal(a.request)
			if json.Unmarshal(raw, &in) == nil {
				asks[key] = in
			}
		}
		c.mu.Unlock()
		if result != nil {
			p.parked.remove(c.state)
			return result
		}
		if len(asks) > 0 {
			return &mcp.CallToolResult{Result: mcp.Result{ResultType: mcp.ResultTypeInputRequired},
				MultiRoundTripResult: mcp.MultiRoundTripResult{InputRequests: asks, RequestState: c.state}}
		}
		select {
		case <-changed:
		case <-ctx.Done():
			c.cancel()
			p.parked.remove(c.state)
			return mcp.NewToolResultError("cancelled: the client gave up on the call")
		}
	}
}
