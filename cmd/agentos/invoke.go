package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

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
	bar := progressBar{w: e.stderr}
	res, err := wire.Invoke(ctx, wire.PathsFor(e.home).Socket, wire.ClientOptions{Name: "cli"}, req,
		wire.Follow{OnProgress: func(ev wire.Event) { bar.show(ev.Data) }})
	bar.clear()
	bar.endStream()
	var cancelled *wire.Cancelled
	switch {
	case errors.As(err, &cancelled):
		return fmt.Errorf("interrupted: %w", cancelled)
	case err != nil:
		return err
	}
	return printJSON(e.stdout, rawJSON(res))
}

// progressBar draws one line on stderr, rewritten in place.
type progressBar struct {
	w        io.Writer
	drawn    bool
	streamed bool // a streamed answer's pieces have been printed
}

// endStream ends the line a streamed answer was printed on.
func (b *progressBar) endStream() {
	if b.streamed {
		fmt.Fprintln(b.w)
	}
}

func (b *progressBar) show(d map[string]any) {
	if delta, _ := d["delta"].(string); delta != "" {
		b.clear()
		fmt.Fprint(b.w, delta)
		b.streamed = true
		return
	}
	if b.streamed {
		return // a bar would overwrite the text streamed so far
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
	fmt.Fprintf(b.w, "\r\033[K%s", line)
	b.drawn = true
}

func (b *progressBar) clear() {
	if b.drawn {
		fmt.Fprint(b.w, "\r\033[K")
		b.drawn = false
	}
}
