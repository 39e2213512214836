package graph

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/agentos/agentos/shapes"
)

// edgeRef is one live outgoing edge of a node, as the writer tracks it.
type edgeRef struct{ id, to string }

// nodeState is the writer's working copy of one node inside a transaction.
// Changes accumulate here and are written by flush in as few statements as
// possible; after a flush the state equals the database again.
type nodeState struct {
	id      string
	seq     int64
	isNew   bool // not in the database yet
	deleted bool
	shapes  []string // primary first
	vals    map[string]fieldVal
	out     map[string][]edgeRef // live outgoing edges by label

	// Pending since the last flush (existing nodes only, except newEdges).
	orig      map[string]*fieldVal // value before the first change of each key; nil = absent
	added     map[string][]string  // label → targets linked
	removed   map[string][]string  // label → targets unlinked
	newEdges  []edgeRow
	dropEdges []string
	addShapes []string
	textDirty bool
	pending   bool // already in the current flush list
}

type edgeRow struct{ id, from, label, to string }

func (w *wtx) newState(implied []string) *nodeState {
	st := &nodeState{
		id:     w.s.ids.next(time.Now()),
		isNew:  true,
		shapes: implied,
		vals:   make(map[string]fieldVal, 8),
	}
	w.states[st.id] = st
	return st
}

func (st *nodeState) set(sh *shapes.Shape, key string, f fieldVal) {
	if st.isNew {
		st.vals[key] = f
		return
	}
	cur, has := st.vals[key]
	if has && cur.equal(f) {
		return
	}
	st.track(key, cur, has)
	st.vals[key] = f
	st.markText(sh, key)
}

func (st *nodeState) unset(sh *shapes.Shape, key string) {
	cur, has := st.vals[key]
	if !has {
		return
	}
	if !st.isNew {
		st.track(key, cur, has)
		st.markText(sh, key)
	}
	delete(st.vals, key)
}

func (st *nodeState) track(key string, cur fieldVal, has bool) {
	if st.orig == nil {
		st.orig = map[string]*fieldVal{}
	}
	if _, tracked := st.orig[key]; tracked {
		return
	}
	if has {
		c := cur
		st.orig[key] = &c
	} else {
		st.orig[key] = nil
	}
}

func (st *nodeState) markText(sh *shapes.Shape, key string) {
	if declared, ok := searchable(sh, key); ok || !declared {
		st.textDirty = true
	}
}

func (st *nodeState) hasEdge(label, to string) bool {
	return slices.ContainsFunc(st.out[label], func(e edgeRef) bool { return e.to == to })
}

// link adds a live edge unless one exists already (the store's invariant:
// at most one live edge per (from, label, to)).
func (w *wtx) link(st *nodeState, label, to string) {
	if st.hasEdge(label, to) {
		return
	}
	e := edgeRow{id: w.s.ids.next(time.Now()), from: st.id, label: label, to: to}
	if st.out == nil {
		st.out = map[string][]edgeRef{}
	}
	st.out[label] = append(st.out[label], edgeRef{id: e.id, to: to})
	st.newEdges = append(st.newEdges, e)
	if !st.isNew {
		if st.added == nil {
			st.added = map[string][]string{}
		}
		st.added[label] = append(st.added[label], to)
	}
}

// unlinkAll removes every live edge under label (a relation set to null).
func (st *nodeState) unlinkAll(label string) {
	st.unlink(label, func(string) bool { return true })
}

// unlink removes the live edges under label whose target matches; it
// reports how many it removed. An edge made earlier in the same
// transaction is simply never written.
func (st *nodeState) unlink(label string, match func(to string) bool) int {
	if len(st.out[label]) == 0 {
		return 0
	}
	n := 0
	st.out[label] = slices.DeleteFunc(st.out[label], func(e edgeRef) bool {
		if !match(e.to) {
			return false
		}
		n++
		if i := slices.IndexFunc(st.newEdges, func(ne edgeRow) bool { return ne.id == e.id }); i >= 0 {
			st.newEdges = slices.Delete(st.newEdges, i, i+1)
			if a := st.added[label]; len(a) > 0 {
				st.added[label] = slices.DeleteFunc(a, func(t string) bool { return t == e.to })
			}
			return true
		}
		st.dropEdges = append(st.dropEdges, e.id)
		if st.removed == nil {
			st.removed = map[string][]string{}
		}
		st.removed[label] = append(st.removed[label], e.to)
		return true
	})
	if len(st.out[label]) == 0 {
		delete(st.out, label)
	}
	return n
}

// apply merges one coerced item into st: last writer wins per key, null
// removes a key (or, for a relation, its edges); targets of a T[] relation
// add edges, the target of a one-node relation replaces its edge.
func (w *wtx) apply(st *nodeState, sh *shapes.Shape, c *shapes.Coerced, rels map[string][]string) {
	for k, v := range c.Scalars {
		st.set(sh, k, fieldVal{vals: []shapes.Value{v}})
	}
	for k, vs := range c.Arrays {
		st.set(sh, k, fieldVal{array: true, vals: vs})
	}
	for _, k := range c.Unset {
		if _, isRel := sh.Relations[k]; isRel {
			st.unlinkAll(k)
			continue
		}
		st.unset(sh, k)
	}
	for label, targets := range rels {
		// A one-target relation is a value like any other: the last writer
		// wins, so a new target replaces the edge instead of adding one.
		if rel, ok := sh.Relations[label]; ok && !rel.Many && len(targets) == 1 &&
			(len(st.out[label]) > 1 || !st.hasEdge(label, targets[0])) {
			st.unlinkAll(label)
		}
		for _, t := range targets {
			w.link(st, label, t)
		}
	}
	if !st.isNew {
		// A node matched by identity may predate a shape's current `also`.
		for _, name := range w.reg.Implied(sh.Name) {
			if !slices.Contains(st.shapes, name) {
				st.shapes = append(append([]string(nil), st.shapes...), name)
				st.addShapes = append(st.addShapes, name)
			}
		}
	}
}

// Bulk statement prefixes; bulk appends the VALUES tuples.
const (
	insNodes   = "INSERT INTO nodes(seq, id, shapes, fields, created_at, updated_at, created_by) VALUES "
	insShapes  = "INSERT OR IGNORE INTO node_shapes(shape, node) VALUES "
	insVals    = "INSERT INTO vals(key, value, owner, idx, unit) VALUES "
	insEdges   = "INSERT INTO edges(id, from_id, label, to_id, created_at) VALUES "
	insFTS     = "INSERT INTO fts(rowid, body) VALUES "
	insChanges = "INSERT INTO changes(node, at, actor, op, before, after) VALUES "
)

// flush writes the pending changes of states. New nodes go in with
// multi-row INSERTs (one statement per table per few hundred rows: that is
// what makes batch writes cheap) and share one create record; changed
// nodes get targeted updates and one change record each.
func (w *wtx) flush(states []*nodeState) error {
	var nodesA, shapesA, valsA, edgesA, ftsA, chA []any
	newCount := 0
	for _, st := range states {
		if st.isNew {
			newCount++
		}
	}
	var createdBy int64
	if newCount > 0 {
		if w.nextSeq == 0 {
			if err := w.query("SELECT coalesce(max(seq), 0) FROM nodes", nil, 1, func(r []any) error {
				w.nextSeq, _ = r[0].(int64)
				return nil
			}); err != nil {
				return err
			}
		}
		var err error
		if createdBy, err = w.insert("INSERT INTO changes(node, at, actor, op) VALUES (NULL, ?, ?, 'create')", w.now, w.actor); err != nil {
			return err
		}
		nodesA = make([]any, 0, newCount*7)
		valsA = make([]any, 0, newCount*6*5)
	}
	for _, st := range states {
		st.pending = false
		if st.isNew {
			w.nextSeq++
			st.seq = w.nextSeq
			w.buf = appendDoc(w.buf[:0], st.vals)
			nodesA = append(nodesA, st.seq, st.id, strings.Join(st.shapes, " "), string(w.buf), w.now, w.now, createdBy)
			for _, name := range st.shapes {
				shapesA = append(shapesA, name, st.seq)
			}
			for k, f := range st.vals {
				valsA = appendValRows(valsA, st.seq, k, f)
			}
			if text := ftsText(w.primary(st), st.vals); text != "" {
				ftsA = append(ftsA, st.seq, text)
			}
		} else {
			before, after := map[string]any{}, map[string]any{}
			var rewrite []string
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
				after["shapes"] = st.shapes
			}
			if len(before) == 0 && len(after) == 0 && len(st.newEdges) == 0 {
				st.reset()
				continue
			}
			w.buf = appendDoc(w.buf[:0], st.vals)
			if _, err := w.exec("UPDATE nodes SET fields = ?, shapes = ?, updated_at = ? WHERE seq = ?",
				string(w.buf), strings.Join(st.shapes, " "), w.now, st.seq); err != nil {
				return err
			}
			for _, name := range st.addShapes {
				shapesA = append(shapesA, name, st.seq)
			}
			for _, k := range rewrite {
				if o := st.orig[k]; o != nil {
					if err := w.deleteVals(st.seq, k, *o); err != nil {
						return err
					}
				}
				if f, has := st.vals[k]; has {
					valsA = appendValRows(valsA, st.seq, k, f)
				}
			}
			for _, id := range st.dropEdges {
				if _, err := w.exec("UPDATE edges SET deleted_at = ? WHERE id = ? AND deleted_at IS NULL", w.now, id); err != nil {
					return err
				}
			}
			if st.textDirty && !st.deleted {
				if err := w.reindex(st); err != nil {
					return err
				}
			}
			bj, err := marshalChange(before)
			if err != nil {
				return err
			}
			aj, err := marshalChange(after)
			if err != nil {
				return err
			}
			chA = append(chA, st.seq, w.now, w.actor, "update", bj, aj)
		}
		for _, e := range st.newEdges {
			edgesA = append(edgesA, e.id, e.from, e.label, e.to, w.now)
		}
		w.touched(st.id, st.shapes)
		st.reset()
	}
	if err := w.bulk(insNodes, 7, nodesA); err != nil {
		return err
	}
	if err := w.bulk(insShapes, 2, shapesA); err != nil {
		return err
	}
	if err := w.bulk(insVals, 5, valsA); err != nil {
		return err
	}
	if err := w.bulk(insEdges, 5, edgesA); err != nil {
		return err
	}
	if err := w.bulk(insFTS, 2, ftsA); err != nil {
		return err
	}
	return w.bulk(insChanges, 6, chA)
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
	st.newEdges, st.dropEdges, st.addShapes = nil, nil, nil
	st.textDirty = false
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

const selStates = "SELECT seq, id, shapes, fields, deleted_at FROM nodes WHERE "

// loadStates reads nodes by id (or by seq, when seqs is set) into w.states,
// skipping those loaded already. It returns the ids it found, in no order.
func (w *wtx) loadStates(ids []string, seqs []int64) ([]string, error) {
	var found []string
	var keys []any
	col := "id"
	if seqs != nil {
		col = "seq"
		for _, q := range seqs {
			keys = append(keys, q)
		}
	} else {
		for _, id := range ids {
			keys = append(keys, id)
		}
	}
	var fresh []string
	for len(keys) > 0 {
		n := min(len(keys), maxIn)
		args := padAny(keys[:n])
		keys = keys[n:]
		if err := w.query(w.s.inSQL(selStates+col+" IN (%s)", len(args)), args, 5, func(r []any) error {
			id := r[1].(string)
			found = append(found, id)
			if _, dup := w.states[id]; dup {
				return nil
			}
			vals, err := parseDoc(r[3].(string))
			if err != nil {
				return err
			}
			w.states[id] = &nodeState{
				id: id, seq: r[0].(int64), shapes: strings.Fields(r[2].(string)),
				deleted: r[4] != nil, vals: vals,
			}
			fresh = append(fresh, id)
			return nil
		}); err != nil {
			return nil, err
		}
	}
	return found, chunks(fresh, func(part []string) error {
		args := padIDs(part)
		return w.query(w.s.inSQL("SELECT id, from_id, label, to_id FROM edges WHERE from_id IN (%s) AND deleted_at IS NULL", len(args)), args, 4, func(r []any) error {
			st := w.states[r[1].(string)]
			if st == nil {
				return nil
			}
			if st.out == nil {
				st.out = map[string][]edgeRef{}
			}
			label := r[2].(string)
			st.out[label] = append(st.out[label], edgeRef{id: r[0].(string), to: r[3].(string)})
			return nil
		})
	})
}

// loadState returns one node's state, or ErrNotFound.
func (w *wtx) loadState(id string) (*nodeState, error) {
	if !validID(id) {
		return nil, notFound("node", id)
	}
	if _, err := w.loadStates([]string{id}, nil); err != nil {
		return nil, err
	}
	st, ok := w.states[id]
	if !ok {
		return nil, notFound("node", id)
	}
	return st, nil
}
