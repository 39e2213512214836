package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
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
	c, err := dial(ctx, e)
	if err != nil {
		return err
	}
	defer c.Close()
	req := map[string]any{"capability": pos[0], "params": params, "async": true}
	if *provider != "" {
		req["provider"] = *provider
	}
	// Subscribe first so no event of the job is missed.
	progress := make(chan wire.Event, 64)
	if _, err := c.Subscribe(ctx, -1, func(ev wire.Event) {
		if ev.Type == wire.EventJobProgress || ev.Type == wire.EventJobFinished {
			select {
			case progress <- ev:
			default:
			}
		}
	}); err != nil {
		return err
	}
	var started struct {
		Job string `json:"job"`
	}
	if err := c.Call(ctx, "capabilities.invoke", req, &started); err != nil {
		return err
	}
	if *async {
		return printJSON(e.stdout, rawJSON(fmt.Sprintf(`{"job":%q}`, started.Job)))
	}
	return followJob(ctx, e, c, started.Job, progress)
}

// followJob shows a job's progress until it ends, then prints its result.
// Interrupting cancels the job.
func followJob(ctx context.Context, e *env, c *wire.Client, id string, progress <-chan wire.Event) error {
	bar := progressBar{w: e.stderr}
	defer bar.clear()
	// ended asks the engine how the job stands; done is true once it ended.
	ended := func() (done bool, err error) {
		var j struct {
			wire.Job
			Result json.RawMessage `json:"result"`
		}
		if err := c.Call(ctx, "jobs.get", map[string]string{"id": id}, &j); err != nil {
			if ctx.Err() != nil {
				return false, nil // the interrupt case cancels it
			}
			return true, err
		}
		switch j.State {
		case wire.JobRunning:
			return false, nil
		case wire.JobCompleted:
			bar.clear()
			return true, printJSON(e.stdout, rawJSON(j.Result))
		}
		bar.clear()
		if j.Error != nil {
			return true, &wire.Error{Kind: j.Error.Kind, Message: j.Error.Message}
		}
		return true, fmt.Errorf("job %s ended %s", id, j.State)
	}
	// The job.finished event says when to look; the ticker covers an event
	// lost to a full buffer.
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			bar.clear()
			cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := c.Call(cctx, "jobs.cancel", map[string]string{"id": id}, nil); err != nil {
				return fmt.Errorf("interrupted; cancelling job %s failed: %w", id, err)
			}
			return fmt.Errorf("interrupted: job %s cancelled", id)
		case ev := <-progress:
			if ev.Data["job"] != id {
				continue
			}
			if ev.Type == wire.EventJobProgress {
				bar.show(ev.Data)
				continue
			}
			if done, err := ended(); done {
				return err
			}
		case <-tick.C:
			if done, err := ended(); done {
				return err
			}
		}
	}
}

// progressBar draws one line on stderr, rewritten in place.
type progressBar struct {
	w     io.Writer
	drawn bool
}

func (b *progressBar) show(d map[string]any) {
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
