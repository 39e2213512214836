package main

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/agentos/agentos/engine/wire"
)

// searchWords are spread over the big graph's task titles, one per task in
// turn, so each is in a quarter of the tasks (DESIGN §12: a word in 25%).
var searchWords = []string{"kestrel", "osprey", "heron", "plover"}

// searchRead measures data.search for a word in a quarter of the big graph,
// limit 10, against raw FTS5 on the engine's own index: the same database
// file opened read-only in this process, `MATCH 'kestrel' ORDER BY rank
// LIMIT 10`, interleaved with ours. The floor is the plain term; ours is
// the prefix term data.search makes of a word ("kestrel"*), so the floor
// is the stricter of the two. clients > 0 also runs that many concurrent
// clients, two searches each, for the note.
func (b *bench) searchRead(ctx context.Context, n, rounds, clients int) error {
	word := searchWords[0]
	db, err := sql.Open("sqlite", "file:"+wire.PathsFor(b.home).DB+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		return fmt.Errorf("open the engine's db read-only: %w", err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	var matches int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM fts WHERE fts MATCH ?`, word).Scan(&matches); err != nil {
		return fmt.Errorf("count matches: %w", err)
	}
	floorStmt, err := db.PrepareContext(ctx, `SELECT rowid, rank FROM fts WHERE fts MATCH ? ORDER BY rank LIMIT 10`)
	if err != nil {
		return err
	}
	defer floorStmt.Close()
	floorOnce := func() error {
		rows, err := floorStmt.QueryContext(ctx, word)
		if err != nil {
			return err
		}
		defer rows.Close()
		got := 0
		for rows.Next() {
			got++
		}
		if got != 10 {
			return fmt.Errorf("raw FTS5 found %d rows, want 10", got)
		}
		return rows.Err()
	}
	search := func(c *wire.Client, shape string) (time.Duration, error) {
		var res struct {
			Hits []struct{} `json:"hits"`
		}
		params := map[string]any{"query": word, "limit": 10}
		if shape != "" {
			params["shape"] = shape
		}
		t0 := time.Now()
		if err := c.Call(ctx, "data.search", params, &res); err != nil {
			return 0, fmt.Errorf("data.search: %w", err)
		}
		d := time.Since(t0)
		if len(res.Hits) != 10 {
			return 0, fmt.Errorf("data.search %q found %d hits, want 10", word, len(res.Hits))
		}
		return d, nil
	}
	fmt.Fprintf(os.Stderr, "searching a word in %d of %d nodes...\n", matches, n)
	// One of each first: the first read of the index pages warms the cache.
	if err := floorOnce(); err != nil {
		return err
	}
	if _, err := search(b.client, ""); err != nil {
		return err
	}
	var lat, shaped, floor []time.Duration
	for range rounds {
		t0 := time.Now()
		if err := floorOnce(); err != nil {
			return err
		}
		floor = append(floor, time.Since(t0))
		d, err := search(b.client, "")
		if err != nil {
			return err
		}
		lat = append(lat, d)
		if d, err = search(b.client, "task"); err != nil {
			return err
		}
		shaped = append(shaped, d)
	}
	note := fmt.Sprintf("%d matches (the graph also holds the ingest notes); with shape: task %s; floor: raw FTS5 on the engine's db file, same run, interleaved; median of %d",
		matches, ms(percentile(shaped, .5)), rounds)
	if clients > 0 {
		p50, p99, err := b.concurrentSearches(ctx, clients, func(c *wire.Client) (time.Duration, error) { return search(c, "") })
		if err != nil {
			return err
		}
		note += fmt.Sprintf("; %d concurrent clients: p50 %s, p99 %s", clients, ms(p50), ms(p99))
	}
	ours, fl := percentile(lat, .5), percentile(floor, .5)
	ratio := float64(ours) / float64(fl)
	met := ratio <= 2
	b.rows = append(b.rows, row{
		Path:   fmt.Sprintf("data.search a word in 25%% of %d nodes, limit 10 (median)", n),
		Ours:   ms(ours),
		Floor:  ms(fl),
		Ratio:  ratio,
		Target: "≤ 2× raw FTS5 MATCH … ORDER BY rank LIMIT 10",
		Met:    &met,
		Note:   note,
	})
	return nil
}

// concurrentSearches runs clients connections at once, two searches each.
func (b *bench) concurrentSearches(ctx context.Context, clients int, search func(*wire.Client) (time.Duration, error)) (p50, p99 time.Duration, err error) {
	conns := make([]*wire.Client, clients)
	for i := range conns {
		if conns[i], err = wire.DialHome(ctx, b.home, wire.ClientOptions{Name: "bench-search"}); err != nil {
			return 0, 0, err
		}
		defer conns[i].Close()
	}
	var (
		mu   sync.Mutex
		lat  []time.Duration
		errs []error
		wg   sync.WaitGroup
	)
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 2 {
				d, err := search(c)
				mu.Lock()
				lat, errs = append(lat, d), append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return 0, 0, err
		}
	}
	return percentile(lat, .5), percentile(lat, .99), nil
}
