package graph

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/agentos/agentos/shapes"
)

// maxNesting bounds relation objects inside relation objects.
const maxNesting = 8

// WriteResult answers a batch write. IDs[i] is the node item i ended up in
// (two items with the same identity share one id). An item counts as
// Created when it made a new node, otherwise as Updated (merged into an
// existing node or into one made earlier in the same batch).
type WriteResult struct {
	IDs      []string      `json:"ids"`
	Created  int           `json:"created"`
	Updated  int           `json:"updated"`
	Warnings []ItemWarning `json:"warnings,omitempty"`
}

// ItemWarning carries the coercion notes of one item of a batch.
type ItemWarning struct {
	Index    int      `json:"index"`
	Warnings []string `json:"warnings"`
}

type itemResult struct {
	id       string
	created  bool
	warnings []string
}

// Create stores one node of shape, or merges into the node with the same
// identity. Relation values may come in fields or in relations: a string is
// an existing node's id, an object becomes (or merges into) a child node of
// the relation's shape, linked from this one with the relation key as label.
// The node comes back with its edges and any coercion warnings.
func (s *Store) Create(ctx context.Context, shape string, fields map[string]any, relations map[string]any) (*Node, error) {
	item := fields
	if len(relations) > 0 {
		sh, ok := s.reg.Load().Get(shape)
		if !ok {
			_, err := s.reg.Load().Coerce(shape, nil)
			return nil, shapeErr(err)
		}
		item = make(map[string]any, len(fields)+len(relations))
		for k, v := range fields {
			item[k] = v
		}
		for k, v := range relations {
			if _, isRel := sh.Relations[k]; !isRel {
				return nil, errorf(ErrInvalid, "%s is not a relation of %s (its relations are %s)", k, shape, relationNames(sh))
			}
			if _, dup := fields[k]; dup {
				return nil, errorf(ErrInvalid, "%s given both in fields and in relations; give it once", k)
			}
			item[k] = v
		}
	}
	if item == nil {
		item = map[string]any{}
	}
	var node *Node
	err := s.write(ctx, "create", func(w *wtx) error {
		res, err := w.upsert(shape, []map[string]any{item}, func(int) string { return "" }, 0)
		if err != nil {
			return err
		}
		if node, err = w.node(res[0].id); err != nil {
			return err
		}
		node.Warnings = res[0].warnings
		return nil
	})
	if err != nil {
		return nil, err
	}
	return node, nil
}

// Write upserts items of one shape in a single transaction: either every
// item is stored or none is. Items with the same identity, in the batch or
// in the store, merge into one node.
func (s *Store) Write(ctx context.Context, shape string, items []map[string]any) (*WriteResult, error) {
	return s.writeItems(ctx, shape, items, func(i int) string { return "items[" + strconv.Itoa(i) + "]" })
}

// writeItems is Write with where(i) naming item i in errors.
func (s *Store) writeItems(ctx context.Context, shape string, items []map[string]any, where func(int) string) (*WriteResult, error) {
	if i := slices.IndexFunc(items, func(it map[string]any) bool { return it == nil }); i >= 0 {
		return nil, itemErr(i, errorf(ErrInvalid, "%s is null; each item is an object of fields (nothing of the batch was written)", where(i)))
	}
	out := &WriteResult{IDs: []string{}}
	if len(items) == 0 {
		if _, ok := s.reg.Load().Get(shape); !ok {
			_, err := s.reg.Load().Coerce(shape, nil)
			return nil, shapeErr(err)
		}
		return out, nil
	}
	// Coercion needs nothing of the database: done before the write lock,
	// it overlaps another call's transaction instead of lengthening this
	// one's (an ingest client with two batches in flight).
	reg := s.reg.Load()
	var pre []*shapes.Coerced
	if _, known := reg.Get(shape); known { // an unknown shape is refused as a whole, in upsert
		var err error
		if pre, err = coerceItems(reg, shape, items, where); err != nil {
			return nil, err
		}
	}
	err := s.write(ctx, "write", func(w *wtx) error {
		if w.reg == reg {
			w.precoerced = pre
		}
		res, err := w.upsert(shape, items, where, 0)
		if err != nil {
			return err
		}
		out.IDs = make([]string, len(res))
		for i, r := range res {
			out.IDs[i] = r.id
			if r.created {
				out.Created++
			} else {
				out.Updated++
			}
			if len(r.warnings) > 0 {
				out.Warnings = append(out.Warnings, ItemWarning{Index: i, Warnings: r.warnings})
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// checkItems refuses a batch holding a null item (JSON null decodes to a
// nil map), which would otherwise become an empty node.
func checkItems(items []map[string]any) error {
	if i := slices.IndexFunc(items, func(it map[string]any) bool { return it == nil }); i >= 0 {
		return errorf(ErrInvalid, "items[%d] is null; each item is an object of fields (nothing of the batch was written)", i)
	}
	return nil
}

// Update merges fields into an existing live node (coerced against its
// primary shape): last writer wins per key, null removes a key (for a
// relation key: unlinks it); a T[] relation adds edges, a one-node relation
// replaces its edge.
func (s *Store) Update(ctx context.Context, id string, fields map[string]any) (*Node, error) {
	var node *Node
	err := s.write(ctx, "update", func(w *wtx) error {
		st, err := w.loadState(id)
		if err != nil {
			return err
		}
		if st.deleted {
			return errorf(ErrConflict, "node %s is deleted; restore it (data.restore) before updating it", id)
		}
		primary := st.shapes[0]
		sh, ok := w.reg.Get(primary)
		if !ok {
			_, err := w.reg.Coerce(primary, nil)
			return fmt.Errorf("node %s: %w", id, shapeErr(err))
		}
		c, err := w.reg.Coerce(primary, fields)
		if err != nil {
			return shapeErr(err)
		}
		res := []itemResult{{id: id, warnings: c.Warnings}}
		rels, err := w.resolveRelations(sh, []*shapes.Coerced{c}, res, func(int) string { return "" }, 0)
		if err != nil {
			return err
		}
		var r map[string][]string
		if rels != nil {
			r = rels[0]
		}
		w.apply(st, sh, c, r)
		st.pending = true
		if err := w.flush([]*nodeState{st}); err != nil {
			return err
		}
		if node, err = w.node(id); err != nil {
			return err
		}
		node.Warnings = res[0].warnings
		return nil
	})
	if err != nil {
		return nil, err
	}
	return node, nil
}

// upsert coerces, resolves relations and identities of items of one shape,
// then writes them. where(i) names item i in error messages.
func (w *wtx) upsert(shapeName string, items []map[string]any, where func(int) string, depth int) ([]itemResult, error) {
	return w.upsertFrom(shapeName, items, where, depth, nil)
}

// coerceItems coerces each item against the shape, or names the first
// item that does not fit.
func coerceItems(reg *shapes.Registry, shapeName string, items []map[string]any, where func(int) string) ([]*shapes.Coerced, error) {
	cs := make([]*shapes.Coerced, len(items))
	for i, it := range items {
		if it == nil {
			return nil, itemErr(i, at(where(i), errorf(ErrInvalid, "null is not an object of fields")))
		}
		c, err := reg.Coerce(shapeName, it)
		if err != nil {
			return nil, itemErr(i, at(where(i), shapeErr(err)))
		}
		cs[i] = c
	}
	return cs, nil
}

// upsertFrom is upsert with provenance: when an item's identity matches no
// node, prov may name the node it was imported into before.
func (w *wtx) upsertFrom(shapeName string, items []map[string]any, where func(int) string, depth int, prov *provenance) ([]itemResult, error) {
	if depth > maxNesting {
		return nil, errorf(ErrInvalid, "relation objects nested more than %d deep", maxNesting)
	}
	if err := w.outer.Err(); err != nil {
		return nil, err
	}
	sh, ok := w.reg.Get(shapeName)
	if !ok {
		_, err := w.reg.Coerce(shapeName, nil)
		return nil, shapeErr(err)
	}
	res := make([]itemResult, len(items))
	cs := w.precoerced
	w.precoerced = nil
	if depth > 0 || len(cs) != len(items) {
		var err error
		if cs, err = coerceItems(w.reg, shapeName, items, where); err != nil {
			return nil, err
		}
	}
	for i, c := range cs {
		res[i].warnings = c.Warnings
	}
	rels, err := w.resolveRelations(sh, cs, res, where, depth)
	if err != nil {
		return nil, err
	}
	var ix *identIndex
	probes := identityProbes(sh)
	if len(probes) > 0 {
		if ix, err = w.prefetch(sh, probes, cs, rels); err != nil {
			return nil, err
		}
	}
	implied := w.reg.Implied(shapeName)
	level := make([]*nodeState, 0, len(items))
	for i, c := range cs {
		var r map[string][]string
		if rels != nil {
			r = rels[i]
		}
		var st *nodeState
		if ix != nil {
			st = ix.match(w, probes, c, r)
		}
		if st == nil && prov != nil {
			if st, err = prov.lookup(w, i); err != nil {
				return nil, err
			}
		}
		if st == nil {
			st = w.newState(implied)
			res[i].created = true
		}
		if prov != nil {
			prov.placed(i, st.id)
		}
		w.apply(st, sh, c, r)
		if ix != nil {
			ix.add(st, probes)
		}
		res[i].id = st.id
		if !st.pending {
			st.pending = true
			level = append(level, st)
		}
	}
	if err := w.flush(level); err != nil {
		return nil, err
	}
	return res, nil
}

// ItemError is a batch write refused because of one item: Index is its
// place in the batch, Err what is wrong with it (errors.Is reaches the
// kind). WriteEach writes the rest without it.
type ItemError struct {
	Index int
	Err   error
}

func (e *ItemError) Error() string { return e.Err.Error() }
func (e *ItemError) Unwrap() error { return e.Err }

func itemErr(i int, err error) error { return &ItemError{Index: i, Err: err} }

// ItemFailure is an item WriteEach could not write.
type ItemFailure struct {
	Index int
	Err   error
}

// WriteEach is Write for batches where one bad item must not cost the
// others: an item refused for itself (it does not fit the shape, or names
// a node that does not exist) is left out and reported, and the rest are
// written in one transaction. The result's IDs hold "" at a failed item's
// place. Any other error fails the whole batch, as in Write.
func (s *Store) WriteEach(ctx context.Context, shape string, items []map[string]any) (*WriteResult, []ItemFailure, error) {
	keep := make([]int, len(items)) // places in items of the ones still in
	for i := range keep {
		keep[i] = i
	}
	var failed []ItemFailure
	for {
		batch := make([]map[string]any, len(keep))
		for j, i := range keep {
			batch[j] = items[i]
		}
		if len(batch) == 0 {
			return &WriteResult{IDs: make([]string, len(items))}, failed, nil
		}
		res, err := s.writeItems(ctx, shape, batch, func(j int) string { return "items[" + strconv.Itoa(keep[j]) + "]" })
		var ie *ItemError
		switch {
		case err == nil:
			out := &WriteResult{IDs: make([]string, len(items)), Created: res.Created, Updated: res.Updated}
			for j, id := range res.IDs {
				out.IDs[keep[j]] = id
			}
			for _, w := range res.Warnings {
				out.Warnings = append(out.Warnings, ItemWarning{Index: keep[w.Index], Warnings: w.Warnings})
			}
			slices.SortFunc(failed, func(a, b ItemFailure) int { return a.Index - b.Index })
			return out, failed, nil
		case errors.As(err, &ie) && ie.Index >= 0 && ie.Index < len(keep):
			// Index is the item's place in this smaller batch; its message
			// already names its place in the caller's.
			failed = append(failed, ItemFailure{Index: keep[ie.Index], Err: ie.Err})
			keep = slices.Delete(keep, ie.Index, ie.Index+1)
		default:
			return nil, nil, err
		}
	}
}

// at prefixes err with where the offending item sits, keeping errors.Is.
func at(where string, err error) error {
	if where == "" {
		return err
	}
	return fmt.Errorf("%s: %w", where, err)
}

type relRef struct {
	item int
	key  string
	pos  int
}

// resolveRelations turns every relation value of every item into node ids:
// nested objects are upserted as child nodes first (one batch per relation
// key, so identical children across items merge), string ids must name
// live nodes. It returns, per item, label → target ids (nil when no item
// has relations).
func (w *wtx) resolveRelations(sh *shapes.Shape, cs []*shapes.Coerced, res []itemResult, where func(int) string, depth int) ([]map[string][]string, error) {
	keySet := map[string]bool{}
	for _, c := range cs {
		for k := range c.Relations {
			keySet[k] = true
		}
	}
	if len(keySet) == 0 {
		return nil, nil
	}
	keys := slices.Sorted(maps.Keys(keySet))
	rels := make([]map[string][]string, len(cs))
	var idRefs []relRef
	for _, key := range keys {
		rel, ok := sh.Relations[key]
		if !ok {
			return nil, errorf(ErrInvalid, "%s is not a relation of %s", key, sh.Name)
		}
		var kids []map[string]any
		var kidRefs []relRef
		for i, c := range cs {
			list := c.Relations[key]
			if len(list) == 0 {
				continue
			}
			if rels[i] == nil {
				rels[i] = map[string][]string{}
			}
			targets := make([]string, len(list))
			rels[i][key] = targets
			for pos, v := range list {
				switch x := v.(type) {
				case string:
					targets[pos] = x
					idRefs = append(idRefs, relRef{i, key, pos})
				case map[string]any:
					kids = append(kids, x)
					kidRefs = append(kidRefs, relRef{i, key, pos})
				default:
					return nil, itemErr(i, at(where(i), errorf(ErrInvalid, "%s: %T is not a node id or object", key, v)))
				}
			}
		}
		if len(kids) == 0 {
			continue
		}
		kidWhere := func(j int) string {
			r := kidRefs[j]
			p := key
			if len(cs[r.item].Relations[key]) > 1 || rel.Many {
				p += "[" + strconv.Itoa(r.pos) + "]"
			}
			if parent := where(r.item); parent != "" {
				return parent + "." + p
			}
			return p
		}
		kr, err := w.upsert(rel.Shape, kids, kidWhere, depth+1)
		if err != nil {
			var ie *ItemError
			if errors.As(err, &ie) { // a child's failure is its parent item's
				return nil, itemErr(kidRefs[ie.Index].item, ie.Err)
			}
			return nil, err
		}
		for j, r := range kidRefs {
			rels[r.item][key][r.pos] = kr[j].id
			for _, msg := range kr[j].warnings {
				res[r.item].warnings = append(res[r.item].warnings, key+": "+msg)
			}
		}
	}
	if len(idRefs) > 0 {
		if err := w.checkTargets(sh, rels, idRefs, res, where); err != nil {
			return nil, err
		}
	}
	for _, m := range rels {
		for k, ts := range m {
			m[k] = dedupe(ts)
		}
	}
	return rels, nil
}

// checkTargets verifies that node ids given as relation values exist and
// are live; a target of another shape than the relation declares is kept
// with a warning (shapes evolve; the id is what the caller meant).
func (w *wtx) checkTargets(sh *shapes.Shape, rels []map[string][]string, refs []relRef, res []itemResult, where func(int) string) error {
	type info struct {
		shapes  string
		deleted bool
	}
	found := map[string]info{}
	seen := map[string]bool{}
	var ids []string
	for _, r := range refs {
		id := rels[r.item][r.key][r.pos]
		if !seen[id] && validID(id) {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	if err := chunks(ids, func(part []string) error {
		args := padIDs(part)
		return w.query(w.s.inSQL("SELECT id, shapes, deleted_at FROM nodes WHERE id IN (%s)", len(args)), args, 3, func(r []any) error {
			found[r[0].(string)] = info{shapes: r[1].(string), deleted: r[2] != nil}
			return nil
		})
	}); err != nil {
		return err
	}
	for _, r := range refs {
		id := rels[r.item][r.key][r.pos]
		inf, ok := found[id]
		switch {
		case !ok:
			return itemErr(r.item, at(where(r.item), errorf(ErrNotFound, "%s: node %q does not exist; give an existing node id or an object to create one", r.key, id)))
		case inf.deleted:
			return itemErr(r.item, at(where(r.item), errorf(ErrNotFound, "%s: node %q is deleted; restore it first or link another node", r.key, id)))
		}
		want := sh.Relations[r.key].Shape
		if !slices.Contains(strings.Fields(inf.shapes), want) {
			res[r.item].warnings = append(res[r.item].warnings,
				fmt.Sprintf("%s: node %s is a %s, not a %s; linked anyway", r.key, id, firstWord(inf.shapes), want))
		}
	}
	return nil
}

func firstWord(s string) string {
	if f := strings.Fields(s); len(f) > 0 {
		return f[0]
	}
	return "node"
}

func dedupe(list []string) []string {
	if len(list) < 2 {
		return list
	}
	out := make([]string, 0, len(list))
	for _, x := range list {
		if !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

func relationNames(sh *shapes.Shape) string {
	if len(sh.Relations) == 0 {
		return "none"
	}
	return strings.Join(slices.Sorted(maps.Keys(sh.Relations)), ", ")
}
