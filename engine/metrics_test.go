package engine

import (
	"context"
	"testing"

	"github.com/agentos/agentos/engine/wire"
)

func TestMetricsCountCallsByMethodAndOutcome(t *testing.T) {
	_, c := testServer(t)
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		if err := c.Call(ctx, "data.create", map[string]any{"shape": "note", "fields": map[string]any{"title": "n"}}, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Call(ctx, "data.read", map[string]any{"id": "01NOSUCHNODE0000000000000"}, nil); KindOf(err) != wire.KindNotFound {
		t.Fatalf("read of a missing node: %v", err)
	}
	var m wire.Metrics
	if err := c.Call(ctx, "system.metrics", nil, &m); err != nil {
		t.Fatal(err)
	}
	find := func(name, outcome string) *wire.CallMetric {
		for i := range m.Calls {
			if m.Calls[i].Kind == "method" && m.Calls[i].Name == name && m.Calls[i].Outcome == outcome {
				return &m.Calls[i]
			}
		}
		return nil
	}
	created := find("data.create", "ok")
	if created == nil || created.Count != 3 {
		t.Fatalf("data.create ok = %+v, want count 3; all: %+v", created, m.Calls)
	}
	if last := created.Buckets[len(created.Buckets)-1]; last != 3 || created.SumSeconds <= 0 {
		t.Errorf("histogram of data.create: last bucket %d (want 3, cumulative), sum %v", last, created.SumSeconds)
	}
	if nf := find("data.read", string(wire.KindNotFound)); nf == nil || nf.Count != 1 {
		t.Errorf("data.read not_found = %+v, want count 1", nf)
	}
	if len(m.Buckets) != len(created.Buckets) {
		t.Errorf("%d bounds, %d buckets", len(m.Buckets), len(created.Buckets))
	}
	if m.Nodes != 3 || m.ByShape["note"] != 3 {
		t.Errorf("graph counts %d nodes, %v", m.Nodes, m.ByShape)
	}
}

func TestHistoryReturnsEventsAfterSinceUpToLimit(t *testing.T) {
	_, c := testServer(t)
	ctx := context.Background()
	var before wire.History
	if err := c.Call(ctx, "observer.history", map[string]any{"limit": 1}, &before); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if err := c.Call(ctx, "data.create", map[string]any{"shape": "note", "fields": map[string]any{"title": "n"}}, nil); err != nil {
			t.Fatal(err)
		}
	}
	var h wire.History
	if err := c.Call(ctx, "observer.history", map[string]any{"since": before.LastID}, &h); err != nil {
		t.Fatal(err)
	}
	// three calls × (started, graph.changed, completed)
	if len(h.Events) != 9 || h.Missed != 0 {
		t.Fatalf("%d events (missed %d) after %d, want 9: %+v", len(h.Events), h.Missed, before.LastID, h.Events)
	}
	for i, ev := range h.Events {
		if ev.ID <= before.LastID || (i > 0 && ev.ID <= h.Events[i-1].ID) {
			t.Fatalf("event ids not increasing after since: %+v", h.Events)
		}
	}
	var tail wire.History
	if err := c.Call(ctx, "observer.history", map[string]any{"since": before.LastID, "limit": 2}, &tail); err != nil {
		t.Fatal(err)
	}
	if len(tail.Events) != 2 || tail.Events[1].ID != h.Events[8].ID || tail.Missed != 7 {
		t.Fatalf("limit 2 gave %+v (missed %d), want the newest two and 7 missed", tail.Events, tail.Missed)
	}
	if err := c.Call(ctx, "observer.history", map[string]any{"limit": 5000}, nil); KindOf(err) != wire.KindInvalid {
		t.Fatalf("limit 5000: %v, want invalid", err)
	}
}

// A connection that says it is quiet (the bridge's housekeeping) makes no
// observer events, but its calls still count in the metrics.
func TestQuietConnectionEmitsNoEvents(t *testing.T) {
	srv, c := testServer(t)
	ctx := context.Background()
	quiet, err := wire.Dial(ctx, srv.opts.Socket, wire.ClientOptions{Name: "bridge", Quiet: true})
	if err != nil {
		t.Fatal(err)
	}
	defer quiet.Close()
	var before wire.History
	if err := c.Call(ctx, "observer.history", map[string]any{"limit": 1}, &before); err != nil {
		t.Fatal(err)
	}
	if err := quiet.Call(ctx, "shapes.list", nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := quiet.Call(ctx, "data.create", map[string]any{"shape": "note", "fields": map[string]any{"title": "q"}}, nil); err != nil {
		t.Fatal(err)
	}
	var h wire.History
	if err := c.Call(ctx, "observer.history", map[string]any{"since": before.LastID}, &h); err != nil {
		t.Fatal(err)
	}
	// Only the graph change remains: what changed is news whoever did it.
	if len(h.Events) != 1 || h.Events[0].Type != wire.EventGraphChanged {
		t.Fatalf("events after quiet calls: %+v, want only graph.changed", h.Events)
	}
	var m wire.Metrics
	if err := c.Call(ctx, "system.metrics", nil, &m); err != nil {
		t.Fatal(err)
	}
	for _, cm := range m.Calls {
		if cm.Name == "shapes.list" && cm.Count == 1 {
			return
		}
	}
	t.Fatalf("quiet shapes.list not counted: %+v", m.Calls)
}
