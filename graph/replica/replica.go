package replica

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/benbjohnson/litestream"
)

// Options configure Start.
type Options struct {
	URL         string
	Credentials Credentials
	// SyncInterval is how often the changes are shipped (default 1 s).
	SyncInterval time.Duration
	Logger       *slog.Logger
}

// Status is a replica as status shows it.
type Status struct {
	URL        string    // without credentials (Redact)
	Local      string    // the database's last transaction (hex TXID), "" before the first
	Replicated string    // the replica's last transaction
	SyncedAt   time.Time // the replica holds every write made before this
	// Lag is the time since SyncedAt: the most recent writes the replica
	// may lack are at most this old. Between syncs it grows to about the
	// sync interval; while the replica fails, it grows on.
	Lag     time.Duration
	Error   string // the last sync's error, "" once one succeeds again
	ErrorAt time.Time
}

// Replicator replicates one SQLite database while it runs.
type Replicator struct {
	url      string
	interval time.Duration
	log      *slog.Logger
	db       *litestream.DB
	replica  *litestream.Replica
	store    *litestream.Store
	cancel   context.CancelFunc
	done     chan struct{}
	started  time.Time

	mu sync.Mutex
	st Status
}

// Start opens dbPath (in WAL mode, as the graph keeps it) for replication
// to opts.URL and ships its changes every SyncInterval until Close. An
// unreachable replica is not an error here: each failed sync is kept in
// Status, and the next one tries again.
func Start(ctx context.Context, dbPath string, opts Options) (*Replicator, error) {
	c, err := client(opts.URL, opts.Credentials)
	if err != nil {
		return nil, err
	}
	lg := opts.Logger
	if lg == nil {
		lg = slog.New(slog.DiscardHandler)
	}
	if opts.SyncInterval <= 0 {
		opts.SyncInterval = time.Second
	}
	lg = lg.With("replica", Redact(opts.URL))
	// Litestream's own lines (monitors starting, each compaction) are
	// kept from warnings up; ours say when replication fails and recovers.
	quiet := slog.New(warnUp{lg.Handler()})
	db := litestream.NewDB(dbPath)
	r := litestream.NewReplicaWithClient(db, c)
	r.MonitorEnabled = false // synced below, so each sync's outcome is known
	db.Replica = r
	store := litestream.NewStore([]*litestream.DB{db}, litestream.CompactionLevels{
		{Level: 0},
		{Level: 1, Interval: 30 * time.Second},
		{Level: 2, Interval: 5 * time.Minute},
		{Level: 3, Interval: time.Hour},
	})
	store.Logger = quiet.With("system", "store")
	db.SetLogger(quiet)
	if err := store.Open(ctx); err != nil {
		return nil, fmt.Errorf("replicate %s: %w", dbPath, err)
	}
	rp := &Replicator{url: Redact(opts.URL), interval: opts.SyncInterval, log: lg, db: db, replica: r, store: store, done: make(chan struct{}), started: time.Now()}
	rp.st.URL = rp.url
	lctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	rp.cancel = cancel
	go rp.loop(lctx)
	return rp, nil
}

func (rp *Replicator) loop(ctx context.Context) {
	defer close(rp.done)
	t := time.NewTicker(rp.interval)
	defer t.Stop()
	for {
		rp.sync(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// sync ships what was written until now; everything committed before it
// started is in the replica once it succeeds.
func (rp *Replicator) sync(ctx context.Context) {
	started := time.Now()
	err := rp.db.Sync(ctx)
	if err == nil {
		err = rp.replica.Sync(ctx)
	}
	rp.mu.Lock()
	defer rp.mu.Unlock()
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		if rp.st.Error == "" { // the first of a run of failures
			rp.log.Warn("replication failed; retrying", "err", err)
			rp.st.ErrorAt = time.Now()
		}
		rp.st.Error = err.Error()
		return
	}
	if rp.st.Error != "" {
		rp.log.Info("replication works again")
	}
	rp.st.Error, rp.st.ErrorAt = "", time.Time{}
	rp.st.SyncedAt = started
}

// Status is the replica's state now.
func (rp *Replicator) Status() Status {
	rp.mu.Lock()
	st := rp.st
	rp.mu.Unlock()
	if pos, err := rp.db.Pos(); err == nil && pos.TXID != 0 {
		st.Local = pos.TXID.String()
	}
	if pos := rp.replica.Pos(); pos.TXID != 0 {
		st.Replicated = pos.TXID.String()
	}
	since := st.SyncedAt
	if since.IsZero() {
		since = rp.started // nothing shipped yet: everything since the start may be missing
	}
	st.Lag = time.Since(since)
	return st
}

// Close ships what is left (within ctx) and stops.
func (rp *Replicator) Close(ctx context.Context) error {
	rp.cancel()
	<-rp.done
	rp.sync(ctx)
	err := rp.store.Close(ctx)
	if st := rp.Status(); st.Error != "" {
		err = errors.Join(err, fmt.Errorf("the last sync to %s: %s", rp.url, st.Error))
	}
	return err
}

// warnUp passes on records from warnings up.
type warnUp struct{ slog.Handler }

func (h warnUp) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn && h.Handler.Enabled(ctx, l)
}
func (h warnUp) WithAttrs(a []slog.Attr) slog.Handler { return warnUp{h.Handler.WithAttrs(a)} }
func (h warnUp) WithGroup(n string) slog.Handler      { return warnUp{h.Handler.WithGroup(n)} }
