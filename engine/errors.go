package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/agentos/agentos/graph"
	"github.com/agentos/agentos/shapes"
	"github.com/sourcegraph/jsonrpc2"
)

// Kind classifies an error for callers (DESIGN §4: error.data.kind).
type Kind string

// Error kinds callers branch on.
const (
	KindInvalid     Kind = "invalid"
	KindNotFound    Kind = "not_found"
	KindConflict    Kind = "conflict"
	KindNoProvider  Kind = "no_provider"
	KindDenied      Kind = "denied"
	KindTimeout     Kind = "timeout"
	KindSkillFailed Kind = "skill_failed"
	KindCancelled   Kind = "cancelled"
	KindUnavailable Kind = "unavailable"
	KindInternal    Kind = "internal"
)

// JSON-RPC codes. The standard ones come from the spec; the others sit in the
// implementation-defined server error range so that clients that only look at
// the code still see a distinct number per kind.
const (
	CodeParseError     int64 = -32700
	CodeInvalidRequest int64 = -32600
	CodeMethodNotFound int64 = -32601
	CodeInvalidParams  int64 = -32602
	CodeInternal       int64 = -32603
	CodeNotFound       int64 = -32004
	CodeConflict       int64 = -32009
	CodeNoProvider     int64 = -32010
	CodeDenied         int64 = -32003
	CodeTimeout        int64 = -32008
	CodeSkillFailed    int64 = -32011
	CodeUnavailable    int64 = -32013
	CodeCancelled      int64 = -32800
)

var kindCodes = map[Kind]int64{
	KindInvalid:     CodeInvalidParams,
	KindNotFound:    CodeNotFound,
	KindConflict:    CodeConflict,
	KindNoProvider:  CodeNoProvider,
	KindDenied:      CodeDenied,
	KindTimeout:     CodeTimeout,
	KindSkillFailed: CodeSkillFailed,
	KindCancelled:   CodeCancelled,
	KindUnavailable: CodeUnavailable,
	KindInternal:    CodeInternal,
}

// Error is an engine error as it travels over the socket. The client returns
// it for every error response, so callers can switch on Kind.
type Error struct {
	Code    int64
	Kind    Kind
	Message string
}

func (e *Error) Error() string { return e.Message }

// Errorf builds an *Error of the given kind.
func Errorf(kind Kind, format string, args ...any) *Error {
	return &Error{Code: kindCodes[kind], Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// KindOf reports the kind of any error: an *Error's own kind, or the kind
// that the graph or shapes sentinel inside it maps to. The mapping lives here
// and nowhere else.
func KindOf(err error) Kind {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Kind
	case errors.Is(err, graph.ErrNotFound):
		return KindNotFound
	case errors.Is(err, shapes.ErrUnknownShape), errors.Is(err, shapes.ErrInvalid), errors.Is(err, graph.ErrInvalid):
		return KindInvalid
	case errors.Is(err, graph.ErrConflict):
		return KindConflict
	case errors.Is(err, graph.ErrReadOnly):
		return KindDenied
	case errors.Is(err, context.DeadlineExceeded):
		return KindTimeout
	case errors.Is(err, context.Canceled):
		return KindCancelled
	}
	return KindInternal
}

// toRPCError converts any error into the wire form, never code 0.
func toRPCError(err error) *jsonrpc2.Error {
	e := AsError(err)
	return rpcError(e.Code, e.Kind, e.Message)
}

// AsError is err as callers see it: its kind, code, and a message that
// starts with what went wrong. The bridge answers graph errors with it.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	kind := KindOf(err)
	return &Error{Code: kindCodes[kind], Kind: kind, Message: trimSentinel(err.Error())}
}

// trimSentinel drops a leading "not found: " and the like: error.data.kind
// says that already, and the message should start with what went wrong.
func trimSentinel(msg string) string {
	for _, s := range []error{graph.ErrNotFound, graph.ErrInvalid, graph.ErrConflict} {
		if rest, ok := strings.CutPrefix(msg, s.Error()+": "); ok {
			return rest
		}
	}
	return msg
}

func rpcError(code int64, kind Kind, msg string) *jsonrpc2.Error {
	data := json.RawMessage(fmt.Sprintf(`{"kind":%q}`, kind))
	return &jsonrpc2.Error{Code: code, Message: msg, Data: &data}
}

// fromRPCError converts a wire error back into an *Error on the client side.
func fromRPCError(e *jsonrpc2.Error) *Error {
	out := &Error{Code: e.Code, Message: e.Message, Kind: KindInternal}
	if e.Data != nil {
		var d struct {
			Kind Kind `json:"kind"`
		}
		if json.Unmarshal(*e.Data, &d) == nil && d.Kind != "" {
			out.Kind = d.Kind
		}
	}
	return out
}
