package broker

import "fmt"

// KindNoProvider is the kind of a resolution that finds no skill providing
// the capability; the other kinds are the RunError ones.
const KindNoProvider = "no_provider"

// Error is a decision of the resolver or the gate: no provider, an unknown
// provider, a denied or malformed op. Kind is one of the Kind constants, the
// names the engine uses on the wire, so the engine maps it by kind
// (ErrorKind, or errors.Is against the sentinels below), never by text.
type Error struct {
	Kind    string
	Message string
}

func (e *Error) Error() string { return e.Message }

// ErrorKind lets the runner hand the kind to a skill, as for RunError.
func (e *Error) ErrorKind() string { return e.Kind }

// Is matches the sentinel of e's kind: errors.Is(err, ErrDenied).
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Message == "" && t.Kind == e.Kind
}

// Sentinels to test a broker error's kind with errors.Is.
var (
	ErrNoProvider  = &Error{Kind: KindNoProvider}  // no installed skill provides the capability
	ErrNotFound    = &Error{Kind: KindNotFound}    // the provider asked for does not provide it
	ErrDenied      = &Error{Kind: KindDenied}      // allowed-tools does not grant the op
	ErrInvalid     = &Error{Kind: KindInvalid}     // a malformed or unknown op
	ErrUnavailable = &Error{Kind: KindUnavailable} // every provider tried was unavailable
	ErrCancelled   = &Error{Kind: KindCancelled}   // the call ended while the op waited
)

func errorf(kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}
