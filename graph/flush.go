package graph

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/agentos/agentos/shapes"
)

// flush is the one write path: every mutation (create, write, import,
// update, link, unlink, delete, restore) changes node states in memory and
// then flushes them here, so the rows written and the change records kept
// have one shape whatever the verb.

// Bulk statement prefixes; bulk appends the VALUES tuples.
const (
	insNodes   = "INSERT INTO nodes(seq, id, shapes, fields, created_at, updated_at, created_by) VALUES "
	insShapes  = "INSERT OR IGNORE INTO node_shapes(shape, node) VALUES "
	insVals    = "INSERT INTO vals(key, value, owner, idx, unit) VALUES "
	insEdges   = "INSERT INTO edges(id, from_id, label, to_id, created_at) VALUES "
	insFTS     = "INSERT INTO fts(rowid, body) VALUES "
	insChanges = "INSERT INTO changes(node, at, actor, op, before, after) VALUES "
)

// flushRows collects the rows one flush inserts, one argument list per
// table, so each table gets a few multi-row INSERTs.
type flushRows struct {
	nodes, shapes, vals, edges, fts, changes []any
}

// flush writes the pending changes of states. New nodes go in with
// multi-row INSERTs (one statement per table per few hundred rows: that is
// what makes batch writes cheap) and share one create record; changed
// nodes get targeted updates and one change record each.
func (w *wtx) flush(states []*nodeState) error {
	var rows flushRows
	createdBy, err := w.createRecord(states, &rows)
	if err != nil {
		return err
	}
	for _, st := range states {
		st.pending = false
		changed := true
		if st.isNew {
			w.newNodeRows(st, createdBy, &rows)
		} else if changed, err = w.changeRows(st, &rows); err != nil {
			return err
		}
		if changed {
			for _, e := range st.newEdges {
				rows.edges = append(rows.edges, e.id, e.from, e.label, e.to, w.now)
			}
			w.touched(st.id, st.shapes)
			// A link changes the neighbourhood of its target too: watchers
			// of that node (a node page) hear of it.
			for _, e := range st.newEdges {
				w.touched(e.to, nil)
			}
			for _, to := range st.dropTo {
				w.touched(to, nil)
			}
		}
		st.reset()
	}
	return rows.insert(w)
}

// createRecord, when states holds new nodes, stores the one create record
// they share and makes sure row keys can be handed out. It returns the
// record's seq (0 when nothing is new).
func (w *wtx) createRecord(states []*nodeState, rows *flushRows) (int64, error) {
	n := 0
	for _, st := range states {
		if st.isNew {
			n++
		}
	}
	if n == 0 {
		return 0, nil
	}
	if w.nextSeq == 0 {
		if err := w.query("SELECT coalesce(max(seq), 0) FROM nodes", nil, 1, func(r []any) error {
			w.nextSeq, _ = r[0].(int64)
			return nil
		}); err != nil {
			return 0, err
		}
	}
	rows.nodes = make([]any, 0, n*7)
	rows.vals = make([]any, 0, n*6*5)
	return w.insert("INSERT INTO changes(node, at, actor, op) VALUES (NULL, ?, ?, 'create')", w.now, w.actor)
}

// newNodeRows adds the rows of a node that is not in the database yet.
func (w *wtx) newNodeRows(st *nodeState, createdBy int64, rows *flushRows) {
	w.nextSeq++
	st.seq = w.nextSeq
	w.buf = appendDoc(w.buf[:0], st.vals)
	rows.nodes = append(rows.nodes, st.seq, st.id, strings.Join(st.shapes, " "), string(w.buf), w.now, w.now, createdBy)
	for _, name := range st.shapes {
		rows.shapes = append(rows.shapes, name, st.seq)
	}
	for k, f := range st.vals {
		rows.vals = appendValRows(rows.vals, st.seq, k, f)
	}
	if text := ftsText(w.primary(st), st.vals); text != "" {
		rows.fts = append(rows.fts, st.seq, text)
	}
}

// changeRows writes what changed on an existing node and adds its change
// record; false when nothing did (then nothing is written or recorded).
func (w *wtx) changeRows(st *nodeState, rows *flushRows) (bool, error) {
	before, after, rewrite := st.diff()
	if len(before) == 0 && len(st.newEdges) == 0 {
		return false, nil
	}
	w.buf = appendDoc(w.buf[:0], st.vals)
	if _, err := w.exec("UPDATE nodes SET fields = ?, shapes = ?, updated_at = ?, deleted_at = ? WHERE seq = ?",
		string(w.buf), strings.Join(st.shapes, " "), w.now, nullMS(st.deletedAt), st.seq); err != nil {
		return false, err
	}
	for _, name := range st.addShapes {
		rows.shapes = append(rows.shapes, name, st.seq)
	}
	if err := w.rewriteVals(st, rewrite, rows); err != nil {
		return false, err
	}
	for _, id := range st.dropEdges {
		if _, err := w.exec("UPDATE edges SET deleted_at = ? WHERE id = ? AND deleted_at IS NULL", w.now, id); err != nil {
			return false, err
		}
	}
	if err := w.syncText(st); err != nil {
		return false, err
	}
	bj, err := marshalChange(before)
	if err != nil {
		return false, err
	}
	aj, err := marshalChange(after)
	if err != nil {
		return false, err
	}
	rows.changes = append(rows.changes, st.seq, w.now, w.actor, changeOp(w.op), bj, aj)
	return true, nil
}

// changeOp is the op of an existing node's change record: the verbs that
// name one change keep their name, and every write that merges values into
// a node (create, write, import, update) records an update.
func changeOp(op string) string {
	switch op {
	case "link", "unlink", "delete", "restore":
		return op
	}
	return "update"
}

// diff lists what changed since the last flush as a change record: before
// and after hold the same keys, null meaning absent. Keys are the fields
// that changed, relation labels (lists of targets linked or unlinked),
// "shapes" when the node gained one, and "deleted_at" for a delete or
// restore. rewrite names the fields whose vals rows must be replaced.
func (st *nodeState) diff() (before, after map[string]any, rewrite []string) {
	before, after = map[string]any{}, map[string]any{}
	for k, o := range st.orig {
		cur, has := st.vals[k]
		if o == nil && !has || o != nil && has && o.equal(cur) {
			continue
		}
		rewrite = append(rewrite, k)
		before[k], after[k] = nil, nil
		if o != nil {
			before[k] = o.jsonOut()
		}
		if has {
			after[k] = cur.jsonOut()
		}
	}
	for label, ts := range st.removed {
		before[label] = ts
		if _, ok := after[label]; !ok {
			after[label] = nil
		}
	}
	for label, ts := range st.added {
		if len(ts) == 0 {
			continue
		}
		after[label] = ts
		if _, ok := before[label]; !ok {
			before[label] = nil
		}
	}
	if len(st.addShapes) > 0 {
		before["shapes"], after["shapes"] = st.origShapes, st.shapes
	}
	if st.deleteDirty && st.origDeletedAt != st.deletedAt {
		before["deleted_at"], after["deleted_at"] = stamp(st.origDeletedAt), stamp(st.deletedAt)
	}
	return before, after, rewrite
}

// stamp is a deleted_at as history shows it; nil for "not deleted".
func stamp(ms int64) any {
	if ms == 0 {
		return nil
	}
	return msTime(ms).Format(time.RFC3339Nano)
}

// nullMS is a deleted_at as the nodes table holds it.
func nullMS(ms int64) any {
	if ms == 0 {
		return nil
	}
	return ms
}

// rewriteVals replaces the vals rows of the keys whose value changed.
func (w *wtx) rewriteVals(st *nodeState, keys []string, rows *flushRows) error {
	for _, k := range keys {
		if o := st.orig[k]; o != nil {
			if err := w.deleteVals(st.seq, k, *o); err != nil {
				return err
			}
		}
		if f, has := st.vals[k]; has {
			rows.vals = appendValRows(rows.vals, st.seq, k, f)
		}
	}
	return nil
}

// syncText keeps the node's full-text row in step: the index holds live
// nodes only, so a delete drops the row and a restore rebuilds it.
func (w *wtx) syncText(st *nodeState) error {
	switch {
	case st.deleted && st.deleteDirty:
		return w.unindex(st.seq)
	case st.deleted:
		return nil
	case st.textDirty || st.deleteDirty:
		return w.reindex(st)
	}
	return nil
}

// insert writes the collected rows, table by table.
func (r *flushRows) insert(w *wtx) error {
	for _, t := range []struct {
		prefix string
		cols   int
		args   []any
	}{
		{insNodes, 7, r.nodes},
		{insShapes, 2, r.shapes},
		{insVals, 5, r.vals},
		{insEdges, 5, r.edges},
		{insFTS, 2, r.fts},
		{insChanges, 6, r.changes},
	} {
		if err := w.bulk(t.prefix, t.cols, t.args); err != nil {
			return err
		}
	}
	return nil
}

// deleteVals removes the vals rows of one key's old value.
func (w *wtx) deleteVals(owner int64, key string, old fieldVal) error {
	for i, v := range old.vals {
		idx := int64(idxScalar)
		if old.array {
			idx = int64(i)
		}
		if _, err := w.exec("DELETE FROM vals WHERE key = ? AND value = ? AND owner = ? AND idx = ?", key, sqlOf(v), owner, idx); err != nil {
			return err
		}
	}
	return nil
}

func (st *nodeState) reset() {
	st.isNew = false
	st.orig, st.added, st.removed = nil, nil, nil
	st.newEdges, st.dropEdges, st.dropTo, st.addShapes, st.origShapes = nil, nil, nil, nil, nil
	st.textDirty, st.deleteDirty = false, false
}

// primary is the shape definition used for a node's searchable fields.
func (w *wtx) primary(st *nodeState) *shapes.Shape {
	if len(st.shapes) == 0 {
		return nil
	}
	sh, _ := w.reg.Get(st.shapes[0])
	return sh
}

// reindex replaces the node's full-text row with its current text.
func (w *wtx) reindex(st *nodeState) error {
	if err := w.unindex(st.seq); err != nil {
		return err
	}
	if text := ftsText(w.primary(st), st.vals); text != "" {
		if _, err := w.exec("INSERT INTO fts(rowid, body) VALUES (?, ?)", st.seq, text); err != nil {
			return err
		}
	}
	return nil
}

func (w *wtx) unindex(seq int64) error {
	_, err := w.exec("DELETE FROM fts WHERE rowid = ?", seq)
	return err
}

// marshalChange encodes a before/after map; nil (SQL NULL) when empty.
func marshalChange(m map[string]any) (any, error) {
	if len(m) == 0 {
		return nil, nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("graph: encode change record: %w", err)
	}
	return string(b), nil
}

// maxBulkParams bounds one multi-row statement; SQLite allows 32766 but
// longer statements stop paying off and cost memory in the statement cache.
const maxBulkParams = 1400

type bulkKey struct {
	prefix     string
	cols, rows int
}

// bulk inserts len(args)/cols rows with prefix. Row counts per statement are
// the largest chunk or a power of two, so at most a dozen texts per table
// are ever prepared.
func (w *wtx) bulk(prefix string, cols int, args []any) error {
	maxRows := maxBulkParams / cols
	for rows := len(args) / cols; rows > 0; {
		k := maxRows
		if rows < k {
			k = 1
			for k*2 <= rows {
				k *= 2
			}
		}
		q := w.s.bulkSQL(prefix, cols, k)
		if _, err := w.execArgs(q, args[:k*cols]); err != nil {
			return err
		}
		args = args[k*cols:]
		rows -= k
	}
	return nil
}

func (s *Store) bulkSQL(prefix string, cols, rows int) string {
	k := bulkKey{prefix, cols, rows}
	if v, ok := s.texts.Load(k); ok {
		return v.(string)
	}
	tuple := "(" + inList(cols) + ")"
	var b strings.Builder
	b.Grow(len(prefix) + rows*(len(tuple)+1))
	b.WriteString(prefix)
	for i := 0; i < rows; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(tuple)
	}
	q := b.String()
	s.texts.Store(k, q)
	return q
}
