package broker

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime/debug"
)

// Op is one sideband request of a running tool: http.request, secrets.get,
// graph.read, graph.search, graph.write, capability.invoke.
type Op struct {
	ID     string // unique within the call (o1, o2, ...)
	Name   string
	Params json.RawMessage
}

// OpHandler serves the sideband of one call. HandleOp may be called concurrently
// (one goroutine per op) and must return once ctx is done: ctx ends with the call.
// An error that has an ErrorKind() string method (as *RunError has) reaches the
// skill with that kind; a context error as timeout or cancelled; any other as
// internal. Progress and Log are called from the call's own goroutine, in the order
// the worker sent them, and must not block.
type OpHandler interface {
	HandleOp(ctx context.Context, op Op) (json.RawMessage, error)
	// Progress reports how far the call is; delta, when set, is a piece of a
	// streamed answer (an LLM's tokens) to pass on as it comes.
	Progress(current, total float64, message, delta string)
	Log(level, message string)
}

// denyOps is the handler of a call run without one.
type denyOps struct{}

func (denyOps) HandleOp(context.Context, Op) (json.RawMessage, error) {
	return nil, &RunError{Kind: "denied", Message: "this call may not use engine ops"}
}
func (denyOps) Progress(float64, float64, string, string) {}
func (denyOps) Log(string, string)                        {}

// startOp serves one op in its own goroutine, so a slow op (an HTTP request) does
// not hold up the worker's other ops, its progress or the call's deadline.
func (cr *callRun) startOp(m *workerMessage) {
	op := Op{ID: m.ID, Name: m.Op, Params: m.Params}
	cr.ops.Add(1)
	go func() {
		defer cr.ops.Done()
		reply := opResultMessage{Type: msgOpResult, ID: op.ID}
		res, err := cr.handleOp(op)
		switch {
		case err != nil:
			reply.Error = opError(err)
		case res == nil:
			reply.Result = json.RawMessage("null")
		default:
			reply.Result = res
		}
		line, err := encodeLine(reply)
		if err != nil {
			// Only an invalid RawMessage from the handler gets here.
			line, _ = encodeLine(opResultMessage{Type: msgOpResult, ID: op.ID, Error: &wireError{
				Kind: KindInternal, Message: fmt.Sprintf("op %s returned an unencodable result: %v", op.Name, err)}})
		}
		if err := cr.w.send(line); err != nil && cr.opCtx.Err() == nil {
			cr.log.Debug("send op result", "op", op.Name, "op_id", op.ID, "err", err)
		}
	}()
}

// handleOp calls the handler, turning a panic into an internal error: one broken op
// must not take the engine down with it.
func (cr *callRun) handleOp(op Op) (res json.RawMessage, err error) {
	defer func() {
		if p := recover(); p != nil {
			cr.log.Error("op handler panicked", "op", op.Name, "panic", p, "stack", string(debug.Stack()))
			res, err = nil, fmt.Errorf("op %s failed: handler panicked", op.Name)
		}
	}()
	return cr.h.HandleOp(cr.opCtx, op)
}
