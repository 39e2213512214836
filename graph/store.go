package graph

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/agentos/agentos/shapes"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Options tune a writable store.
type Options struct {
	// OnChange is called after each committed mutation, outside the
	// transaction and after the writer lock is released. It runs on the
	// writing goroutine, so it must not block for long (hand off to a queue).
	OnChange func(ChangeEvent)
	// ReadConns is the size of the read-only connection pool (default 4).
	ReadConns int
}

// ChangeEvent describes one committed mutation. Op is the method that made
// it: create, update, write, delete, restore, link or unlink. IDs are the
// nodes whose stored state changed (children created through relations
// included); Shapes are every shape those nodes belong to. CallID is the
// call the write was made for (WithCall), "" when the context named none.
type ChangeEvent struct {
	Op     string   `json:"op"`
	IDs    []string `json:"ids"`
	Shapes []string `json:"shapes"`
	CallID string   `json:"call_id,omitempty"`
}

// Store is the graph database. All methods are safe for concurrent use:
// writes are serialised on one connection, reads run on a pool.
type Store struct {
	path     string
	reg      atomic.Pointer[shapes.Registry]
	onChange func(ChangeEvent)
	ids      idGen

	rdb    *sql.DB
	rmu    sync.RWMutex
	rstmts map[string]*sql.Stmt

	// The writer: one *sql.Conn held for the store's life, driven through
	// its driver connection (Conn.Raw) so that statements are prepared once
	// and executed without database/sql's per-call bookkeeping. wmu
	// serialises transactions; wstmts is guarded by it.
	wdb    *sql.DB
	wconn  *sql.Conn
	wmu    sync.Mutex
	wstmts map[string]driver.Stmt

	texts sync.Map // textKey → generated SQL text (see inSQL, bulk)

	ckpt *checkpointer // nil for a read-only store

	closeOnce sync.Once
	closeErr  error
}

// dsnPath makes a file path safe inside a file: URI (SQLite decodes %XX;
// '?' and '#' would otherwise end the path).
func dsnPath(path string) string {
	r := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23")
	return r.Replace(path)
}

// writerDSN: busy_timeout first so every later pragma (journal_mode needs a
// lock) waits instead of failing; _txlock=immediate so a transaction takes
// the write lock at BEGIN, never upgrading halfway (which can deadlock).
func writerDSN(path string) string {
	return "file:" + dsnPath(path) +
		"?_pragma=busy_timeout(5000)" +
		"&_pragma=journal_mode(WAL)" +
		"&_pragma=synchronous(NORMAL)" +
		"&_pragma=foreign_keys(1)" +
		"&_pragma=cache_size(-8000)" +
		"&_pragma=temp_store(MEMORY)" +
		"&_pragma=wal_autocheckpoint(" + strconv.Itoa(walBackstopPages) + ")" +
		"&_txlock=immediate"
}

// readerDSN: readers map the database file (up to readerMmapBytes) instead
// of copying its pages into a page cache each: a read of a cold page is a
// page fault rather than a pread syscall, and every reader connection
// shares the one mapping. It halved search and cut a third off
// where-queries on a 100k-node graph (agentos-bench). The mapped pages
// count in the engine's RSS once touched, but they are the file's, in the
// kernel's page cache, and it takes them back under memory pressure. The
// writer keeps its own cache: it reads little, and writes go to the WAL.
func readerDSN(path string) string {
	return "file:" + dsnPath(path) + "?mode=ro&_pragma=busy_timeout(5000)&_pragma=temp_store(MEMORY)" +
		"&_pragma=mmap_size(" + strconv.Itoa(readerMmapBytes) + ")"
}

// readerMmapBytes bounds the readers' mapping of the database file; past it
// they read the rest of the file as SQLite normally does.
const readerMmapBytes = 256 << 20

// Open opens (creating if needed) the database at path, applies pending
// migrations and starts the reader pool.
func Open(ctx context.Context, path string, reg *shapes.Registry, opts Options) (*Store, error) {
	if reg == nil {
		return nil, fmt.Errorf("graph: open %s: %w: a shapes registry is required", path, ErrInvalid)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("graph: open %s: %w", path, err)
	}
	if err := prepareFiles(abs); err != nil {
		return nil, fmt.Errorf("graph: open %s: %w", abs, err)
	}

	s := &Store{path: abs, onChange: opts.OnChange, rstmts: map[string]*sql.Stmt{}, wstmts: map[string]driver.Stmt{}}
	s.reg.Store(reg)

	s.wdb, err = sql.Open("sqlite", writerDSN(abs))
	if err != nil {
		return nil, fmt.Errorf("graph: open %s: %w", abs, err)
	}
	s.wdb.SetMaxOpenConns(1)
	s.wdb.SetMaxIdleConns(1)
	s.wdb.SetConnMaxLifetime(0)
	s.wdb.SetConnMaxIdleTime(0)
	if _, err := migrate(ctx, s.wdb); err != nil {
		s.wdb.Close()
		return nil, fmt.Errorf("graph: open %s: %w", abs, mapErr(err))
	}
	// The writer has made the -wal and -shm files by now; SQLite gives them
	// the database's mode, but check rather than trust it.
	if err := tightenFiles(abs); err != nil {
		s.wdb.Close()
		return nil, fmt.Errorf("graph: open %s: %w", abs, err)
	}
	s.wconn, err = s.wdb.Conn(ctx)
	if err != nil {
		s.wdb.Close()
		return nil, fmt.Errorf("graph: open %s: %w", abs, err)
	}
	n := opts.ReadConns
	if n <= 0 {
		n = 4
	}
	if s.rdb, err = openReaders(ctx, abs, n); err != nil {
		s.wconn.Close()
		s.wdb.Close()
		return nil, err
	}
	if s.ckpt, err = startCheckpointer(abs); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// prepareFiles makes the database's folder (owner-only when graph creates
// it) and the database file, created 0600 before SQLite opens it so that
// the -wal and -shm files SQLite makes inherit that mode (it copies the
// database's mode onto them, whatever the umask). A database that exists
// already, say restored from a backup with looser modes, is tightened.
// The file holds the credential vault too: no one else may read it.
func prepareFiles(path string) error {
	dir := filepath.Dir(path)
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return err
		}
		// MkdirAll's mode passes through the umask; say it exactly.
		if err := os.Chmod(dir, 0o700); err != nil {
			return err
		}
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	switch {
	case err == nil:
		if err := f.Close(); err != nil {
			return err
		}
	case !errors.Is(err, os.ErrExist):
		return err
	}
	return tightenFiles(path)
}

// tightenFiles takes group and other permissions off the database, its
// -wal and its -shm (those that exist).
func tightenFiles(path string) error {
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		info, err := os.Stat(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		if perm := info.Mode().Perm(); perm&0o077 != 0 {
			if err := os.Chmod(p, perm&0o700); err != nil {
				return fmt.Errorf("make %s owner-only: %w", filepath.Base(p), err)
			}
		}
	}
	return nil
}

// OpenReadOnly opens an existing database for reading only (mode=ro): every
// write method returns ErrReadOnly. The bridge serves HTTP reads from one.
func OpenReadOnly(ctx context.Context, path string, reg *shapes.Registry) (*Store, error) {
	if reg == nil {
		return nil, fmt.Errorf("graph: open %s: %w: a shapes registry is required", path, ErrInvalid)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("graph: open %s: %w", path, err)
	}
	if _, err := os.Stat(abs); err != nil {
		return nil, fmt.Errorf("graph: open %s read-only: %w (start the engine once to create it)", abs, err)
	}
	s := &Store{path: abs, rstmts: map[string]*sql.Stmt{}}
	s.reg.Store(reg)
	if s.rdb, err = openReaders(ctx, abs, 4); err != nil {
		return nil, err
	}
	var n int
	if err := s.rdb.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil || n == 0 {
		s.rdb.Close()
		return nil, fmt.Errorf("graph: open %s read-only: not an agentos graph (no migrations applied): %v", abs, err)
	}
	return s, nil
}

func openReaders(ctx context.Context, path string, n int) (*sql.DB, error) {
	db, err := sql.Open("sqlite", readerDSN(path))
	if err != nil {
		return nil, fmt.Errorf("graph: open readers %s: %w", path, err)
	}
	db.SetMaxOpenConns(n)
	// Keep a few warm; a large pool (the engine sizes it above its worker
	// count) should not hold every connection's page cache forever.
	db.SetMaxIdleConns(min(n, 8))
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("graph: open readers %s: %w", path, err)
	}
	return db, nil
}

// Close releases every connection. It is safe to call more than once.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		var errs []error
		if s.ckpt != nil {
			errs = append(errs, s.ckpt.stop())
		}
		s.rmu.Lock()
		for _, st := range s.rstmts {
			st.Close()
		}
		s.rstmts = map[string]*sql.Stmt{}
		s.rmu.Unlock()
		if s.rdb != nil {
			errs = append(errs, s.rdb.Close())
		}
		if s.wconn != nil {
			s.wmu.Lock()
			_ = s.wconn.Raw(func(any) error {
				for _, st := range s.wstmts {
					st.Close()
				}
				return nil
			})
			s.wstmts = nil
			errs = append(errs, s.wconn.Close())
			s.wmu.Unlock()
		}
		if s.wdb != nil {
			errs = append(errs, s.wdb.Close())
		}
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}

// SetShapes swaps in a reloaded registry; operations already running keep
// the one they started with.
func (s *Store) SetShapes(reg *shapes.Registry) {
	if reg != nil {
		s.reg.Store(reg)
	}
}

// Shapes returns the registry in use.
func (s *Store) Shapes() *shapes.Registry { return s.reg.Load() }

// Path is the absolute path of the database file.
func (s *Store) Path() string { return s.path }

// ReadOnly reports whether the store was opened with OpenReadOnly.
func (s *Store) ReadOnly() bool { return s.wconn == nil }

type actorKey struct{}

// WithActor records who is acting ("cli", "mcp:<session>", "skill:<id>",
// "engine"); change records carry it.
func WithActor(ctx context.Context, actor string) context.Context {
	return context.WithValue(ctx, actorKey{}, actor)
}

type callKey struct{}

// WithCall records the id of the call a write is made for (the engine's
// call_id of a socket call, or a job's id); ChangeEvents carry it, so an
// observer can tie a change to the call that made it. Change records do not
// store it.
func WithCall(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, callKey{}, id)
}

// CallFrom returns the call id set by WithCall, or "".
func CallFrom(ctx context.Context) string {
	id, _ := ctx.Value(callKey{}).(string)
	return id
}

// ActorFrom returns the actor set by WithActor, or "unknown".
func ActorFrom(ctx context.Context) string {
	if a, ok := ctx.Value(actorKey{}).(string); ok && a != "" {
		return a
	}
	return "unknown"
}
