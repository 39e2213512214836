package graph

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestReopenDoesNotRerunMigrations(t *testing.T) {
	reg := defaultShapes(t, nil)
	path := filepath.Join(t.TempDir(), "nested", "dir", "agentos.db")
	ctx := context.Background()
	s, err := Open(ctx, path, reg, Options{})
	ok(t, err)
	n, err := s.Create(ctx, "note", map[string]any{"title": "kept"}, nil)
	ok(t, err)
	applied := func(s *Store) string {
		var rows []string
		ok(t, s.reader(ctx).query("SELECT version, name, applied_at FROM schema_migrations ORDER BY version", nil, 3, func(r []any) error {
			rows = append(rows, fmt.Sprint(r...))
			return nil
		}))
		return fmt.Sprint(rows)
	}
	first := applied(s)
	ok(t, s.Close())
	ok(t, s.Close()) // idempotent

	time.Sleep(5 * time.Millisecond) // a re-run would record a later applied_at
	s, err = Open(ctx, path, reg, Options{})
	ok(t, err)
	defer s.Close()
	all, err := migrations()
	ok(t, err)
	if again := applied(s); again != first || len(all) == 0 {
		t.Fatalf("schema_migrations changed on reopen:\n%s\n%s", first, again)
	}
	got, err := s.Get(ctx, n.ID)
	ok(t, err)
	if got.Fields["title"] != "kept" {
		t.Fatalf("data lost on reopen: %+v", got)
	}
	// New ids after reopen sort after old ones, and seq continues.
	m, err := s.Create(ctx, "note", map[string]any{"title": "later"}, nil)
	ok(t, err)
	if m.ID <= n.ID {
		t.Fatalf("ids not increasing across reopen: %s <= %s", m.ID, n.ID)
	}
	page, err := s.Query(ctx, Query{Shape: "note"})
	ok(t, err)
	if len(page.Nodes) != 2 || page.Nodes[0].ID != n.ID {
		t.Fatalf("creation order after reopen: %+v", page.Nodes)
	}
	if res, err := s.IntegrityCheck(ctx); err != nil || res != "ok" {
		t.Fatalf("integrity: %q %v", res, err)
	}
}

func TestReadOnlyStoreReadsAndRejectsWrites(t *testing.T) {
	reg := defaultShapes(t, nil)
	path := filepath.Join(t.TempDir(), "agentos.db")
	ctx := context.Background()
	if _, err := OpenReadOnly(ctx, path, reg); err == nil {
		t.Fatal("read-only open of a missing database succeeded")
	}
	w, err := Open(ctx, path, reg, Options{})
	ok(t, err)
	defer w.Close()
	n, err := w.Create(ctx, "task", map[string]any{"title": "visible"}, nil)
	ok(t, err)

	ro, err := OpenReadOnly(ctx, path, reg)
	ok(t, err)
	defer ro.Close()
	got, err := ro.Get(ctx, n.ID)
	ok(t, err)
	if got.Fields["title"] != "visible" {
		t.Fatalf("read-only get: %+v", got)
	}
	// Writes made later by the writer are visible to the reader.
	m, err := w.Create(ctx, "task", map[string]any{"title": "later"}, nil)
	ok(t, err)
	if _, err := ro.Get(ctx, m.ID); err != nil {
		t.Fatalf("read-only store misses a later write: %v", err)
	}
	if hits, err := ro.Search(ctx, "visible", "", 5); err != nil || len(hits) != 1 {
		t.Fatalf("read-only search: %v %v", hits, err)
	}
	writes := map[string]func() error{
		"create":  func() error { _, err := ro.Create(ctx, "task", map[string]any{"title": "x"}, nil); return err },
		"write":   func() error { _, err := ro.Write(ctx, "task", []map[string]any{{"title": "x"}}); return err },
		"update":  func() error { _, err := ro.Update(ctx, n.ID, map[string]any{"title": "x"}); return err },
		"delete":  func() error { _, err := ro.Delete(ctx, n.ID); return err },
		"restore": func() error { _, err := ro.Restore(ctx, n.ID); return err },
		"link":    func() error { _, err := ro.Link(ctx, n.ID, "x", m.ID); return err },
		"unlink":  func() error { return ro.Unlink(ctx, n.ID, "x", m.ID) },
	}
	for name, write := range writes {
		if err := write(); !errors.Is(err, ErrReadOnly) {
			t.Errorf("%s on a read-only store: %v", name, err)
		}
	}
}

func TestConcurrentWritersAndReaders(t *testing.T) {
	var mu sync.Mutex
	events := 0
	s := openTest(t, nil, Options{ReadConns: 3, OnChange: func(ChangeEvent) { mu.Lock(); events++; mu.Unlock() }})
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	const writers, perWriter = 4, 25
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < perWriter; i++ {
				n, err := s.Create(ctx, "task", map[string]any{"title": fmt.Sprintf("w%d-%d", w, i), "project": map[string]any{"name": fmt.Sprintf("p%d", i%3)}}, nil)
				if err != nil {
					errs <- err
					return
				}
				if _, err := s.Update(ctx, n.ID, map[string]any{"done": true}); err != nil {
					errs <- err
					return
				}
			}
		}(w)
	}
	for r := 0; r < 4; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				page, err := s.Query(ctx, Query{Shape: "task", Limit: 20})
				if err != nil {
					errs <- err
					return
				}
				for _, n := range page.Nodes {
					if _, err := s.Get(ctx, n.ID); err != nil {
						errs <- err
						return
					}
				}
				if _, err := s.Search(ctx, "w1", "", 5); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	c, err := s.Counts(ctx)
	ok(t, err)
	if c.ByShape["task"] != writers*perWriter || c.ByShape["project"] != 3 {
		t.Fatalf("counts %+v", c.ByShape)
	}
	mu.Lock()
	defer mu.Unlock()
	if events != 2*writers*perWriter {
		t.Fatalf("%d change events, want %d", events, 2*writers*perWriter)
	}
}

func TestOnChangeReportsCommittedMutations(t *testing.T) {
	var got []ChangeEvent
	s := openTest(t, nil, Options{OnChange: func(ev ChangeEvent) { got = append(got, ev) }})
	ctx := context.Background()
	n, err := s.Create(ctx, "task", map[string]any{"title": "x", "project": map[string]any{"name": "P"}}, nil)
	ok(t, err)
	_, err = s.Update(ctx, n.ID, map[string]any{"title": "x"}) // no change: no event
	ok(t, err)
	_, err = s.Write(ctx, "gadget-that-does-not-exist", []map[string]any{{"a": 1}})
	if err == nil {
		t.Fatal("write of unknown shape succeeded")
	}
	_, err = s.Delete(ctx, n.ID)
	ok(t, err)
	if len(got) != 2 {
		t.Fatalf("events %+v", got)
	}
	if got[0].Op != "create" || len(got[0].IDs) != 2 || fmt.Sprint(got[0].Shapes) != "[item project task]" {
		t.Fatalf("create event %+v", got[0])
	}
	if got[1].Op != "delete" || got[1].IDs[0] != n.ID {
		t.Fatalf("delete event %+v", got[1])
	}
}

// Every ChangeEvent names the call its write was made for, whichever
// mutation it was; a context that names none gives "".
func TestChangeEventsCarryTheCallOfTheirContext(t *testing.T) {
	var got []ChangeEvent
	s := openTest(t, nil, Options{OnChange: func(ev ChangeEvent) { got = append(got, ev) }})
	ctx := WithCall(WithActor(context.Background(), "cli"), "42")
	a, err := s.Create(ctx, "note", map[string]any{"name": "a"}, nil)
	ok(t, err)
	_, err = s.Write(WithCall(ctx, "j7"), "note", []map[string]any{{"name": "b"}})
	ok(t, err)
	_, err = s.Import(WithCall(ctx, "j8"), "demo", "note", []map[string]any{{"name": "c"}})
	ok(t, err)
	_, err = s.Link(ctx, a.ID, "mentions", a.ID)
	ok(t, err)
	_, err = s.Update(context.Background(), a.ID, map[string]any{"name": "a2"})
	ok(t, err)
	want := []string{"42", "j7", "j8", "42", ""}
	if len(got) != len(want) {
		t.Fatalf("events %+v, want %d", got, len(want))
	}
	for i, w := range want {
		if got[i].CallID != w {
			t.Fatalf("event %d (%s) has call %q, want %q", i, got[i].Op, got[i].CallID, w)
		}
	}
}

func TestIDsAreULIDsAndIncrease(t *testing.T) {
	var g idGen
	now := time.Now()
	prev := ""
	for i := 0; i < 10000; i++ {
		id := g.next(now) // same millisecond throughout: monotonic increments
		if !validID(id) {
			t.Fatalf("invalid id %q", id)
		}
		if id <= prev {
			t.Fatalf("ids not increasing: %s after %s", id, prev)
		}
		prev = id
	}
	if back := g.next(now.Add(-time.Hour)); back <= prev {
		t.Fatalf("clock going back produced a smaller id %s", back)
	}
	if validID("01JAAAAAAAAAAAAAAAAAAAAAAL") || validID("short") {
		t.Fatal("validID accepts garbage")
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	reg := defaultShapes(t, nil)
	path := filepath.Join(t.TempDir(), "agentos.db")
	ctx := context.Background()
	s, err := Open(ctx, path, reg, Options{})
	ok(t, err)
	ok(t, s.write(ctx, "test", func(w *wtx) error {
		_, err := w.exec("INSERT INTO schema_migrations(version, name, applied_at) VALUES (9999, '9999_future.sql', 0)")
		return err
	}))
	ok(t, s.Close())
	if _, err := Open(ctx, path, reg, Options{}); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("opening a newer schema: %v", err)
	}
}

// Counts takes a short cut (all rows less the soft-deleted ones); it must
// agree with the plain definition through creates, nodes of several shapes,
// deletes and restores.
func TestCountsAgreeWithTheirDefinition(t *testing.T) {
	s := openTest(t, nil, Options{})
	ctx := context.Background()
	res, err := s.Write(ctx, "note", []map[string]any{{"title": "a", "url": "https://a.example"}, {"title": "b"}, {"title": "c"}})
	ok(t, err)
	_, err = s.Write(ctx, "task", []map[string]any{{"title": "t1"}, {"title": "t2"}})
	ok(t, err)
	_, err = s.Create(ctx, "webpage", map[string]any{"url": "https://a.example", "title": "A"}, nil)
	ok(t, err)
	_, err = s.Delete(ctx, res.IDs[0])
	ok(t, err)
	_, err = s.Delete(ctx, res.IDs[1])
	ok(t, err)
	_, err = s.Restore(ctx, res.IDs[1])
	ok(t, err)
	got, err := s.Counts(ctx)
	ok(t, err)
	want := map[string]int64{}
	var nodes int64
	ok(t, s.reader(ctx).query(`SELECT s.shape, count(*) FROM node_shapes s JOIN nodes n ON n.seq = s.node
		WHERE n.deleted_at IS NULL GROUP BY s.shape`, nil, 2, func(r []any) error {
		want[r[0].(string)] = r[1].(int64)
		return nil
	}))
	ok(t, s.reader(ctx).query("SELECT count(*) FROM nodes WHERE deleted_at IS NULL", nil, 1, func(r []any) error {
		nodes = r[0].(int64)
		return nil
	}))
	if got.Nodes != nodes || !reflect.DeepEqual(got.ByShape, want) {
		t.Fatalf("Counts = %d %v, want %d %v", got.Nodes, got.ByShape, nodes, want)
	}
	// Every node is also an item (two node_shapes rows each); the deleted
	// note counts under neither.
	if got.ByShape["note"] != 2 || got.ByShape["item"] != 5 || got.Nodes != 5 {
		t.Fatalf("Counts = %+v, want 5 nodes, 2 notes, 5 items", got)
	}
}

// Readers map the database file (readerDSN); SQLite would silently read
// through its page cache if the pragma did not take.
func TestReadersMapTheDatabaseFile(t *testing.T) {
	s := openTest(t, nil, Options{})
	var n int64
	if err := s.rdb.QueryRowContext(context.Background(), "PRAGMA mmap_size").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != readerMmapBytes {
		t.Fatalf("readers' mmap_size = %d, want %d", n, readerMmapBytes)
	}
}
