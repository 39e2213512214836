package graph

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/agentos/agentos/shapes"
)

// The benchmarks of DESIGN §12 at the store level. BenchmarkWrite and
// BenchmarkRawInsert write the same rows (a task: title, priority, done,
// status) 1000 per transaction; compare their items/s and rows/s.
// BenchmarkGet and BenchmarkRawGet compare a point read.

const benchBatch = 1000

func benchItems(start int) []map[string]any {
	items := make([]map[string]any, benchBatch)
	for i := range items {
		n := start + i
		items[i] = map[string]any{
			"title":    "task number " + strconv.Itoa(n),
			"priority": int64(n % 5),
			"done":     n%2 == 0,
			"status":   "todo",
		}
	}
	return items
}

func BenchmarkWrite(b *testing.B) {
	s := openTest(b, nil, Options{})
	ctx := context.Background()
	batches := make([][]map[string]any, 0, 100)
	for i := 0; i < 100; i++ {
		batches = append(batches, benchItems(i*benchBatch))
	}
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if _, err := s.Write(ctx, "task", batches[i%len(batches)]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*benchBatch)/time.Since(start).Seconds(), "items/s")
}

// BenchmarkWriteIdentity writes shapes with an identity (webpage by url),
// half of them re-writes of existing nodes, so the identity lookup is paid.
func BenchmarkWriteIdentity(b *testing.B) {
	s := openTest(b, nil, Options{})
	ctx := context.Background()
	mk := func(batch int) []map[string]any {
		items := make([]map[string]any, benchBatch)
		for i := range items {
			n := batch*benchBatch/2 + i // overlaps the previous batch by half
			items[i] = map[string]any{"url": "https://example.com/page/" + strconv.Itoa(n), "name": "page " + strconv.Itoa(n), "content": "some text about page " + strconv.Itoa(batch)}
		}
		return items
	}
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if _, err := s.Write(ctx, "webpage", mk(i)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*benchBatch)/time.Since(start).Seconds(), "items/s")
}

func openRaw(b *testing.B) *sql.DB {
	path := filepath.Join(b.TempDir(), "raw.db")
	db, err := sql.Open("sqlite", writerDSN(path))
	if err != nil {
		b.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	b.Cleanup(func() { db.Close() })
	if _, err := db.Exec(`CREATE TABLE items(id TEXT PRIMARY KEY, title TEXT, priority INTEGER, done INTEGER, status TEXT)`); err != nil {
		b.Fatal(err)
	}
	return db
}

// BenchmarkRawInsert is the floor: the same rows into one plain table with a
// prepared INSERT, 1000 per transaction, through database/sql.
func BenchmarkRawInsert(b *testing.B) {
	db := openRaw(b)
	var gen idGen
	batches := make([][]map[string]any, 0, 100)
	for i := 0; i < 100; i++ {
		batches = append(batches, benchItems(i*benchBatch))
	}
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		tx, err := db.Begin()
		if err != nil {
			b.Fatal(err)
		}
		st, err := tx.Prepare(`INSERT INTO items(id, title, priority, done, status) VALUES (?, ?, ?, ?, ?)`)
		if err != nil {
			b.Fatal(err)
		}
		for _, it := range batches[i%len(batches)] {
			if _, err := st.Exec(gen.next(time.Now()), it["title"], it["priority"], it["done"], it["status"]); err != nil {
				b.Fatal(err)
			}
		}
		st.Close()
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*benchBatch)/time.Since(start).Seconds(), "rows/s")
}

func BenchmarkGet(b *testing.B) {
	s := openTest(b, nil, Options{})
	ctx := context.Background()
	var ids []string
	for i := 0; i < 10; i++ {
		res, err := s.Write(ctx, "task", benchItems(i*benchBatch))
		if err != nil {
			b.Fatal(err)
		}
		ids = append(ids, res.IDs...)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.Get(ctx, ids[(i*7919)%len(ids)]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRawGet(b *testing.B) {
	db := openRaw(b)
	var gen idGen
	var ids []string
	tx, _ := db.Begin()
	for i := 0; i < 10*benchBatch; i++ {
		id := gen.next(time.Now())
		ids = append(ids, id)
		if _, err := tx.Exec(`INSERT INTO items VALUES (?, ?, ?, ?, ?)`, id, fmt.Sprint("task ", i), i%5, i%2, "todo"); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	st, err := db.Prepare(`SELECT id, title, priority, done, status FROM items WHERE id = ?`)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	var id, title, status string
	var prio, done int64
	for i := 0; i < b.N; i++ {
		if err := st.QueryRow(ids[(i*7919)%len(ids)]).Scan(&id, &title, &prio, &done, &status); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSchemaFloor inserts exactly the rows a Write of the same items
// produces (nodes, node_shapes, vals, fts, one create record) with the same
// multi-row statements, but precomputed: the cost of the storage layout
// itself, without coercion, identity or any other Go work. Write/SchemaFloor
// is the overhead of the package's own code.
func BenchmarkSchemaFloor(b *testing.B) {
	s := openTest(b, nil, Options{})
	ctx := context.Background()
	type batch struct{ nodes, shapes, vals, fts []any }
	mk := func(start int64, items []map[string]any) batch {
		var bt batch
		for i, it := range items {
			seq := start + int64(i)
			id := s.ids.next(time.Now())
			vals := map[string]fieldVal{
				"title":    {vals: []shapes.Value{{Unit: shapes.UnitText, V: it["title"]}}},
				"priority": {vals: []shapes.Value{{Unit: shapes.UnitInteger, V: it["priority"]}}},
				"done":     {vals: []shapes.Value{{Unit: shapes.UnitBool, V: it["done"]}}},
				"status":   {vals: []shapes.Value{{Unit: shapes.UnitText, V: it["status"]}}},
			}
			bt.nodes = append(bt.nodes, seq, id, "task item", string(appendDoc(nil, vals)), int64(1), int64(1), int64(1))
			bt.shapes = append(bt.shapes, "task", seq, "item", seq)
			for k, f := range vals {
				bt.vals = appendValRows(bt.vals, seq, k, f)
			}
			bt.fts = append(bt.fts, seq, it["title"].(string)+"\n"+it["status"].(string))
		}
		return bt
	}
	batches := make([]batch, b.N)
	for i := range batches {
		batches[i] = mk(int64(i*benchBatch+1), benchItems(i*benchBatch))
	}
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		bt := batches[i]
		err := s.write(ctx, "bench", func(w *wtx) error {
			if _, err := w.insert("INSERT INTO changes(node, at, actor, op) VALUES (NULL, ?, ?, 'create')", w.now, w.actor); err != nil {
				return err
			}
			for _, step := range []struct {
				prefix string
				cols   int
				args   []any
			}{{insNodes, 7, bt.nodes}, {insShapes, 2, bt.shapes}, {insVals, 5, bt.vals}, {insFTS, 2, bt.fts}} {
				if err := w.bulk(step.prefix, step.cols, step.args); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*benchBatch)/time.Since(start).Seconds(), "items/s")
}

// BenchmarkCreate is one data.create (a task with a nested project): a
// transaction per call.
func BenchmarkCreate(b *testing.B) {
	s := openTest(b, nil, Options{})
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.Create(ctx, "task", map[string]any{"title": "t" + strconv.Itoa(i), "priority": 2, "project": map[string]any{"name": "p" + strconv.Itoa(i%10)}}, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkQueryWhere reads one page of 50 through a where-clause.
func BenchmarkQueryWhere(b *testing.B) {
	s := openTest(b, nil, Options{})
	ctx := context.Background()
	for i := 0; i < 10; i++ {
		if _, err := s.Write(ctx, "task", benchItems(i*benchBatch)); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		page, err := s.Query(ctx, Query{Shape: "task", Where: map[string]any{"priority": i % 5, "done": true}})
		if err != nil || len(page.Nodes) != 50 {
			b.Fatal(err, len(page.Nodes))
		}
	}
}
