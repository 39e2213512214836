package graph

import (
	"context"
	"fmt"
	"github.com/agentos/agentos/shapes"
	"strings"
	"time"
)

// Delete soft-deletes a node: it keeps its values and history but drops out
// of Query and Search, and its edges (both directions) are hidden from
// reads. Deleting a deleted node is a conflict, so callers learn that the
// node is already gone rather than that they deleted it.
func (s *Store) Delete(ctx context.Context, id string) (*Node, error) {
	var node *Node
	err := s.write(ctx, "delete", func(w *wtx) error {
		st, err := w.loadState(id)
		if err != nil {
			return err
		}
		if st.deleted {
			var at any
			_ = w.query("SELECT deleted_at FROM nodes WHERE id = ?", []any{id}, 1, func(r []any) error { at = r[0]; return nil })
			when := ""
			if ms, ok := at.(int64); ok {
				when = " at " + msTime(ms).Format(time.RFC3339)
			}
			return fmt.Errorf("%w: node %s is already deleted%s; data.restore brings it back", ErrConflict, id, when)
		}
		if _, err := w.exec("UPDATE nodes SET deleted_at = ?, updated_at = ? WHERE seq = ?", w.now, w.now, st.seq); err != nil {
			return err
		}
		// The index holds live nodes only; Restore rebuilds the row.
		if err := w.unindex(st.seq); err != nil {
			return err
		}
		stamp := msTime(w.now).Format(time.RFC3339Nano)
		if err := w.record(st.seq, "delete", map[string]any{"deleted_at": nil}, map[string]any{"deleted_at": stamp}); err != nil {
			return err
		}
		st.deleted = true
		w.touched(id, st.shapes)
		node, err = w.node(id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return node, nil
}

// Restore undoes a soft delete: the node, its edges and its search entry
// come back as they were. The delete it undoes is read from history and
// named in the restore's own change record.
func (s *Store) Restore(ctx context.Context, id string) (*Node, error) {
	var node *Node
	err := s.write(ctx, "restore", func(w *wtx) error {
		st, err := w.loadState(id)
		if err != nil {
			return err
		}
		if !st.deleted {
			return fmt.Errorf("%w: node %s is not deleted; nothing to restore", ErrConflict, id)
		}
		if twin, err := w.identityTwin(st); err != nil {
			return err
		} else if twin != "" {
			return fmt.Errorf("%w: node %s has the same identity as the live node %s (written after the delete); delete that one first, or update it instead of restoring", ErrConflict, id, twin)
		}
		var deletedAt any
		if err := w.query("SELECT deleted_at FROM nodes WHERE seq = ?", []any{st.seq}, 1, func(r []any) error { deletedAt = r[0]; return nil }); err != nil {
			return err
		}
		var undone any
		if err := w.query("SELECT seq, actor FROM changes WHERE node = ? AND op = 'delete' ORDER BY seq DESC LIMIT 1", []any{st.seq}, 2, func(r []any) error {
			undone = map[string]any{"seq": r[0], "actor": r[1]}
			return nil
		}); err != nil {
			return err
		}
		if _, err := w.exec("UPDATE nodes SET deleted_at = NULL, updated_at = ? WHERE seq = ?", w.now, st.seq); err != nil {
			return err
		}
		st.deleted = false
		if err := w.reindex(st); err != nil {
			return err
		}
		before := map[string]any{"deleted_at": nil}
		if ms, ok := deletedAt.(int64); ok {
			before["deleted_at"] = msTime(ms).Format(time.RFC3339Nano)
		}
		after := map[string]any{"deleted_at": nil}
		if undone != nil {
			after["undoes"] = undone
		}
		if err := w.record(st.seq, "restore", before, after); err != nil {
			return err
		}
		w.touched(id, st.shapes)
		node, err = w.node(id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return node, nil
}

// identityTwin returns the id of a live node that has st's identity, if
// any. Restoring st then would leave two live nodes with one identity, which
// later writes could not tell apart.
func (w *wtx) identityTwin(st *nodeState) (string, error) {
	if len(st.shapes) == 0 {
		return "", nil
	}
	sh, ok := w.reg.Get(st.shapes[0])
	if !ok {
		return "", nil
	}
	probes := identityProbes(sh)
	if len(probes) == 0 {
		return "", nil
	}
	c := &shapes.Coerced{Scalars: map[string]shapes.Value{}, Arrays: map[string][]shapes.Value{}}
	for k, f := range st.vals {
		if f.array {
			c.Arrays[k] = f.vals
		} else if len(f.vals) == 1 {
			c.Scalars[k] = f.vals[0]
		}
	}
	rels := map[string][]string{}
	for label, refs := range st.out {
		for _, e := range refs {
			rels[label] = append(rels[label], e.to)
		}
	}
	ix, err := w.prefetch(sh, probes, []*shapes.Coerced{c}, []map[string][]string{rels})
	if err != nil || ix == nil {
		return "", err
	}
	if twin := ix.match(w, probes, c, rels); twin != nil && twin.id != st.id {
		return twin.id, nil
	}
	return "", nil
}

// record appends one change record of the node with row key seq.
func (w *wtx) record(seq int64, op string, before, after map[string]any) error {
	bj, err := marshalChange(before)
	if err != nil {
		return err
	}
	aj, err := marshalChange(after)
	if err != nil {
		return err
	}
	_, err = w.exec("INSERT INTO changes(node, at, actor, op, before, after) VALUES (?, ?, ?, ?, ?, ?)", seq, w.now, w.actor, op, bj, aj)
	return err
}

func checkLabel(label string) error {
	switch {
	case strings.TrimSpace(label) == "":
		return fmt.Errorf("%w: an edge needs a label", ErrInvalid)
	case len(label) > 200:
		return fmt.Errorf("%w: edge label longer than 200 bytes", ErrInvalid)
	case label != strings.TrimSpace(label):
		return fmt.Errorf("%w: edge label %q has leading or trailing space", ErrInvalid, label)
	}
	return nil
}

// nodeRow reads the row key, shapes and deletion of a node.
func (w *wtx) nodeRow(id string) (seq int64, shapeNames []string, deleted, found bool, err error) {
	if !validID(id) {
		return 0, nil, false, false, nil
	}
	err = w.query("SELECT seq, shapes, deleted_at FROM nodes WHERE id = ?", []any{id}, 3, func(r []any) error {
		found, seq, shapeNames, deleted = true, r[0].(int64), strings.Fields(r[1].(string)), r[2] != nil
		return nil
	})
	return
}

// liveNode checks that id names a live node and returns its row key and shapes.
func (w *wtx) liveNode(id, role string) (int64, []string, error) {
	seq, shapeNames, deleted, found, err := w.nodeRow(id)
	switch {
	case err != nil:
		return 0, nil, err
	case !found:
		return 0, nil, fmt.Errorf("%w: %s node %q does not exist", ErrNotFound, role, id)
	case deleted:
		return 0, nil, fmt.Errorf("%w: %s node %q is deleted", ErrNotFound, role, id)
	}
	return seq, shapeNames, nil
}

// Link adds the edge from -label-> to. If that live edge exists already it
// is returned unchanged: there is at most one per (from, label, to).
func (s *Store) Link(ctx context.Context, from, label, to string) (*Edge, error) {
	if err := checkLabel(label); err != nil {
		return nil, err
	}
	var edge *Edge
	err := s.write(ctx, "link", func(w *wtx) error {
		fromSeq, fromShapes, err := w.liveNode(from, "from")
		if err != nil {
			return err
		}
		if _, _, err := w.liveNode(to, "to"); err != nil {
			return err
		}
		found := false
		if err := w.query("SELECT id, created_at FROM edges WHERE from_id = ? AND label = ? AND to_id = ? AND deleted_at IS NULL",
			[]any{from, label, to}, 2, func(r []any) error {
				found = true
				edge = &Edge{ID: r[0].(string), Label: label, From: from, To: to, CreatedAt: msTime(r[1].(int64))}
				return nil
			}); err != nil || found {
			return err
		}
		edge = &Edge{ID: w.s.ids.next(time.Now()), Label: label, From: from, To: to, CreatedAt: msTime(w.now)}
		if _, err := w.exec("INSERT INTO edges(id, from_id, label, to_id, created_at) VALUES (?, ?, ?, ?, ?)", edge.ID, from, label, to, w.now); err != nil {
			return err
		}
		if _, err := w.exec("UPDATE nodes SET updated_at = ? WHERE seq = ?", w.now, fromSeq); err != nil {
			return err
		}
		if err := w.record(fromSeq, "link", nil, map[string]any{label: []string{to}, "edge": edge.ID}); err != nil {
			return err
		}
		w.touched(from, fromShapes)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return edge, nil
}

// Unlink removes the live edge from -label-> to (soft: it stays in the
// table for history). ErrNotFound when there is no such live edge.
func (s *Store) Unlink(ctx context.Context, from, label, to string) error {
	if err := checkLabel(label); err != nil {
		return err
	}
	return s.write(ctx, "unlink", func(w *wtx) error {
		var edgeID string
		if err := w.query("SELECT id FROM edges WHERE from_id = ? AND label = ? AND to_id = ? AND deleted_at IS NULL",
			[]any{from, label, to}, 1, func(r []any) error { edgeID = r[0].(string); return nil }); err != nil {
			return err
		}
		if edgeID == "" {
			return fmt.Errorf("%w: no edge %s -%s-> %s", ErrNotFound, from, label, to)
		}
		if _, err := w.exec("UPDATE edges SET deleted_at = ? WHERE id = ?", w.now, edgeID); err != nil {
			return err
		}
		fromSeq, fromShapes, _, _, err := w.nodeRow(from)
		if err != nil {
			return err
		}
		if _, err := w.exec("UPDATE nodes SET updated_at = ? WHERE seq = ?", w.now, fromSeq); err != nil {
			return err
		}
		if err := w.record(fromSeq, "unlink", map[string]any{label: []string{to}, "edge": edgeID}, nil); err != nil {
			return err
		}
		w.touched(from, fromShapes)
		return nil
	})
}
