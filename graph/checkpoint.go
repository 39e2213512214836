package graph

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"time"
)

// Checkpoints run off the write path. SQLite's default copies the WAL back
// into the database inside the COMMIT that crosses 1000 pages, on the
// writer, so every few batches of an ingest paid for the checkpoint of the
// ones before (9% of an ingest's CPU). Here the writer's own threshold is
// raised to walBackstopPages, and after commits a checkpointer on its own
// connection runs PASSIVE checkpoints: they copy what is committed without
// taking the write lock, so the writer goes on while they do.
//
// A PASSIVE checkpoint cannot restart the WAL while the writer keeps
// appending to it, so during a long ingest the WAL grows; at
// walBackstopPages the writer checkpoints itself as SQLite normally does,
// and as the checkpointer has already copied most of the log, that costs
// little. Readers are never blocked by either.
const (
	walBackstopPages = 8192 // 32 MiB of 4 KiB pages
	// checkpointPause is the least time between two background
	// checkpoints: commits in between are folded into the next one.
	checkpointPause = 25 * time.Millisecond
)

// checkpointer runs the background checkpoints. kick is never closed, so
// committed is safe to call at any time, also after stop.
type checkpointer struct {
	db   *sql.DB
	kick chan struct{}
	quit chan struct{}
	done chan struct{}
}

func startCheckpointer(path string) (*checkpointer, error) {
	db, err := sql.Open("sqlite", "file:"+dsnPath(path)+"?_pragma=busy_timeout(5000)")
	if err != nil {
		return nil, fmt.Errorf("graph: open checkpointer: %w", err)
	}
	db.SetMaxOpenConns(1)
	c := &checkpointer{db: db, kick: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{})}
	go c.run()
	return c, nil
}

// committed tells the checkpointer there is WAL to copy; it never blocks.
func (c *checkpointer) committed() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

func (c *checkpointer) run() {
	defer close(c.done)
	for {
		select {
		case <-c.quit:
			return
		case <-c.kick:
		}
		// The result row (busy, log frames, checkpointed frames) is not
		// needed: a busy or partial checkpoint is finished by a later one.
		if _, err := c.db.ExecContext(context.Background(), "PRAGMA wal_checkpoint(PASSIVE)"); err != nil {
			slog.Debug("graph: background checkpoint", "err", err)
		}
		select {
		case <-c.quit:
			return
		case <-time.After(checkpointPause):
		}
	}
}

// stop ends the checkpointer; the writer's close checkpoints what is left.
func (c *checkpointer) stop() error {
	close(c.quit)
	<-c.done
	return c.db.Close()
}

// HandOverCheckpoints stops the background checkpoints, for a graph whose
// replicator checkpoints the WAL itself once it has shipped it (Litestream
// does, on its own connection after each sync): two checkpointers would
// only compete, and the replicator's read lock keeps the WAL from
// restarting under ours anyway. The writer keeps its backstop threshold,
// so checkpoints stay off the write path there too.
func (s *Store) HandOverCheckpoints(ctx context.Context) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.ckpt == nil {
		return nil
	}
	err := s.ckpt.stop()
	s.ckpt = nil
	return err
}
