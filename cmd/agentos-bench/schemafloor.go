package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/agentos/agentos/graph"
	"github.com/agentos/agentos/shapes"
)

// schemaFloor is the ingest floor of issue 16: the rows an ingest stored
// (nodes, node_shapes, vals, the full-text rows and one create record per
// batch), read back from the engine's database and inserted raw into a
// fresh database with the graph's schema (its indexes and triggers), with
// multi-row INSERTs, perTx nodes a transaction. It is what the storage
// layout costs with no JSON, coercion, identity check or other Go work.
// Its writer runs with SQLite's default checkpointing (a checkpoint inside
// the COMMIT that crosses 1000 WAL pages); where the engine checkpoints is
// the engine's own business, measured against this.
type schemaFloor struct {
	src, dst *sql.DB
	stmts    map[string]*sql.Stmt // prepared once, as the engine's are
}

func openSchemaFloor(ctx context.Context, engineDB, path string) (*schemaFloor, error) {
	reg, errs := shapes.Load()
	if len(errs) > 0 {
		return nil, fmt.Errorf("load shapes: %v", errs[0])
	}
	st, err := graph.Open(ctx, path, reg, graph.Options{})
	if err != nil {
		return nil, fmt.Errorf("create the floor's schema: %w", err)
	}
	if err := st.Close(); err != nil {
		return nil, err
	}
	src, err := sql.Open("sqlite", "file:"+engineDB+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		return nil, err
	}
	dst, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)"+
		"&_pragma=foreign_keys(1)&_pragma=cache_size(-8000)&_pragma=temp_store(MEMORY)&_txlock=immediate")
	if err != nil {
		src.Close()
		return nil, err
	}
	dst.SetMaxOpenConns(1)
	return &schemaFloor{src: src, dst: dst, stmts: map[string]*sql.Stmt{}}, nil
}

func (f *schemaFloor) close() {
	for _, st := range f.stmts {
		st.Close()
	}
	f.src.Close()
	f.dst.Close()
}

// floorBatch is one transaction's rows, flattened per table.
type floorBatch struct{ nodes, shapes, vals, fts []any }

// load reads the rows of the nodes with ids first..last (in creation
// order) from the engine's database, perTx nodes a batch.
func (f *schemaFloor) load(first, last string, perTx int) ([]floorBatch, error) {
	var lo, hi int64
	if err := f.src.QueryRow(`SELECT (SELECT seq FROM nodes WHERE id = ?), (SELECT seq FROM nodes WHERE id = ?)`, first, last).Scan(&lo, &hi); err != nil {
		return nil, fmt.Errorf("find the ingested rows: %w", err)
	}
	var batches []floorBatch
	for start := lo; start <= hi; start += int64(perTx) {
		end := min(start+int64(perTx)-1, hi)
		var b floorBatch
		rows, err := f.src.Query(`SELECT seq, id, shapes, fields, created_at, updated_at, created_by FROM nodes WHERE seq BETWEEN ? AND ? ORDER BY seq`, start, end)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var seq, created, updated, by int64
			var id, shapeList, fields string
			if err := rows.Scan(&seq, &id, &shapeList, &fields, &created, &updated, &by); err != nil {
				rows.Close()
				return nil, err
			}
			b.nodes = append(b.nodes, seq, id, shapeList, fields, created, updated, by)
			for _, sh := range strings.Fields(shapeList) {
				b.shapes = append(b.shapes, sh, seq)
			}
			body, err := ftsBody(fields)
			if err != nil {
				rows.Close()
				return nil, err
			}
			b.fts = append(b.fts, seq, body)
		}
		rows.Close()
		vals, err := f.src.Query(`SELECT key, value, owner, idx, unit FROM vals WHERE owner BETWEEN ? AND ? ORDER BY owner, key, idx`, start, end)
		if err != nil {
			return nil, err
		}
		for vals.Next() {
			var key, unit string
			var value any
			var owner, idx int64
			if err := vals.Scan(&key, &value, &owner, &idx, &unit); err != nil {
				vals.Close()
				return nil, err
			}
			b.vals = append(b.vals, key, value, owner, idx, unit)
		}
		vals.Close()
		batches = append(batches, b)
	}
	return batches, nil
}

// ftsBody is the indexed text of a bench note: its text values, keys in
// sorted order, one per line (what the engine indexes for a node whose
// fields are all searchable text; the index is contentless, so it cannot
// be read back).
func ftsBody(fields string) (string, error) {
	var m map[string]any
	if err := json.Unmarshal([]byte(fields), &m); err != nil {
		return "", fmt.Errorf("fields document: %w", err)
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		s, ok := m[k].(string)
		if !ok {
			return "", fmt.Errorf("field %q is not text: the floor only knows text notes", k)
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "\n"), nil
}

// floorBulkParams matches the engine's bound on parameters per statement.
const floorBulkParams = 1400

// insert writes the batches, one transaction each, and returns the time.
func (f *schemaFloor) insert(batches []floorBatch) (time.Duration, error) {
	type table struct {
		prefix string
		cols   int
		args   []any
	}
	tables := func(b floorBatch) []table {
		return []table{
			{"INSERT INTO nodes(seq, id, shapes, fields, created_at, updated_at, created_by) VALUES ", 7, b.nodes},
			{"INSERT OR IGNORE INTO node_shapes(shape, node) VALUES ", 2, b.shapes},
			{"INSERT INTO vals(key, value, owner, idx, unit) VALUES ", 5, b.vals},
			{"INSERT INTO fts(rowid, body) VALUES ", 2, b.fts},
		}
	}
	// Statements are prepared before the clock starts (the engine's are
	// cached), and outside a transaction: the pool has one connection.
	for _, b := range batches {
		for _, t := range tables(b) {
			if err := f.bulkInsert(nil, t.prefix, t.cols, t.args); err != nil {
				return 0, err
			}
		}
	}
	t0 := time.Now()
	for _, b := range batches {
		tx, err := f.dst.Begin()
		if err != nil {
			return 0, err
		}
		if _, err := tx.Exec(`INSERT INTO changes(node, at, actor, op) VALUES (NULL, ?, 'bench', 'create')`, time.Now().UnixMilli()); err != nil {
			tx.Rollback()
			return 0, err
		}
		for _, t := range tables(b) {
			if err := f.bulkInsert(tx, t.prefix, t.cols, t.args); err != nil {
				tx.Rollback()
				return 0, err
			}
		}
		if err := tx.Commit(); err != nil {
			return 0, err
		}
	}
	return time.Since(t0), nil
}

// bulkInsert runs prefix with as many (…) tuples a statement as the
// parameter bound allows; with no tx it only prepares the statements.
func (f *schemaFloor) bulkInsert(tx *sql.Tx, prefix string, cols int, args []any) error {
	per := floorBulkParams / cols
	tuple := "(" + strings.TrimSuffix(strings.Repeat("?,", cols), ",") + ")"
	for len(args) > 0 {
		k := min(per, len(args)/cols)
		q := prefix + strings.TrimSuffix(strings.Repeat(tuple+",", k), ",")
		st, ok := f.stmts[q]
		if !ok {
			var err error
			if st, err = f.dst.Prepare(q); err != nil {
				return fmt.Errorf("floor prepare: %w", err)
			}
			f.stmts[q] = st
		}
		if tx != nil {
			if _, err := tx.Stmt(st).Exec(args[:k*cols]...); err != nil {
				return fmt.Errorf("floor insert: %w", err)
			}
		}
		args = args[k*cols:]
	}
	return nil
}
