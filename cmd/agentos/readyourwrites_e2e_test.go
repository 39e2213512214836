package main

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/agentos/agentos/engine/wire"
	"github.com/agentos/agentos/internal/testkit"
)

// Every read path sees a write as soon as the write is acknowledged, on
// the connection that wrote and on another, whichever way the read runs:
// the point read and a where-query on an exact title run on the
// connection's read loop, a where-query on a number and search on the
// worker pool. A third connection keeps the writer busy meanwhile, so the
// background checkpointer runs under the reads too.
func TestReadsSeeAcknowledgedWritesOnEveryConnection(t *testing.T) {
	home := testkit.Home(t)
	d := startDaemon(t, home)
	writer, other, filler := d.client(t), d.client(t), d.client(t)

	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	var fillErr error
	go func() {
		defer wg.Done()
		for i := 0; ctx.Err() == nil; i++ {
			items := make([]map[string]any, 200)
			for j := range items {
				items[j] = map[string]any{"name": fmt.Sprintf("filler %d.%d", i, j), "content": "keeps the writer busy"}
			}
			if err := filler.Call(ctx, "data.write", map[string]any{"shape": "note", "items": items}, nil); err != nil && ctx.Err() == nil {
				fillErr = err
				return
			}
		}
	}()
	defer func() {
		stop()
		wg.Wait()
		if fillErr != nil {
			t.Errorf("filler writes: %v", fillErr)
		}
	}()

	const perRound = 30
	for round := 0; round < 15; round++ {
		marker := fmt.Sprintf("ryw%dmark", round)
		items := make([]map[string]any, perRound)
		for i := range items {
			items[i] = map[string]any{"title": fmt.Sprintf("round %d item %d %s", round, i, marker), "priority": 1000 + round}
		}
		var res struct {
			IDs []string `json:"ids"`
		}
		call(t, writer, "data.write", map[string]any{"shape": "task", "items": items}, &res)
		if len(res.IDs) != perRound {
			t.Fatalf("round %d: %d ids, want %d", round, len(res.IDs), perRound)
		}
		for name, c := range map[string]*wire.Client{"the writing connection": writer, "another connection": other} {
			last := readNode(t, c, res.IDs[perRound-1])
			if last.Fields["title"] != items[perRound-1]["title"] {
				t.Fatalf("round %d, %s: point read gives %v", round, name, last.Fields)
			}
			exact := readPage(t, c, map[string]any{"shape": "task", "where": map[string]any{"title": items[0]["title"]}})
			if len(exact.Nodes) != 1 || exact.Nodes[0].ID != res.IDs[0] {
				t.Fatalf("round %d, %s: where title finds %d nodes, want %s", round, name, len(exact.Nodes), res.IDs[0])
			}
			byPriority := readPage(t, c, map[string]any{"shape": "task", "where": map[string]any{"priority": 1000 + round}, "limit": 100})
			if len(byPriority.Nodes) != perRound {
				t.Fatalf("round %d, %s: where priority finds %d nodes, want %d", round, name, len(byPriority.Nodes), perRound)
			}
			if hits := searchLimit(t, c, marker, "task", 100); len(hits) != perRound {
				t.Fatalf("round %d, %s: search %q finds %d nodes, want %d", round, name, marker, len(hits), perRound)
			}
		}
		// An update is seen at once too: the new title finds the node, the
		// old one nothing.
		renamed := fmt.Sprintf("renamed in round %d", round)
		call(t, writer, "data.update", map[string]any{"id": res.IDs[1], "fields": map[string]any{"title": renamed}}, nil)
		if p := readPage(t, other, map[string]any{"shape": "task", "where": map[string]any{"title": renamed}}); len(p.Nodes) != 1 {
			t.Fatalf("round %d: the new title finds %d nodes on another connection, want 1", round, len(p.Nodes))
		}
		if p := readPage(t, other, map[string]any{"shape": "task", "where": map[string]any{"title": items[1]["title"]}}); len(p.Nodes) != 0 {
			t.Fatalf("round %d: the old title still finds %d nodes", round, len(p.Nodes))
		}
	}
	// The filler wrote meanwhile: it did not stall behind the reads.
	var page struct {
		Nodes []any `json:"nodes"`
	}
	waitCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := other.Call(waitCtx, "data.read", map[string]any{"shape": "note", "limit": 1}, &page); err != nil || len(page.Nodes) == 0 {
		t.Fatalf("no filler note stored (%v)", err)
	}
}

func searchLimit(t *testing.T, c *wire.Client, query, shape string, limit int) []any {
	t.Helper()
	var res struct {
		Hits []any `json:"hits"`
	}
	call(t, c, "data.search", map[string]any{"query": query, "shape": shape, "limit": limit}, &res)
	return res.Hits
}
