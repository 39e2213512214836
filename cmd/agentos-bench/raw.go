package main

import (
	"database/sql"
	"fmt"
	"time"

	_ "modernc.org/sqlite"
)

// rawDB is the floor for storage paths: modernc SQLite used directly, with
// the engine's pragmas and nothing else.
type rawDB struct {
	db  *sql.DB
	ids []string
}

type rawRow struct{ name, content string }

func openRaw(path string) (*rawDB, error) {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("open raw db: %w", err)
	}
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(`CREATE TABLE items (id TEXT PRIMARY KEY, shape TEXT NOT NULL, name TEXT, content TEXT)`); err != nil {
		db.Close()
		return nil, fmt.Errorf("create raw table: %w", err)
	}
	return &rawDB{db: db}, nil
}

func (r *rawDB) close() { r.db.Close() }

// insert writes rows with one prepared INSERT each, perTx rows per
// transaction, and returns the time it took.
func (r *rawDB) insert(rows []rawRow, perTx int) (time.Duration, error) {
	// Ids as the engine makes them: 26 characters, time-sortable, so rows
	// append at the end of the primary-key index (random ids would make
	// the floor slower and flatter our ratio).
	ids := make([]string, len(rows))
	base := len(r.ids)
	for i := range ids {
		ids[i] = fmt.Sprintf("%026d", base+i)
	}
	t0 := time.Now()
	for start := 0; start < len(rows); start += perTx {
		tx, err := r.db.Begin()
		if err != nil {
			return 0, err
		}
		stmt, err := tx.Prepare(`INSERT INTO items (id, shape, name, content) VALUES (?, ?, ?, ?)`)
		if err != nil {
			tx.Rollback()
			return 0, err
		}
		for i := start; i < min(start+perTx, len(rows)); i++ {
			if _, err := stmt.Exec(ids[i], "note", rows[i].name, rows[i].content); err != nil {
				tx.Rollback()
				return 0, err
			}
		}
		stmt.Close()
		if err := tx.Commit(); err != nil {
			return 0, err
		}
	}
	d := time.Since(t0)
	r.ids = append(r.ids, ids...)
	return d, nil
}

func (r *rawDB) indexName() error {
	_, err := r.db.Exec(`CREATE INDEX items_name ON items(name)`)
	return err
}

func (r *rawDB) pointReads(ids []string) ([]time.Duration, error) {
	return r.timedReads(`SELECT id, shape, name, content FROM items WHERE id = ?`, ids)
}

func (r *rawDB) nameReads(names []string) ([]time.Duration, error) {
	return r.timedReads(`SELECT id, shape, name, content FROM items WHERE name = ?`, names)
}

func (r *rawDB) timedReads(query string, keys []string) ([]time.Duration, error) {
	stmt, err := r.db.Prepare(query)
	if err != nil {
		return nil, err
	}
	defer stmt.Close()
	lat := make([]time.Duration, len(keys))
	var id, shape, name, content string
	for i, k := range keys {
		t0 := time.Now()
		if err := stmt.QueryRow(k).Scan(&id, &shape, &name, &content); err != nil {
			return nil, fmt.Errorf("raw read %q: %w", k, err)
		}
		lat[i] = time.Since(t0)
	}
	return lat, nil
}
