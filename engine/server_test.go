package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/agentos/agentos/engine/wire"
	"github.com/agentos/agentos/graph"
	"github.com/agentos/agentos/shapes"
)

// testServer runs a Server over a real store and a real socket in-process.
func testServer(t testing.TB) (*Server, *wire.Client) {
	return testServerOpts(t, ServerOptions{})
}

// testServerOpts is testServer with options (Socket is filled in).
func testServerOpts(t testing.TB, opts ServerOptions) (*Server, *wire.Client) {
	t.Helper()
	dir, err := os.MkdirTemp("", "ags")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	reg, _ := shapes.Load()
	ctx := context.Background()
	bus := NewBus(1024)
	store, err := graph.Open(ctx, filepath.Join(dir, "g.db"), reg, graph.Options{OnChange: bus.PublishGraphChange})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	sock := filepath.Join(dir, "s")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	opts.Socket = sock
	srv := newServer(serverDeps{store: store, shapes: newShapeSet(reg, store, "", log), bus: bus, log: log}, opts)
	go srv.Serve(ctx, ln)
	t.Cleanup(func() { ln.Close(); srv.Shutdown(ctx) })
	c, err := wire.Dial(ctx, sock, wire.ClientOptions{Name: "test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return srv, c
}

func TestSubscribeDeliversCallAndGraphEventsInOrder(t *testing.T) {
	_, c := testServer(t)
	ctx := context.Background()
	events := make(chan wire.Event, 64)
	if _, err := c.Subscribe(ctx, -1, func(ev wire.Event) { events <- ev }); err != nil {
		t.Fatal(err)
	}
	if err := c.Call(ctx, "data.create", map[string]any{"shape": "note", "fields": map[string]any{"name": "x"}}, nil); err != nil {
		t.Fatal(err)
	}
	var types []string
	for len(types) < 3 {
		var ev wire.Event
		select {
		case ev = <-events:
		case <-time.After(10 * time.Second):
			t.Fatalf("only got %v", types)
		}
		if ev.Method == "observer.subscribe" {
			continue
		}
		types = append(types, ev.Type)
		if ev.Type != wire.EventGraphChanged && ev.Caller != "test" {
			t.Fatalf("event caller %q, want the hello name", ev.Caller)
		}
	}
	want := []string{wire.EventStarted, wire.EventGraphChanged, wire.EventCompleted}
	for i := range want {
		if types[i] != want[i] {
			t.Fatalf("events %v, want %v", types, want)
		}
	}
}

func TestSubscribeTypesDeliversOnlyThoseTypes(t *testing.T) {
	_, c := testServer(t)
	ctx := context.Background()
	events := make(chan wire.Event, 64)
	if _, err := c.SubscribeTypes(ctx, -1, []string{wire.EventGraphChanged}, func(ev wire.Event) { events <- ev }); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if err := c.Call(ctx, "data.create", map[string]any{"shape": "note", "fields": map[string]any{"name": fmt.Sprint(i)}}, nil); err != nil {
			t.Fatal(err)
		}
	}
	// Events come in order: the calls' started and completed events, had
	// they been sent, would arrive before the second graph.changed.
	for n := 0; n < 2; {
		select {
		case ev := <-events:
			if ev.Type != wire.EventGraphChanged {
				t.Fatalf("got a %s event (method %q), subscribed to graph.changed only", ev.Type, ev.Method)
			}
			n++
		case <-time.After(10 * time.Second):
			t.Fatalf("got %d graph.changed events, want 2", n)
		}
	}
}

func BenchmarkPing(b *testing.B) {
	_, c := testServer(b)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := c.Call(ctx, "system.ping", nil, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReadByID(b *testing.B) {
	_, c := testServer(b)
	ctx := context.Background()
	var n graph.Node
	if err := c.Call(ctx, "data.create", map[string]any{"shape": "task", "fields": map[string]any{"title": "t", "priority": 2}}, &n); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := c.Call(ctx, "data.read", map[string]any{"id": n.ID}, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func TestOneClientCarriesManyConcurrentCalls(t *testing.T) {
	_, c := testServer(t)
	ctx := context.Background()
	var n graph.Node
	if err := c.Call(ctx, "data.create", map[string]any{"shape": "note", "fields": map[string]any{"name": "shared"}}, &n); err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 16)
	for g := 0; g < 16; g++ {
		go func(g int) {
			for i := 0; i < 200; i++ {
				var got graph.Node
				if err := c.Call(ctx, "data.read", map[string]any{"id": n.ID}, &got); err != nil || got.ID != n.ID {
					errs <- fmt.Errorf("read: %v (%s)", err, got.ID)
					return
				}
				if i%20 == 0 {
					var res struct{ IDs []string }
					if err := c.Call(ctx, "data.write", map[string]any{"shape": "note", "items": []map[string]any{{"name": fmt.Sprint(g, "-", i)}}}, &res); err != nil || len(res.IDs) != 1 {
						errs <- fmt.Errorf("write: %v", err)
						return
					}
				}
			}
			errs <- nil
		}(g)
	}
	for g := 0; g < 16; g++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

func TestCancelledCallLeavesTheClientUsable(t *testing.T) {
	_, c := testServer(t)
	items := make([]map[string]any, 5000)
	for i := range items {
		items[i] = map[string]any{"name": fmt.Sprint("bulk ", i), "content": "some words to index"}
	}
	cancelled := 0
	for i := 0; i < 5; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), time.Duration(i)*time.Millisecond)
		err := c.Call(ctx, "data.write", map[string]any{"shape": "note", "items": items}, nil)
		cancel()
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("cancelled call: %v", err)
		}
		if err != nil {
			cancelled++
		}
		if err := c.Call(context.Background(), "system.ping", nil, nil); err != nil {
			t.Fatalf("ping after a cancelled call: %v", err)
		}
	}
	if cancelled == 0 {
		t.Fatal("no call gave up at its deadline: a 5000-item write takes longer than 4 ms")
	}
}

func TestClosedClientFailsCallsWithUnreachable(t *testing.T) {
	_, c := testServer(t)
	c.Close()
	if err := c.Call(context.Background(), "system.ping", nil, nil); !errors.Is(err, wire.ErrUnreachable) {
		t.Fatalf("call on a closed client: %v", err)
	}
	select {
	case <-c.Done():
	case <-time.After(time.Second):
		t.Fatal("Done not closed after Close")
	}
}

func BenchmarkWriteBatchOf1000(b *testing.B) {
	_, c := testServer(b)
	ctx := context.Background()
	batches := make([][]map[string]any, b.N)
	for i := range batches {
		items := make([]map[string]any, 1000)
		for j := range items {
			n := i*1000 + j
			items[j] = map[string]any{"name": fmt.Sprint("note ", n), "content": fmt.Sprint("alpha harbor quiet entry ", n)}
		}
		batches[i] = items
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := c.Call(ctx, "data.write", map[string]any{"shape": "note", "items": batches[i]}, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "items/s")
}

func TestShutdownFinishesInFlightWorkAndRefusesNewRequests(t *testing.T) {
	srv, c := testServer(t)
	ctx := context.Background()
	items := make([]map[string]any, 20000)
	for i := range items {
		items[i] = map[string]any{"name": fmt.Sprint("n", i), "content": "words to index"}
	}
	started, _ := srv.bus.Subscribe(-1, 64)
	defer started.Close()
	wrote := make(chan error, 1)
	go func() {
		var res struct{ IDs []string }
		err := c.Call(ctx, "data.write", map[string]any{"shape": "note", "items": items}, &res)
		if err == nil && len(res.IDs) != len(items) {
			err = fmt.Errorf("wrote %d ids", len(res.IDs))
		}
		wrote <- err
	}()
	for {
		ev, _ := started.Next(nil)
		if ev.Type == wire.EventStarted && ev.Method == "data.write" {
			break
		}
	}
	down := make(chan error, 1)
	go func() { down <- srv.Shutdown(ctx) }()
	for !srv.isClosing() {
		time.Sleep(time.Millisecond)
	}
	err := c.Call(ctx, "system.ping", nil, nil)
	if KindOf(err) != wire.KindUnavailable {
		t.Fatalf("a request during shutdown: %v, want unavailable", err)
	}
	if err := <-wrote; err != nil {
		t.Fatalf("the in-flight write did not finish: %v", err)
	}
	if err := <-down; err != nil {
		t.Fatal(err)
	}
}

func TestLargeIntegersKeepEveryDigit(t *testing.T) {
	_, c := testServer(t)
	var raw json.RawMessage
	err := c.Call(context.Background(), "data.create", json.RawMessage(`{"shape":"task","fields":{"title":"big","priority":9007199254740993}}`), &raw)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), `"priority":9007199254740993`) {
		t.Fatalf("priority lost precision: %s", raw)
	}
}

// A client that starts a request line and stalls is dropped once the line
// timeout passes, so its partial line stops holding memory; other
// connections are served throughout.
func TestHalfSentLineIsDroppedAfterTheLineTimeout(t *testing.T) {
	ctx := context.Background()
	srv, idle := testServerOpts(t, ServerOptions{LineTimeout: 200 * time.Millisecond})
	sock := srv.opts.Socket
	stalled, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer stalled.Close()
	// 1 MiB of a request that never ends.
	half := append([]byte(`{"jsonrpc":"2.0","id":1,"method":"data.create","params":{"shape":"note","fields":{"text":"`),
		bytes.Repeat([]byte("x"), 1<<20)...)
	if _, err := stalled.Write(half); err != nil {
		t.Fatal(err)
	}
	// idle, connected before, has no partial line: it is not dropped.
	stalled.SetReadDeadline(time.Now().Add(20 * time.Second))
	n, err := stalled.Read(make([]byte, 1))
	if !errors.Is(err, io.EOF) {
		t.Fatalf("the stalled connection got %d bytes, %v; want it closed by the engine", n, err)
	}
	if err := idle.Call(ctx, wire.MethodPing, nil, nil); err != nil {
		t.Fatalf("an idle connection was dropped too: %v", err)
	}
}
