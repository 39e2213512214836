package broker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// callRun is one call in flight: its worker, its handler and the goroutines that
// serve them. Only Runner.run creates one, and it always ends in finish.
type callRun struct {
	r      *Runner
	c      Call
	h      OpHandler
	w      *workerProc
	log    *slog.Logger
	redact Redactor // the call's (WithRedactor), applied to what the worker says

	opCtx   context.Context // given to HandleOp; ends with the call
	stopOps context.CancelFunc
	ops     sync.WaitGroup // op goroutines and the call-line writer

	events   chan readEvent
	stopRead chan struct{} // closed by finish: the reader stops delivering
	readDone chan struct{} // closed when the reader has returned
	// guard holds the call's share of the large-line pool; set by read before it
	// reads, released (or handed on with the result) by finish once read returned.
	guard *lineGuard
}

// readEvent is one stdout line decoded, or the end of stdout.
type readEvent struct {
	msg  *workerMessage
	err  error  // set on the last event: EOF, errOutputLimit, errNotProtocol, ...
	line string // the start of a line that is not a protocol message
}

// callOutcome is how the call loop ended and how the worker is to be stopped.
type callOutcome struct {
	result    json.RawMessage
	err       *RunError
	terminate bool // SIGTERM and grace first (deadline, cancel); otherwise SIGKILL at once
	noFinal   bool // the worker went away without a final message: its exit says why
}

// run runs c in a fresh worker; the caller holds a process slot.
func (r *Runner) run(ctx context.Context, c Call, h OpHandler) (json.RawMessage, error) {
	dir, err := os.MkdirTemp(r.tempDir, callDirPrefix)
	if err != nil {
		return nil, &RunError{Kind: KindUnavailable, Message: fmt.Sprintf("create call dir: %v", err)}
	}
	defer r.removeCallDir(dir)

	start := time.Now()
	deadline := start.Add(c.Timeout)
	// The worker is told the earlier of its own deadline and the caller's.
	told := deadline
	if d, ok := ctx.Deadline(); ok && d.Before(told) {
		told = d
	}
	line, err := encodeLine(callMessage{
		Type: msgCall, ID: c.ID, Skill: c.Skill, Module: c.Module, Function: c.Function,
		Params: c.Params, DeadlineMS: max(time.Until(told).Milliseconds(), 1), Settings: c.Settings,
	})
	if err != nil { // params were checked by prepare: a bug
		return nil, &RunError{Kind: KindInternal, Message: fmt.Sprintf("encode call line: %v", err)}
	}
	w, err := r.startWorker(c, dir, line)
	if err != nil {
		return nil, &RunError{Kind: KindUnavailable, Message: fmt.Sprintf("start worker: %v", err)}
	}
	r.running.Add(1)
	defer r.running.Add(-1)
	log := r.log.With("call", c.ID, "skill", c.Skill, "function", c.Module+"."+c.Function, "pid", w.pid)
	// Before the call line is sent, so no skill code runs unbounded even if the shim
	// failed to set its own limits.
	if err := w.applyLimits(r.limits); err != nil && !errors.Is(err, unix.ESRCH) {
		log.Warn("apply worker limits", "err", err)
	}
	log.Debug("worker started")

	// No deadline of its own: ops end when the call ends (finish cancels it), so a
	// timeout is always reported as the call's, never raced by an op's.
	opCtx, stopOps := context.WithCancel(ctx)
	defer stopOps()
	cr := &callRun{
		r: r, c: c, h: h, w: w, log: log, redact: redactorFrom(ctx),
		opCtx: opCtx, stopOps: stopOps,
		events:   make(chan readEvent, 16),
		stopRead: make(chan struct{}),
		readDone: make(chan struct{}),
	}
	go cr.read()
	if !w.callSent {
		cr.sendCall(line)
	}

	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	res, runErr := cr.finish(cr.loop(ctx, timer.C))
	if runErr != nil {
		// Before anything logs or returns it: the worker's words may hold a
		// secret the call was handed.
		runErr.redact(cr.redact)
		log.Debug("worker failed", "duration", time.Since(start), "kind", runErr.Kind, "err", runErr.Message)
		return nil, runErr
	}
	log.Debug("worker done", "duration", time.Since(start))
	return res, nil
}

// sendCall writes the call line from its own goroutine: large params fill the pipe,
// and a worker that never reads must not stall the loop that enforces its deadline.
func (cr *callRun) sendCall(line []byte) {
	cr.ops.Add(1)
	go func() {
		defer cr.ops.Done()
		if err := cr.w.send(line); err != nil && cr.opCtx.Err() == nil {
			cr.log.Debug("send call line", "err", err)
		}
	}()
}

// read turns stdout into events until stdout ends or finish stops it.
func (cr *callRun) read() {
	defer close(cr.readDone)
	lr, guard := newWorkerLineReader(cr.w.stdout, cr.r.limits.MaxOutput, largeLines, cr.stopRead, cr.c.Nested)
	cr.guard = guard
	for {
		var ev readEvent
		line, err := lr.next()
		var bad *notProtocolError
		switch {
		case errors.As(err, &bad) && bad.head != "":
			ev.err, ev.line = err, clipMessage(bad.head, 120)
		case err != nil:
			ev.err = err
		default:
			if ev.msg, ev.err = decodeWorkerMessage(line); ev.err != nil {
				// Clip before converting: the line may be as long as MaxOutput.
				ev.line = clipMessage(string(line[:min(len(line), 160)]), 120)
			}
		}
		select {
		case cr.events <- ev:
		case <-cr.stopRead:
			return
		}
		if ev.err != nil {
			return
		}
	}
}

// loop serves the worker until the call has an outcome.
func (cr *callRun) loop(ctx context.Context, timeout <-chan time.Time) callOutcome {
	grace := cr.r.limits.Grace
	events, exited := cr.events, cr.w.exited
	var closeWait <-chan time.Time // runs once stdout ended before the leader exited
	for {
		select {
		case ev := <-events:
			if ev.err == nil {
				if out, done := cr.handle(ev.msg); done {
					return out
				}
				continue
			}
			if out, done := cr.streamEnded(ev); done {
				return out
			}
			events = nil
			if exited == nil {
				return callOutcome{noFinal: true}
			}
			// Stdout ends just before the exit is seen; give the exit a moment so the
			// error can carry the real status. (An unstopped time.After timer is
			// collected since Go 1.23.)
			closeWait = time.After(grace)
		case <-exited:
			exited = nil
			if events == nil {
				return callOutcome{noFinal: true}
			}
			// The last lines may still sit in the pipe, so keep reading; kill the rest of
			// the group first, because a grandchild holding stdout would hide EOF, and
			// bound the read in case something escaped the group.
			if err := cr.w.signalGroup(unix.SIGKILL); err != nil {
				cr.log.Warn("kill worker group", "err", err)
			}
			_ = cr.w.stdout.SetReadDeadline(time.Now().Add(grace))
		case <-closeWait:
			if exited != nil && cr.w.hasExited() {
				// It has exited; its watcher is just late: wait for it, so
				// the error carries the real status.
				closeWait = nil
				continue
			}
			return callOutcome{err: skillFailed("worker closed its stdout without sending a result")}
		case <-timeout:
			return callOutcome{terminate: true, err: &RunError{Kind: KindTimeout,
				Message: fmt.Sprintf("call timed out after %s", cr.c.Timeout)}}
		case <-ctx.Done():
			return callOutcome{terminate: true, err: contextRunError(ctx.Err(), "while running")}
		}
	}
}

// handle acts on one protocol message; done reports that it ended the call.
func (cr *callRun) handle(m *workerMessage) (out callOutcome, done bool) {
	switch m.Type {
	case msgOp:
		cr.startOp(m)
	case msgProgress:
		cr.notify(func() { cr.h.Progress(m.Current, m.Total, cr.redact(m.Message), cr.redact(m.Delta)) })
	case msgLog:
		cr.notify(func() { cr.h.Log(m.Level, cr.redact(m.Message)) })
	case msgResult, msgError:
		if m.ID != cr.c.ID {
			return callOutcome{err: skillFailed(fmt.Sprintf("worker answered call %q instead of %q", m.ID, cr.c.ID))}, true
		}
		if m.Type == msgResult {
			return callOutcome{result: m.Result}, true
		}
		kind := m.Error.Kind
		if !workerErrorKinds[kind] {
			kind = KindSkillFailed
		}
		return callOutcome{err: &RunError{Kind: kind, Message: m.Error.Message, Traceback: m.Error.Traceback}}, true
	}
	return callOutcome{}, false
}

// notify calls a Progress or Log method; a panic there must not skip finish and
// leave the worker's processes behind.
func (cr *callRun) notify(f func()) {
	defer func() {
		if p := recover(); p != nil {
			cr.log.Error("op handler panicked in progress or log", "panic", p)
		}
	}()
	f()
}

// streamEnded decides what the end of stdout means: a broken protocol or too much
// output ends the call at once; EOF or a cut-off read waits for the worker's exit.
func (cr *callRun) streamEnded(ev readEvent) (callOutcome, bool) {
	var bad *notProtocolError
	switch {
	case errors.As(ev.err, &bad):
		return callOutcome{err: skillFailed(fmt.Sprintf("worker wrote a non-protocol line to stdout (%s): %q", bad.reason, ev.line))}, true
	case errors.Is(ev.err, errOutputLimit):
		return callOutcome{err: skillFailed(fmt.Sprintf("worker wrote more than %d bytes to stdout: a call's result and messages together are capped at that (docs/worker-protocol.md, Caps)", cr.r.limits.MaxOutput))}, true
	case errors.Is(ev.err, io.EOF), errors.Is(ev.err, os.ErrDeadlineExceeded), errors.Is(ev.err, os.ErrClosed):
	default:
		cr.log.Warn("read worker stdout", "err", ev.err)
	}
	return callOutcome{}, false
}

// finish stops the worker as the outcome says, waits for everything the call started
// and returns the call's result or error, the latter with the stderr tail.
func (cr *callRun) finish(out callOutcome) (json.RawMessage, *RunError) {
	cr.stopOps()
	if out.terminate {
		if err := cr.w.terminate(cr.r.limits.Grace); err != nil {
			cr.log.Warn("terminate worker", "err", err)
		}
	}
	state, err := cr.w.reap(cr.r.limits.Grace)
	if err != nil {
		cr.log.Warn("reap worker", "err", err)
	}
	cr.r.auditRefused(cr.c, state.refused)
	close(cr.stopRead)
	_ = cr.w.stdout.SetReadDeadline(time.Now())
	<-cr.readDone
	cr.w.stdout.Close()
	cr.ops.Wait()

	if out.err == nil && !out.noFinal {
		cr.passShare()
		return out.result, nil
	}
	if cr.guard != nil {
		cr.guard.release()
	}
	stderr := cr.w.tail.String()
	if out.noFinal {
		out.err = cr.r.limits.describeExit(state, stderr)
	}
	out.err.Stderr = stderr
	return nil, out.err
}

// passShare hands the share of the large-line pool the result was read with to
// the call's keeper (WithLineShareKeeper), or gives it back.
func (cr *callRun) passShare() {
	g := cr.guard
	if g == nil || !g.holding() {
		return
	}
	if keep := shareKeeperFrom(cr.opCtx); keep != nil && !cr.c.Nested {
		keep(g.release)
		return
	}
	g.release()
}

// removeCallDir deletes the call's temp dir whatever the skill did to it.
func (r *Runner) removeCallDir(dir string) {
	if err := os.RemoveAll(dir); err == nil {
		return
	}
	// Skill code may have taken write or search permission off folders it made;
	// give them back and try again. WalkDir visits a folder before reading it.
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if d != nil && d.IsDir() {
			_ = os.Chmod(p, 0o700)
		}
		return nil
	})
	if err := os.RemoveAll(dir); err != nil {
		r.log.Warn("remove call dir", "dir", dir, "err", err)
	}
}

// auditRefused writes a not-allowed audit record for each syscall the sandbox
// refused the call: its doors shut in the kernel, but the attempt is seen.
func (r *Runner) auditRefused(c Call, refused []string) {
	for _, name := range refused {
		r.log.Warn("the sandbox refused a skill's syscall", "skill", c.Skill, "call", c.ID, "syscall", name)
		if r.audit == nil {
			continue
		}
		_ = r.audit.Write(AuditRecord{At: time.Now(), Skill: c.Skill, Tool: c.Function, CallID: c.ID,
			Op: "syscall", Scope: name, Allowed: false, Error: "refused by the sandbox (seccomp)"})
	}
}

func skillFailed(msg string) *RunError { return &RunError{Kind: KindSkillFailed, Message: msg} }
