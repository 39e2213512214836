package engine

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/agentos/agentos/broker"
	"github.com/agentos/agentos/engine/wire"
)

// eventsSince returns the observer events after since.
func eventsSince(t *testing.T, c *wire.Client, since int64) []wire.Event {
	t.Helper()
	var h wire.History
	if err := c.Call(context.Background(), "observer.history", map[string]any{"since": since, "limit": 4096}, &h); err != nil {
		t.Fatal(err)
	}
	return h.Events
}

func lastEventID(t *testing.T, c *wire.Client) int64 {
	t.Helper()
	var h wire.History
	if err := c.Call(context.Background(), "observer.history", map[string]any{"limit": 1}, &h); err != nil {
		t.Fatal(err)
	}
	return h.LastID
}

// changeOf returns the graph.changed event that names node id.
func changeOf(t *testing.T, events []wire.Event, id string) wire.Event {
	t.Helper()
	for _, ev := range events {
		if ev.Type == wire.EventGraphChanged && slices.Contains(ev.IDs, id) {
			return ev
		}
	}
	t.Fatalf("no graph.changed for %s among %+v", id, events)
	return wire.Event{}
}

// A method call's graph change carries the call's call_id, the one its
// started and completed events carry; a quiet connection's carries none.
func TestGraphChangeCarriesTheCallIDOfItsCall(t *testing.T) {
	srv, c := testServer(t)
	ctx := context.Background()
	since := lastEventID(t, c)
	var n struct{ ID string }
	if err := c.Call(ctx, "data.create", map[string]any{"shape": "note", "fields": map[string]any{"name": "x"}}, &n); err != nil {
		t.Fatal(err)
	}
	events := eventsSince(t, c, since)
	var started, completed wire.Event
	for _, ev := range events {
		if ev.Method == "data.create" {
			switch ev.Type {
			case wire.EventStarted:
				started = ev
			case wire.EventCompleted:
				completed = ev
			}
		}
	}
	changed := changeOf(t, events, n.ID)
	if started.CallID == "" || completed.CallID != started.CallID || changed.CallID != started.CallID {
		t.Fatalf("call ids: started %q, graph.changed %q, completed %q; want one id", started.CallID, changed.CallID, completed.CallID)
	}

	quiet, err := wire.Dial(ctx, srv.opts.Socket, wire.ClientOptions{Name: "bridge", Quiet: true})
	if err != nil {
		t.Fatal(err)
	}
	defer quiet.Close()
	since = lastEventID(t, c)
	if err := quiet.Call(ctx, "data.create", map[string]any{"shape": "note", "fields": map[string]any{"name": "q"}}, &n); err != nil {
		t.Fatal(err)
	}
	if ev := changeOf(t, eventsSince(t, c, since), n.ID); ev.CallID != "" {
		t.Fatalf("a quiet call's change carries call_id %q, want none", ev.CallID)
	}
}

const noteTakerTools = `from agentos import provides, returns, graph

@provides("notes.take")
def take(name: str) -> dict:
    return {"id": graph.write("note", [{"name": name}])["ids"][0]}

@returns("note[]")
def fetch(name: str) -> list:
    return [{"name": name}]
`

// runEngine runs a whole engine (skills included) in-process on a fresh
// home with the given skill, and returns a client of it.
func runEngine(t *testing.T, skill, allowed, tools string) *wire.Client {
	t.Helper()
	// Not t.TempDir: a socket path must stay under ~100 bytes.
	home, err := os.MkdirTemp("", "ags")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(home) })
	dir := filepath.Join(home, "skills", skill)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	md := "---\nname: " + skill + "\ndescription: A test skill.\nallowed-tools: " + allowed + "\n---\n"
	if err := os.WriteFile(filepath.Join(dir, "SKILL.md"), []byte(md), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tools.py"), []byte(tools), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Config{Home: home, Version: "test", LogLevel: slog.LevelWarn, LogTo: io.Discard,
			Ready: func(wire.Paths, *slog.Logger) { close(ready) }})
	}()
	select {
	case <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("engine: %v", err)
	case <-time.After(60 * time.Second):
		cancel()
		t.Fatal("the engine did not start")
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("engine: %v", err)
		}
	})
	c, err := wire.DialHome(context.Background(), home, wire.ClientOptions{Name: "test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	var sk struct{ Invalid string }
	if err := c.Call(context.Background(), "skills.get", map[string]any{"id": skill}, &sk); err != nil {
		t.Fatal(err)
	}
	if sk.Invalid != "" {
		t.Fatalf("skill %s: %s", skill, sk.Invalid)
	}
	return c
}

// What a skill writes during a job (through its graph ops, or as the items
// a @returns tool gives back) carries the job's id, the call_id of the
// job's events, whether a capability call or skills.run started the job,
// synchronously or not.
func TestSkillWritesCarryTheIDOfTheirJob(t *testing.T) {
	if _, err := broker.FindPython(context.Background(), ""); err != nil {
		t.Skipf("no Python to run skills: %v", err)
	}
	c := runEngine(t, "notetaker", "graph(read write)", noteTakerTools)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	// check finds, among the events after since, the graph change of node
	// id and the job.finished event of the one job that ran, and that they
	// share the job's id; it returns that id.
	check := func(t *testing.T, since int64, id string) string {
		t.Helper()
		events := eventsSince(t, c, since)
		changed := changeOf(t, events, id)
		var finished []wire.Event
		for _, ev := range events {
			if ev.Type == wire.EventJobFinished {
				finished = append(finished, ev)
			}
		}
		if len(finished) != 1 || finished[0].CallID == "" {
			t.Fatalf("want one job.finished with a call_id, got %+v", finished)
		}
		if job := finished[0].CallID; changed.CallID != job {
			t.Fatalf("the skill's write carries call_id %q, want the job's %q", changed.CallID, job)
		}
		return changed.CallID
	}

	t.Run("a graph op in a capability call", func(t *testing.T) {
		since := lastEventID(t, c)
		var res struct{ ID string }
		if err := c.Call(ctx, "capabilities.invoke", map[string]any{"capability": "notes.take", "params": map[string]any{"name": "sync"}}, &res); err != nil {
			t.Fatal(err)
		}
		check(t, since, res.ID)
	})

	t.Run("a graph op in an async capability call", func(t *testing.T) {
		since := lastEventID(t, c)
		var started struct{ Job string }
		if err := c.Call(ctx, "capabilities.invoke", map[string]any{"capability": "notes.take", "params": map[string]any{"name": "async"}, "async": true}, &started); err != nil {
			t.Fatal(err)
		}
		var j Job
		for j.State == "" || j.State == wire.JobRunning {
			if err := c.Call(ctx, "jobs.get", map[string]any{"id": started.Job}, &j); err != nil {
				t.Fatal(err)
			}
			time.Sleep(20 * time.Millisecond)
		}
		var res struct{ ID string }
		if err := json.Unmarshal(j.Result, &res); err != nil || j.State != wire.JobCompleted {
			t.Fatalf("job %+v: %v", j, err)
		}
		if job := check(t, since, res.ID); job != started.Job {
			t.Fatalf("the change carries %q, the job is %q", job, started.Job)
		}
	})

	t.Run("the items a @returns tool gives back", func(t *testing.T) {
		since := lastEventID(t, c)
		var res struct{ IDs []string }
		if err := c.Call(ctx, "skills.run", map[string]any{"skill": "notetaker", "tool": "fetch", "params": map[string]any{"name": "returned"}}, &res); err != nil {
			t.Fatal(err)
		}
		if len(res.IDs) != 1 {
			t.Fatalf("fetch stored %v", res.IDs)
		}
		check(t, since, res.IDs[0])
	})
}
