package broker

import "context"

// Redactor rewrites text about a call so that nothing it must not repeat (the
// secrets handed to the call) is in it. It is called with every error field,
// log line and progress message of the call, possibly from several goroutines,
// and must not block.
type Redactor func(string) string

type redactorKey struct{}

// WithRedactor returns ctx carrying r: a call run with it (Runner.Run) has its
// RunError's message, traceback and stderr, and the log and progress messages its
// worker sends, passed through r before anyone sees them, the runner's own log
// lines included. The engine puts one on each job's context.
func WithRedactor(ctx context.Context, r Redactor) context.Context {
	return context.WithValue(ctx, redactorKey{}, r)
}

// redactorFrom is ctx's Redactor, or one that changes nothing.
func redactorFrom(ctx context.Context) Redactor {
	if r, ok := ctx.Value(redactorKey{}).(Redactor); ok && r != nil {
		return r
	}
	return func(s string) string { return s }
}

// redact passes e's text fields through r.
func (e *RunError) redact(r Redactor) {
	e.Message, e.Traceback, e.Stderr = r(e.Message), r(e.Traceback), r(e.Stderr)
}
