package main

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/agentos/agentos/engine/wire"
	"github.com/agentos/agentos/internal/testkit"

	"github.com/agentos/agentos/graph"
	_ "modernc.org/sqlite"
)

type writeResult struct {
	IDs []string `json:"ids"`
}

func TestKill9MidIngestLosesNoAcknowledgedWrite(t *testing.T) {
	home := testkit.Home(t)
	d := startDaemon(t, home)
	c := d.client(t)

	const total, batch = 100_000, 1000
	acked := make(map[string]string) // id -> name
	killAt := 30                     // batches acknowledged before the crash
	var stream sync.WaitGroup
	stream.Add(1)
	errs := make(chan error, 1)
	var mu sync.Mutex
	go func() {
		defer stream.Done()
		for b := 0; b < total/batch; b++ {
			items := make([]map[string]any, batch)
			for i := range items {
				items[i] = map[string]any{"name": fmt.Sprintf("crash-%d-%d", b, i), "content": "kill -9 survivor"}
			}
			var res writeResult
			if err := c.Call(context.Background(), "data.write", map[string]any{"shape": "note", "items": items}, &res); err != nil {
				errs <- err // the crash cuts the stream: expected
				return
			}
			mu.Lock()
			for i, id := range res.IDs {
				acked[id] = items[i]["name"].(string)
			}
			n := len(acked)
			mu.Unlock()
			if n == killAt*batch {
				d.kill() // mid-stream: the next batch is in flight or about to be
			}
		}
	}()
	stream.Wait()
	select {
	case <-errs:
	default:
		t.Fatal("the stream finished without noticing the crash")
	}
	if len(acked) < killAt*batch {
		t.Fatalf("only %d writes acknowledged before the crash", len(acked))
	}

	db, err := sql.Open("sqlite", "file:"+wire.PathsFor(home).DB+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	var check string
	if err := db.QueryRow("PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check = %q, %v", check, err)
	}
	db.Close()

	d2 := startDaemon(t, home)
	c2 := d2.client(t)
	missing := 0
	for id, name := range acked {
		var n graph.Node
		if err := c2.Call(context.Background(), "data.read", map[string]any{"id": id}, &n); err != nil || n.Fields["name"] != name {
			missing++
		}
	}
	if missing > 0 {
		t.Fatalf("%d of %d acknowledged writes are missing after restart", missing, len(acked))
	}
	call(t, c2, "data.write", map[string]any{"shape": "note", "items": []map[string]any{{"name": "after restart"}}}, nil)
}

func TestThirtyTwoConcurrentClientsLoseNoWrite(t *testing.T) {
	home := testkit.Home(t)
	d := startDaemon(t, home)
	const clients = 32
	deadline := time.Now().Add(3 * time.Second)
	type written struct{ id, title string }
	results := make([][]written, clients)
	errs := make(chan error, clients)
	var wg sync.WaitGroup
	for w := 0; w < clients; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			ctx := context.Background()
			c, err := wire.DialHome(ctx, home, wire.ClientOptions{Name: fmt.Sprintf("worker-%d", w)})
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			for i := 0; time.Now().Before(deadline); i++ {
				title := fmt.Sprintf("w%d-t%d", w, i)
				var n graph.Node
				if err := c.Call(ctx, "data.create", map[string]any{"shape": "task", "fields": map[string]any{"title": title, "priority": i % 5}}, &n); err != nil {
					errs <- fmt.Errorf("create: %w", err)
					return
				}
				results[w] = append(results[w], written{n.ID, title})
				var got graph.Node
				if err := c.Call(ctx, "data.read", map[string]any{"id": n.ID}, &got); err != nil || got.Fields["title"] != title {
					errs <- fmt.Errorf("read back %s: %v %v", n.ID, err, got.Fields)
					return
				}
				var page graph.Page
				if err := c.Call(ctx, "data.read", map[string]any{"shape": "task", "where": map[string]any{"title": title}}, &page); err != nil || len(page.Nodes) != 1 {
					errs <- fmt.Errorf("query %s: %v (%d nodes)", title, err, len(page.Nodes))
					return
				}
				if err := c.Call(ctx, "data.update", map[string]any{"id": n.ID, "fields": map[string]any{"done": true}}, nil); err != nil {
					errs <- fmt.Errorf("update: %w", err)
					return
				}
				if err := c.Call(ctx, "data.search", map[string]any{"query": title}, nil); err != nil {
					errs <- fmt.Errorf("search: %w", err)
					return
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	c := d.client(t)
	total := 0
	for _, ws := range results {
		for _, w := range ws {
			total++
			var n graph.Node
			call(t, c, "data.read", map[string]any{"id": w.id}, &n)
			if n.Fields["title"] != w.title || n.Fields["done"] != true {
				t.Fatalf("node %s = %v, want title %s done", w.id, n.Fields, w.title)
			}
		}
	}
	var st wire.Status
	call(t, c, "system.status", nil, &st)
	if st.ByShape["task"] != int64(total) {
		t.Fatalf("engine counts %d tasks, clients wrote %d", st.ByShape["task"], total)
	}
	t.Logf("%d clients wrote %d tasks", clients, total)
}
