package broker

import (
	"context"
	"errors"
	"strings"
	"unicode/utf8"
)

// Kinds of RunError, the same names the engine uses on the wire (DESIGN §4).
const (
	KindInvalid     = "invalid"      // bad params: the tool's signature does not accept them
	KindNotFound    = "not_found"    // no such module or function
	KindTimeout     = "timeout"      // the call's deadline passed
	KindSkillFailed = "skill_failed" // the tool raised, crashed, hit a limit or broke the protocol
	KindCancelled   = "cancelled"    // the caller gave up
	KindUnavailable = "unavailable"  // the runner cannot run it now: queue full, no interpreter
	KindInternal    = "internal"     // an op handler failed without saying how
	KindDenied      = "denied"       // an op the skill's allowed-tools does not grant, left uncaught
)

// RunError is how a call fails. Kind is one of the Kind constants; Stderr holds the
// tail of the worker's stderr when there was a worker.
type RunError struct {
	Kind      string
	Message   string
	Traceback string
	Stderr    string
}

// Error is the message's first line plus, when there is one, the last line of stderr:
// the line that usually says what went wrong.
func (e *RunError) Error() string {
	msg, _, _ := strings.Cut(e.Message, "\n")
	if hint := stderrLastLine(e.Stderr); hint != "" && !strings.Contains(msg, hint) {
		msg += " (stderr: " + clipMessage(hint, 200) + ")"
	}
	return msg
}

// ErrorKind lets an op handler return a RunError and have its kind reach the skill.
func (e *RunError) ErrorKind() string { return e.Kind }

// workerErrorKinds are the kinds a worker may report for itself. unavailable is
// accepted too so that a tool can pass on a provider failure and let capability
// resolution try the next provider (DESIGN §7), and denied so that a missing
// permission reads as one; anything else becomes skill_failed.
var workerErrorKinds = map[string]bool{
	KindInvalid:     true,
	KindNotFound:    true,
	KindSkillFailed: true,
	KindUnavailable: true,
	KindDenied:      true,
}

// opError turns an op handler's error into the error object sent to the worker:
// a kind the error states itself (ErrorKind), else the context's, else internal.
func opError(err error) *wireError {
	var k interface{ ErrorKind() string }
	switch {
	case errors.As(err, &k) && k.ErrorKind() != "":
		var re *RunError
		if errors.As(err, &re) {
			return &wireError{Kind: re.Kind, Message: re.Message}
		}
		return &wireError{Kind: k.ErrorKind(), Message: err.Error()}
	case errors.Is(err, context.DeadlineExceeded):
		return &wireError{Kind: KindTimeout, Message: err.Error()}
	case errors.Is(err, context.Canceled):
		return &wireError{Kind: KindCancelled, Message: err.Error()}
	}
	return &wireError{Kind: KindInternal, Message: err.Error()}
}

// stderrLastLine is the last non-blank line of s.
func stderrLastLine(s string) string {
	s = strings.TrimRight(s, " \t\r\n")
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return strings.TrimSpace(s)
}

// clipMessage shortens s to at most n bytes on a rune boundary, marking the cut.
func clipMessage(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
