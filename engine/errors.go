package engine

import (
	"context"
	"errors"

	"github.com/agentos/agentos/engine/wire"
	"github.com/agentos/agentos/graph"
	"github.com/agentos/agentos/shapes"
	"github.com/sourcegraph/jsonrpc2"
)

// KindOf reports the kind of any error: an *Error's own kind, or the kind
// that the graph or shapes sentinel inside it maps to. The mapping lives here
// and nowhere else.
func KindOf(err error) wire.Kind {
	var e *wire.Error
	var k interface{ ErrorKind() string } // the broker's errors
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Kind
	case errors.As(err, &k) && wire.Kind(k.ErrorKind()).Known():
		return wire.Kind(k.ErrorKind())
	case errors.Is(err, graph.ErrNotFound):
		return wire.KindNotFound
	case errors.Is(err, shapes.ErrUnknownShape), errors.Is(err, shapes.ErrInvalid), errors.Is(err, graph.ErrInvalid):
		return wire.KindInvalid
	case errors.Is(err, graph.ErrConflict):
		return wire.KindConflict
	case errors.Is(err, graph.ErrReadOnly):
		return wire.KindDenied
	case errors.Is(err, context.DeadlineExceeded):
		return wire.KindTimeout
	case errors.Is(err, context.Canceled):
		return wire.KindCancelled
	}
	return wire.KindInternal
}

// toRPCError converts any error into the wire form, never code 0.
func toRPCError(err error) *jsonrpc2.Error { return AsError(err).RPCError() }

// AsError is err as callers see it: its kind, code, and a message that
// starts with what went wrong. The bridge answers graph errors with it.
func AsError(err error) *wire.Error {
	var e *wire.Error
	if errors.As(err, &e) {
		return e
	}
	kind := KindOf(err)
	return &wire.Error{Code: kind.Code(), Kind: kind, Message: err.Error()}
}
