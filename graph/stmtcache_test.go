package graph

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
)

// The store prepares its hot statements once (the writer's on its
// connection, the readers' on the pool) and keeps them. They must keep
// answering right after the schema changes under them, as when a newer
// agentos migrates the file (SQLite re-prepares a statement whose schema
// changed; the cache keeps the same entries), and after a restart, when the
// caches start empty.
func TestPreparedStatementsSurviveASchemaChangeAndARestart(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "data", "agentos.db")
	reg := defaultShapes(t, nil)
	s, err := Open(ctx, path, reg, Options{})
	ok(t, err)
	defer func() { s.Close() }()

	res, err := s.Write(ctx, "task", benchItems(0))
	ok(t, err)
	_, err = s.Link(ctx, res.IDs[0], "depends_on", res.IDs[1])
	ok(t, err)
	type answers struct{ get, where, page, search []byte }
	read := func(s *Store) answers {
		t.Helper()
		var a answers
		var err error
		a.get, err = s.GetJSON(ctx, res.IDs[0])
		ok(t, err)
		a.where, err = s.QueryJSON(ctx, Query{Shape: "task", Where: map[string]any{"title": "task number 7"}})
		ok(t, err)
		a.page, err = s.QueryJSON(ctx, Query{Shape: "task", Where: map[string]any{"priority": 3}, Limit: 20})
		ok(t, err)
		hits, err := s.Search(ctx, "number", "task", 5)
		ok(t, err)
		a.search = []byte(fmt.Sprint(len(hits)))
		return a
	}
	want := read(s)
	if string(want.search) != "5" || !bytes.Contains(want.where, []byte(`"task number 7"`)) || !bytes.Contains(want.get, []byte(`"depends_on"`)) {
		t.Fatalf("reads before the change are wrong: %+v", want)
	}
	s.rmu.RLock()
	cached := len(s.rstmts)
	s.rmu.RUnlock()

	// Another connection changes the schema the cached statements read
	// through, as a migration would: a new column, an index rebuilt, a new
	// table.
	db, err := sql.Open("sqlite", writerDSN(path))
	ok(t, err)
	defer db.Close()
	for _, stmt := range []string{
		"BEGIN IMMEDIATE",
		"ALTER TABLE nodes ADD COLUMN extra TEXT",
		"DROP INDEX edges_live_in",
		"CREATE INDEX edges_live_in ON edges(to_id, label, from_id) WHERE deleted_at IS NULL",
		"CREATE TABLE test_migration (x INTEGER)",
		"COMMIT",
	} {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}

	if got := read(s); !bytes.Equal(got.get, want.get) || !bytes.Equal(got.where, want.where) || !bytes.Equal(got.page, want.page) || !bytes.Equal(got.search, want.search) {
		t.Fatalf("reads after the schema change differ:\n got %+v\nwant %+v", got, want)
	}
	s.rmu.RLock()
	if len(s.rstmts) != cached {
		t.Errorf("the read cache went from %d to %d statements: the changed schema made new ones instead of reusing them", cached, len(s.rstmts))
	}
	s.rmu.RUnlock()
	// The writer's cached inserts work on the changed tables too.
	more, err := s.Write(ctx, "task", benchItems(benchBatch))
	ok(t, err)

	ok(t, s.Close())
	if s, err = Open(ctx, path, reg, Options{}); err != nil {
		t.Fatalf("reopen after the change: %v", err)
	}
	if got := read(s); !bytes.Equal(got.get, want.get) || !bytes.Equal(got.where, want.where) || !bytes.Equal(got.page, want.page) {
		t.Fatalf("reads after a restart differ:\n got %+v\nwant %+v", got, want)
	}
	if n, err := s.Get(ctx, more.IDs[0]); err != nil || n.Fields["title"] != "task number 1000" {
		t.Fatalf("a node written after the change: %v %v", n, err)
	}
}

// Statement texts beyond the cache's bound are prepared for one use and
// closed, so distinct where-clauses cannot grow the cache without end.
func TestTheReadStatementCacheIsBounded(t *testing.T) {
	s := openTest(t, nil, Options{})
	ctx := context.Background()
	_, err := s.Write(ctx, "task", benchItems(0))
	ok(t, err)
	keys := []string{"title", "k1", "k2", "k3", "k4", "k5", "k6", "k7", "k8"} // all text
	n := 0
	for mask := 1; mask < 1<<len(keys); mask++ { // 511 key sets, each its own text
		where := map[string]any{}
		for i, k := range keys {
			if mask&(1<<i) != 0 {
				where[k] = "x"
			}
		}
		_, err := s.Query(ctx, Query{Shape: "task", Where: where})
		ok(t, err)
		n++
	}
	s.rmu.RLock()
	defer s.rmu.RUnlock()
	if n <= maxReadStmts || len(s.rstmts) > maxReadStmts {
		t.Fatalf("%d distinct queries left %d cached statements, want at most %d", n, len(s.rstmts), maxReadStmts)
	}
}
