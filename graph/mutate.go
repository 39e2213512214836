package graph

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/agentos/agentos/shapes"
)

// Delete, Restore, Link and Unlink change node states and flush them like
// every write (flush.go), so their change records have the one shape of
// an update's: the keys that changed, before and after.

// Delete soft-deletes a node: it keeps its values and history but drops out
// of Query and Search, and its edges (both directions) are hidden from
// reads. Deleting a deleted node is a conflict, so callers learn that the
// node is already gone rather than that they deleted it.
func (s *Store) Delete(ctx context.Context, id string) (*Node, error) {
	if err := checkID("node", id); err != nil {
		return nil, err
	}
	var node *Node
	err := s.write(ctx, "delete", func(w *wtx) error {
		st, err := w.loadState(id)
		if err != nil {
			return err
		}
		if st.deleted {
			return errorf(ErrConflict, "node %s is already deleted at %s; data.restore brings it back", id, msTime(st.deletedAt).Format(time.RFC3339))
		}
		st.setDeleted(w.now)
		if err := w.flush([]*nodeState{st}); err != nil {
			return err
		}
		node, err = w.node(id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return node, nil
}

// Restore undoes a soft delete: the node, its edges and its search entry
// come back as they were. Its change record shows deleted_at going from the
// delete's stamp back to null.
func (s *Store) Restore(ctx context.Context, id string) (*Node, error) {
	if err := checkID("node", id); err != nil {
		return nil, err
	}
	var node *Node
	err := s.write(ctx, "restore", func(w *wtx) error {
		st, err := w.loadState(id)
		if err != nil {
			return err
		}
		if !st.deleted {
			return errorf(ErrConflict, "node %s is not deleted; nothing to restore", id)
		}
		if twin, err := w.identityTwin(st); err != nil {
			return err
		} else if twin != "" {
			return errorf(ErrConflict, "node %s has the same identity as the live node %s (written after the delete); delete that one first, or update it instead of restoring", id, twin)
		}
		st.setDeleted(0)
		if err := w.flush([]*nodeState{st}); err != nil {
			return err
		}
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

func checkLabel(label string) error {
	switch {
	case !utf8.ValidString(label):
		return errorf(ErrInvalid, "edge label is not valid UTF-8")
	case strings.TrimSpace(label) == "":
		return errorf(ErrInvalid, "an edge needs a label")
	case len(label) > 200:
		return errorf(ErrInvalid, "edge label longer than 200 bytes")
	case label != strings.TrimSpace(label):
		return errorf(ErrInvalid, "edge label %q has leading or trailing space", label)
	}
	return nil
}

// checkEdge validates the three parts of a Link or Unlink.
func checkEdge(from, label, to string) error {
	if err := checkLabel(label); err != nil {
		return err
	}
	if err := checkID("from", from); err != nil {
		return err
	}
	return checkID("to", to)
}

// liveState loads a node that must be live; role names it in messages.
func (w *wtx) liveState(id, role string) (*nodeState, error) {
	st, err := w.loadState(id)
	switch {
	case err != nil:
		return nil, fmt.Errorf("%s: %w", role, err)
	case st.deleted:
		return nil, errorf(ErrNotFound, "%s node %q is deleted", role, id)
	}
	return st, nil
}

// checkLive checks that id names a live node without loading its state.
func (w *wtx) checkLive(id, role string) error {
	found, deleted := false, false
	if err := w.query("SELECT deleted_at FROM nodes WHERE id = ?", []any{id}, 1, func(r []any) error {
		found, deleted = true, r[0] != nil
		return nil
	}); err != nil {
		return err
	}
	switch {
	case !found:
		return errorf(ErrNotFound, "%s node %q does not exist", role, id)
	case deleted:
		return errorf(ErrNotFound, "%s node %q is deleted", role, id)
	}
	return nil
}

// Link adds the edge from -label-> to. If that live edge exists already it
// is returned unchanged: there is at most one per (from, label, to).
func (s *Store) Link(ctx context.Context, from, label, to string) (*Edge, error) {
	if err := checkEdge(from, label, to); err != nil {
		return nil, err
	}
	var edge *Edge
	err := s.write(ctx, "link", func(w *wtx) error {
		st, err := w.liveState(from, "from")
		if err != nil {
			return err
		}
		if err := w.checkLive(to, "to"); err != nil {
			return err
		}
		edge = &Edge{Label: label, From: from, To: to}
		if i := slices.IndexFunc(st.out[label], func(e edgeRef) bool { return e.to == to }); i >= 0 {
			edge.ID = st.out[label][i].id
			return w.query("SELECT created_at FROM edges WHERE id = ?", []any{edge.ID}, 1, func(r []any) error {
				edge.CreatedAt = msTime(r[0].(int64))
				return nil
			})
		}
		w.link(st, label, to)
		edge.ID, edge.CreatedAt = st.newEdges[len(st.newEdges)-1].id, msTime(w.now)
		return w.flush([]*nodeState{st})
	})
	if err != nil {
		return nil, err
	}
	return edge, nil
}

// Unlink removes the live edge from -label-> to (soft: it stays in the
// table for history). ErrNotFound when there is no such live edge.
func (s *Store) Unlink(ctx context.Context, from, label, to string) error {
	if err := checkEdge(from, label, to); err != nil {
		return err
	}
	return s.write(ctx, "unlink", func(w *wtx) error {
		noEdge := errorf(ErrNotFound, "no edge %s -%q-> %s", from, label, to)
		st, err := w.loadState(from)
		if err != nil {
			if errors.Is(err, ErrNotFound) {
				return noEdge
			}
			return err
		}
		if st.unlink(label, func(t string) bool { return t == to }) == 0 {
			return noEdge
		}
		return w.flush([]*nodeState{st})
	})
}
