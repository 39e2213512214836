package wire

import (
	"encoding/json"
	"errors"
	"fmt"

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

// Known reports whether k is one of the kinds DESIGN §4 defines.
func (k Kind) Known() bool { _, ok := kindCodes[k]; return ok }

// Code is the JSON-RPC code errors of kind k carry.
func (k Kind) Code() int64 {
	if c, ok := kindCodes[k]; ok {
		return c
	}
	return CodeInternal
}

// Error is an engine error as it travels over the socket. The client returns
// it for every error response, so callers can switch on Kind.
type Error struct {
	Code    int64
	Kind    Kind
	Message string
}

func (e *Error) Error() string { return e.Message }

// ErrorKind names the kind for packages that must not import wire's types
// (the broker's runner hands it to a skill as its error kind).
func (e *Error) ErrorKind() string { return string(e.Kind) }

// Errorf builds an *Error of the given kind.
func Errorf(kind Kind, format string, args ...any) *Error {
	return &Error{Code: kind.Code(), Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// IsKind reports whether err is, or wraps, an *Error of kind k.
func IsKind(err error, k Kind) bool {
	var e *Error
	return errors.As(err, &e) && e.Kind == k
}

// RPCError is e in its wire form: code, message and data {"kind"}, never
// code 0.
func (e *Error) RPCError() *jsonrpc2.Error {
	code := e.Code
	if code == 0 {
		code = e.Kind.Code()
	}
	data := json.RawMessage(fmt.Sprintf(`{"kind":%q}`, e.Kind))
	return &jsonrpc2.Error{Code: code, Message: e.Message, Data: &data}
}

// FromRPCError turns a wire error back into an *Error; one without a known
// kind is internal.
func FromRPCError(e *jsonrpc2.Error) *Error {
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

// ErrUnreachable means no engine answers on the socket, or the connection to
// it ended.
var ErrUnreachable = errors.New("engine unreachable")

// ErrNotSent marks a failure before the request reached the engine (the
// write of its line failed): retrying it on a new connection cannot run it
// twice. Errors wrapping it also wrap ErrUnreachable.
var ErrNotSent = errors.New("request not sent")
