package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/agentos/agentos/engine/wire"
)

func runInvoke(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "invoke", "CAPABILITY [JSON|-]", "Invoke a capability on its best provider and print the result as JSON.\nProgress goes to stderr; Ctrl-C cancels the job.")
	provider := f.String("provider", "", "use this skill instead of the ranking")
	async := f.Bool("async", false, "print the job id at once instead of waiting (follow it with `agentos call jobs.get`)")
	f.Bool("json", true, "accepted for symmetry: the result is always JSON")
	pos, err := f.parseN(args, 1, 2)
	if err != nil {
		return err
	}
	params := json.RawMessage("{}")
	if len(pos) == 2 {
		if params, err = paramsArg(e, "invoke", pos[1]); err != nil {
			return err
		}
	}
	req := wire.InvokeParams{Capability: pos[0], Params: params, Provider: *provider}
	if *async {
		c, err := dial(ctx, e)
		if err != nil {
			return err
		}
		defer c.Close()
		req.Async = true
		var started rawJSON
		if err := c.Call(ctx, wire.MethodInvoke, req, &started); err != nil {
			return err
		}
		return printJSON(e.stdout, started)
	}
	// Progress is drawn on stderr as it comes; a streamed answer's pieces
	// (an llm call with stream: true) are printed there as they come;
	// interrupting cancels the job.
	// Progress and the spinner are drawn only on a terminal: a redirected
	// stderr gets no escape codes, only a streamed answer's text.
	f2, _ := e.stderr.(*os.File)
	bar := &progressBar{w: e.stderr, tty: f2 != nil && isTerminal(f2)}
	stopSpin := bar.spin()
	res, err := wire.Invoke(ctx, wire.PathsFor(e.home).Socket, wire.ClientOptions{Name: "cli"}, req,
		wire.Follow{OnStarted: bar.started, OnProgress: func(ev wire.Event) { bar.show(ev.Data) }})
	stopSpin()
	bar.clear()
	bar.endStream()
	var cancelled *wire.Cancelled
	switch {
	case errors.As(err, &cancelled):
		return &interruptedError{err: fmt.Errorf("interrupted: %w", cancelled)}
	case err != nil:
		return err
	}
	return printJSON(e.stdout, rawJSON(res))
}

// interruptedError is a command the user interrupted (Ctrl-C): exit 130, as
// a shell reports a process ended by SIGINT.
type interruptedError struct{ err error }

func (e *interruptedError) Error() string { return e.err.Error() }
func (e *interruptedError) Unwrap() error { return e.err }

// progressBar draws one line on stderr, rewritten in place: a spinner with
// the elapsed time, the latest progress report and the job id. Without a
// terminal it writes each progress report as a plain line and no spinner:
// no escape codes in a redirected stderr.
type progressBar struct {
	w        io.Writer
	tty      bool
	mu       sync.Mutex
	drawn    bool
	streamed bool   // a streamed answer's pieces have been printed
	progress string // the latest progress report, as drawn
	frame    int
	job      string
	start    time.Time
}

func (b *progressBar) started(job string) {
	b.mu.Lock()
	b.job = job
	b.mu.Unlock()
}

// spin redraws the line every 100 ms, from the first second or the first
// progress report, until stop.
func (b *progressBar) spin() (stop func()) {
	b.start = time.Now()
	if !b.tty {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			b.mu.Lock()
			b.frame++
			if b.progress != "" || time.Since(b.start) >= time.Second {
				b.drawLocked()
			}
			b.mu.Unlock()
		}
	}()
	return func() { close(done); wg.Wait() }
}

var spinnerFrames = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

func (b *progressBar) drawLocked() {
	if b.streamed {
		return // a redrawn line would overwrite the text streamed so far
	}
	line := fmt.Sprintf("%s %.1fs", spinnerFrames[b.frame%len(spinnerFrames)], time.Since(b.start).Seconds())
	if b.progress != "" {
		line += " " + b.progress
	}
	if b.job != "" {
		line += " (job " + b.job + ", Ctrl-C cancels)"
	}
	fmt.Fprintf(b.w, "\r\033[K%s", line)
	b.drawn = true
}

func (b *progressBar) show(d map[string]any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if delta, _ := d["delta"].(string); delta != "" {
		b.clearLocked()
		fmt.Fprint(b.w, delta)
		b.streamed = true
		return
	}
	cur, _ := d["current"].(float64)
	total, _ := d["total"].(float64)
	msg, _ := d["message"].(string)
	line := fmt.Sprintf("%.0f", cur)
	if total > 0 {
		const width = 30
		done := min(int(cur/total*width), width)
		line = fmt.Sprintf("[%s%s] %3.0f%%", strings.Repeat("#", done), strings.Repeat(" ", width-done), cur/total*100)
	}
	if msg != "" {
		line += " " + clip(msg, 50)
	}
	if !b.tty { // a log, not a screen: one plain line per report
		fmt.Fprintln(b.w, line)
		return
	}
	b.progress = line
	b.drawLocked()
}

func (b *progressBar) clear() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.clearLocked()
}

func (b *progressBar) clearLocked() {
	if b.drawn {
		fmt.Fprint(b.w, "\r\033[K")
		b.drawn = false
	}
}

// endStream ends the line a streamed answer was printed on.
func (b *progressBar) endStream() {
	if b.streamed {
		fmt.Fprintln(b.w)
	}
}
