package graph

import (
	"slices"
	"strings"
	"time"

	"github.com/agentos/agentos/shapes"
)

// edgeRef is one live outgoing edge of a node, as the writer tracks it.
type edgeRef struct{ id, to string }

// nodeState is the writer's working copy of one node inside a transaction.
// Every mutation changes states and then flushes them (flush.go), which
// writes them in as few statements as possible; after a flush the state
// equals the database again.
type nodeState struct {
	id        string
	seq       int64
	isNew     bool // not in the database yet
	deleted   bool
	deletedAt int64    // unix ms of the soft delete; 0 when live
	shapes    []string // primary first
	vals      map[string]fieldVal
	out       map[string][]edgeRef // live outgoing edges by label

	// Pending since the last flush (existing nodes only, except newEdges).
	orig          map[string]*fieldVal // value before the first change of each key; nil = absent
	added         map[string][]string  // label → targets linked
	removed       map[string][]string  // label → targets unlinked
	newEdges      []edgeRow
	dropEdges     []string
	dropTo        []string // the targets of dropEdges
	addShapes     []string
	origShapes    []string // shapes before the first of addShapes
	origDeletedAt int64    // deletedAt before setDeleted, when deleteDirty
	deleteDirty   bool
	textDirty     bool
	pending       bool // already in the current flush list
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

// setDeleted soft-deletes the node at ms (unix milliseconds), or restores
// it when ms is 0; flush writes it and records deleted_at before and after.
func (st *nodeState) setDeleted(ms int64) {
	if !st.deleteDirty {
		st.deleteDirty, st.origDeletedAt = true, st.deletedAt
	}
	st.deleted, st.deletedAt = ms != 0, ms
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
		st.dropTo = append(st.dropTo, e.to)
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
				if st.origShapes == nil {
					st.origShapes = st.shapes
				}
				st.shapes = append(slices.Clone(st.shapes), name)
				st.addShapes = append(st.addShapes, name)
			}
		}
	}
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
			deletedAt, _ := r[4].(int64)
			w.states[id] = &nodeState{
				id: id, seq: r[0].(int64), shapes: strings.Fields(r[2].(string)),
				deleted: r[4] != nil, deletedAt: deletedAt, vals: vals,
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
	if err := checkID("node", id); err != nil {
		return nil, err
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
