package graph

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/agentos/agentos/shapes"
)

// querier runs one query and hands each row to fn. The row slice is reused
// between calls: copy what you keep (strings and numbers are values, so
// keeping an element is fine). Reads inside a write transaction and reads on
// the pool share every loader through it.
type querier interface {
	query(q string, args []any, ncol int, fn func(row []any) error) error
}

// poolQ reads through the read-only pool with statements cached on the store.
type poolQ struct {
	s   *Store
	ctx context.Context
	// outer, when set, is the caller's context while ctx is detached from
	// it (see streamReader): it is checked between rows.
	outer context.Context
}

func (s *Store) reader(ctx context.Context) poolQ { return poolQ{s: s, ctx: ctx} }

// streamReader is a reader for statements that stream their rows in index
// order: the statement runs detached from ctx (see pointCtx), and a
// cancelled ctx stops the read at the next row it returns instead of by
// interrupting SQLite. Filters that reject a long run of index entries
// delay that row; the run is bounded by the driving index range.
func (s *Store) streamReader(ctx context.Context) poolQ {
	return poolQ{s: s, ctx: pointCtx(ctx), outer: ctx}
}

// outerCheckRows is how often a streaming read checks its caller's context.
const outerCheckRows = 64

// pointCtx strips cancellation for short point reads: with a cancellable
// context both database/sql and the driver start a watcher goroutine per
// statement, which costs more than the microsecond the read takes.
func pointCtx(ctx context.Context) context.Context { return context.WithoutCancel(ctx) }

// maxReadStmts bounds the reader statement cache. Query texts come from a
// bounded set of shapes (driver, conditions, order, cursor), but where-clauses
// with many keys multiply them; past the bound statements are one-off.
const maxReadStmts = 256

// rstmt returns a prepared statement for q; cached reports whether it is
// the store's to keep (otherwise the caller closes it).
func (s *Store) rstmt(ctx context.Context, q string) (st *sql.Stmt, cached bool, err error) {
	s.rmu.RLock()
	st, ok := s.rstmts[q]
	s.rmu.RUnlock()
	if ok {
		return st, true, nil
	}
	s.rmu.Lock()
	defer s.rmu.Unlock()
	if st, ok := s.rstmts[q]; ok {
		return st, true, nil
	}
	st, err = s.rdb.PrepareContext(ctx, q)
	if err != nil {
		return nil, false, mapErr(err)
	}
	if len(s.rstmts) >= maxReadStmts {
		return st, false, nil
	}
	s.rstmts[q] = st
	return st, true, nil
}

func (p poolQ) query(q string, args []any, ncol int, fn func(row []any) error) error {
	if p.outer != nil && p.outer.Err() != nil {
		return p.outer.Err()
	}
	st, cached, err := p.s.rstmt(p.ctx, q)
	if err != nil {
		return err
	}
	if !cached {
		defer st.Close()
	}
	rows, err := st.QueryContext(p.ctx, args...)
	if err != nil {
		return mapErr(err)
	}
	defer rows.Close()
	row := make([]any, ncol)
	ptrs := make([]any, ncol)
	for i := range ptrs {
		ptrs[i] = &row[i]
	}
	for n := 1; rows.Next(); n++ {
		if p.outer != nil && n%outerCheckRows == 0 {
			if err := p.outer.Err(); err != nil {
				return err
			}
		}
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		if err := fn(row); err != nil {
			return err
		}
	}
	return mapErr(rows.Err())
}

// errClosed is returned by writes after Close.
var errClosed = errors.New("graph: store is closed")

// wtx is one write transaction on the writer's driver connection.
type wtx struct {
	s     *Store
	conn  driver.Conn
	ctx   context.Context // never cancelled: see pointCtx; outer is checked between steps
	outer context.Context
	reg   *shapes.Registry
	now   int64
	actor string
	op    string // the mutation's verb (Store.write's op)

	nv      []driver.NamedValue // reused argument buffer
	buf     []byte              // reused document buffer
	nextSeq int64               // last nodes.seq handed out; 0 = not loaded yet
	states  map[string]*nodeState
	// precoerced, when set, is the next top-level upsert's items coerced
	// before the transaction began, against w.reg (see writeItems).
	precoerced []*shapes.Coerced

	evIDs    []string
	evSeen   map[string]bool
	evShapes map[string]bool
}

func (w *wtx) stmt(q string) (driver.Stmt, error) {
	if st, ok := w.s.wstmts[q]; ok {
		return st, nil
	}
	st, err := w.conn.(driver.ConnPrepareContext).PrepareContext(w.ctx, q)
	if err != nil {
		return nil, fmt.Errorf("prepare %.60q: %w", q, err)
	}
	w.s.wstmts[q] = st
	return st, nil
}

func (w *wtx) bind(args []any) []driver.NamedValue {
	if cap(w.nv) < len(args) {
		w.nv = make([]driver.NamedValue, len(args), len(args)*2)
	}
	nv := w.nv[:len(args)]
	for i, a := range args {
		nv[i] = driver.NamedValue{Ordinal: i + 1, Value: a}
	}
	return nv
}

// exec runs a statement; it returns the number of rows changed.
func (w *wtx) exec(q string, args ...any) (int64, error) { return w.execArgs(q, args) }

func (w *wtx) execArgs(q string, args []any) (int64, error) {
	st, err := w.stmt(q)
	if err != nil {
		return 0, err
	}
	res, err := st.(driver.StmtExecContext).ExecContext(w.ctx, w.bind(args))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// insert runs an INSERT and returns the new rowid.
func (w *wtx) insert(q string, args ...any) (int64, error) {
	st, err := w.stmt(q)
	if err != nil {
		return 0, err
	}
	res, err := st.(driver.StmtExecContext).ExecContext(w.ctx, w.bind(args))
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}

func (w *wtx) query(q string, args []any, ncol int, fn func(row []any) error) error {
	st, err := w.stmt(q)
	if err != nil {
		return err
	}
	rows, err := st.(driver.StmtQueryContext).QueryContext(w.ctx, w.bind(args))
	if err != nil {
		return err
	}
	defer rows.Close()
	dest := make([]driver.Value, ncol)
	row := make([]any, ncol)
	for {
		if err := rows.Next(dest); err != nil {
			if err == io.EOF {
				return nil
			}
			return err
		}
		for i, v := range dest {
			row[i] = v
		}
		if err := fn(row); err != nil {
			return err
		}
	}
}

// touched records a node for the ChangeEvent of this transaction.
func (w *wtx) touched(id string, shapeNames []string) {
	if w.evSeen == nil {
		w.evSeen = map[string]bool{}
		w.evShapes = map[string]bool{}
	}
	if !w.evSeen[id] {
		w.evSeen[id] = true
		w.evIDs = append(w.evIDs, id)
	}
	for _, sh := range shapeNames {
		w.evShapes[sh] = true
	}
}

// write runs fn in one immediate transaction on the writer and, once it has
// committed, reports the change. fn's error rolls everything back.
func (s *Store) write(ctx context.Context, op string, fn func(w *wtx) error) error {
	if s.wconn == nil {
		return fmt.Errorf("graph: %s: %w", op, ErrReadOnly)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	var ev ChangeEvent
	err := func() error {
		s.wmu.Lock()
		defer s.wmu.Unlock()
		if s.wstmts == nil {
			return errClosed
		}
		return s.wconn.Raw(func(dc any) error {
			conn, ok := dc.(driver.Conn)
			if !ok {
				return fmt.Errorf("graph: unexpected driver connection %T", dc)
			}
			w := &wtx{
				s: s, conn: conn, ctx: context.WithoutCancel(ctx), outer: ctx,
				reg: s.reg.Load(), now: time.Now().UnixMilli(), actor: ActorFrom(ctx), op: op,
				states: map[string]*nodeState{},
			}
			if _, err := w.exec("BEGIN IMMEDIATE"); err != nil {
				return err
			}
			committed := false
			defer func() {
				if !committed {
					// Also runs while a panic unwinds, so the connection is
					// never left inside a transaction.
					_, _ = w.exec("ROLLBACK")
				}
			}()
			if err := fn(w); err != nil {
				return err
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			if _, err := w.exec("COMMIT"); err != nil {
				return err
			}
			committed = true
			if s.ckpt != nil { // read under wmu: HandOverCheckpoints clears it
				s.ckpt.committed()
			}
			ev = w.event(op)
			ev.CallID = CallFrom(ctx)
			return nil
		})
	}()
	if err != nil {
		return mapErr(err)
	}
	if s.onChange != nil && len(ev.IDs) > 0 {
		s.onChange(ev)
	}
	return nil
}

func (w *wtx) event(op string) ChangeEvent {
	return ChangeEvent{Op: op, IDs: w.evIDs, Shapes: slices.Sorted(maps.Keys(w.evShapes))}
}

// inList returns "?,?,...,?" with n marks. Lists are padded to a power of two
// (see padIDs) so only a handful of statement texts exist per query.
func inList(n int) string {
	return strings.TrimSuffix(strings.Repeat("?,", n), ",")
}

// padIDs returns ids as query arguments padded to the next power of two by
// repeating the last one (harmless inside IN), so only a handful of
// statement texts exist per query.
func padIDs(ids []string) []any {
	out := make([]any, len(ids))
	for i, id := range ids {
		out[i] = id
	}
	return padAny(out)
}

// padAny returns a padded copy; keys itself is never modified.
func padAny(keys []any) []any {
	n := 1
	for n < len(keys) {
		n <<= 1
	}
	out := make([]any, n)
	copy(out, keys)
	for i := len(keys); i < n; i++ {
		out[i] = keys[len(keys)-1]
	}
	return out
}

// maxIn bounds IN lists; longer id sets are queried in chunks.
const maxIn = 512

// chunks calls fn for consecutive slices of at most maxIn ids.
func chunks(ids []string, fn func(part []string) error) error {
	for len(ids) > 0 {
		n := min(len(ids), maxIn)
		if err := fn(ids[:n]); err != nil {
			return err
		}
		ids = ids[n:]
	}
	return nil
}

type textKey struct {
	tmpl string
	n    int
}

// inSQL substitutes an n-mark IN list for each "%s" in tmpl. Texts are
// memoised on the store: they are also the statement-cache keys.
func (s *Store) inSQL(tmpl string, n int) string {
	k := textKey{tmpl, n}
	if v, ok := s.texts.Load(k); ok {
		return v.(string)
	}
	q := strings.ReplaceAll(tmpl, "%s", inList(n))
	s.texts.Store(k, q)
	return q
}
