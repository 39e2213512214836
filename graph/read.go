package graph

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Node is one node as callers see it (DESIGN §4). Fields holds scalars as
// int64, float64, bool, string or json.RawMessage and arrays as []any;
// relation values are not fields but Edges.
type Node struct {
	ID        string         `json:"id"`
	Shapes    []string       `json:"shapes"`
	Fields    map[string]any `json:"fields"`
	Edges     []Edge         `json:"edges,omitempty"`
	CreatedAt time.Time      `json:"created_at"`
	UpdatedAt time.Time      `json:"updated_at"`
	DeletedAt *time.Time     `json:"deleted_at,omitempty"`
	Warnings  []string       `json:"warnings,omitempty"`
}

// Edge is one live edge.
type Edge struct {
	ID        string    `json:"id"`
	Label     string    `json:"label"`
	From      string    `json:"from"`
	To        string    `json:"to"`
	CreatedAt time.Time `json:"created_at"`
}

func msTime(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

// Get returns a node with its values and live edges (both directions; an
// edge whose other end is deleted is hidden). A soft-deleted node is
// returned with DeletedAt set and no edges.
func (s *Store) Get(ctx context.Context, id string) (*Node, error) {
	if err := checkID("node", id); err != nil {
		return nil, err
	}
	nodes, err := s.loadNodes(s.reader(pointCtx(ctx)), []string{id}, true)
	if err != nil {
		return nil, err
	}
	if len(nodes) == 0 {
		return nil, notFound("node", id)
	}
	return nodes[0], nil
}

// node reads one node inside the write transaction (what a write returns).
func (w *wtx) node(id string) (*Node, error) {
	nodes, err := w.s.loadNodes(w, []string{id}, true)
	if err != nil {
		return nil, err
	}
	if len(nodes) == 0 {
		return nil, notFound("node", id)
	}
	return nodes[0], nil
}

// selNodes reads node rows (side 0) and, in the same statement, their live
// edges whose other end is live too: outgoing (side 1, belongs to from) and
// incoming (side 2, belongs to to; self-loops come once, as outgoing). One
// statement means one read transaction: on a WAL database each costs shared
// lock syscalls, which were a third of a point read.
const (
	selNodes = "SELECT 0, seq, id, shapes, fields, created_at, updated_at, deleted_at FROM nodes WHERE "
	selEdges = ` UNION ALL
		SELECT 1, e.seq, e.id, e.label, e.from_id, e.to_id, e.created_at, NULL FROM edges e JOIN nodes t ON t.id = e.to_id
		WHERE e.from_id IN (SELECT id FROM nodes WHERE %[1]s) AND e.deleted_at IS NULL AND t.deleted_at IS NULL
		UNION ALL
		SELECT 2, e.seq, e.id, e.label, e.from_id, e.to_id, e.created_at, NULL FROM edges e JOIN nodes f ON f.id = e.from_id
		WHERE e.to_id IN (SELECT id FROM nodes WHERE %[1]s) AND e.deleted_at IS NULL AND f.deleted_at IS NULL AND e.from_id <> e.to_id`
)

// loadNodes reads nodes by id, in the order given (missing ids skipped,
// repeats returned once): one query for the rows, one for the edges.
func (s *Store) loadNodes(q querier, ids []string, withEdges bool) ([]*Node, error) {
	keys := make([]any, len(ids))
	for i, id := range ids {
		keys[i] = id
	}
	nodes, _, err := s.loadRows(q, "id", keys, withEdges)
	return nodes, err
}

// loadNodesBySeq is loadNodes by internal row key; it also returns each
// node's seq.
func (s *Store) loadNodesBySeq(q querier, seqs []int64, withEdges bool) ([]*Node, []int64, error) {
	keys := make([]any, len(seqs))
	for i, k := range seqs {
		keys[i] = k
	}
	return s.loadRows(q, "seq", keys, withEdges)
}

func (s *Store) loadRows(q querier, col string, keys []any, withEdges bool) ([]*Node, []int64, error) {
	type loaded struct {
		node *Node
		seq  int64
	}
	byKey := make(map[any]*loaded, len(keys))
	byID := make(map[string]*Node, len(keys))
	var edges []Edge
	var sides []int64
	for rest := keys; len(rest) > 0; {
		n := min(len(rest), maxIn)
		args := padAny(rest[:n])
		rest = rest[n:]
		text, qargs := s.nodesSQL(col, args, withEdges)
		if err := q.query(text, qargs, 8, func(r []any) error {
			if side := r[0].(int64); side != 0 {
				edges = append(edges, Edge{ID: r[2].(string), Label: r[3].(string), From: r[4].(string), To: r[5].(string), CreatedAt: msTime(r[6].(int64))})
				sides = append(sides, side)
				return nil
			}
			fields, err := docFields(r[4].(string))
			if err != nil {
				return err
			}
			node := &Node{
				ID:        r[2].(string),
				Shapes:    strings.Fields(r[3].(string)),
				Fields:    fields,
				CreatedAt: msTime(r[5].(int64)),
				UpdatedAt: msTime(r[6].(int64)),
			}
			if d, ok := r[7].(int64); ok {
				t := msTime(d)
				node.DeletedAt = &t
			}
			l := &loaded{node: node, seq: r[1].(int64)}
			if col == "id" {
				byKey[node.ID] = l
			} else {
				byKey[l.seq] = l
			}
			byID[node.ID] = node
			return nil
		}); err != nil {
			return nil, nil, err
		}
	}
	for i, e := range edges {
		owner := e.From
		if sides[i] == 2 {
			owner = e.To
		}
		// A deleted node's edges are hidden, from either side.
		if node := byID[owner]; node != nil && node.DeletedAt == nil {
			node.Edges = append(node.Edges, e)
		}
	}
	nodes := make([]*Node, 0, len(byKey))
	seqs := make([]int64, 0, len(byKey))
	for _, k := range keys {
		l, ok := byKey[k]
		if !ok {
			continue
		}
		delete(byKey, k) // a repeated key is returned once
		if len(l.node.Edges) > 1 {
			slices.SortFunc(l.node.Edges, func(a, b Edge) int { return strings.Compare(a.ID, b.ID) })
		}
		nodes = append(nodes, l.node)
		seqs = append(seqs, l.seq)
	}
	return nodes, seqs, nil
}

// nodesSQL builds the node (and edge) query for padded keys of col.
func (s *Store) nodesSQL(col string, args []any, withEdges bool) (string, []any) {
	n := len(args)
	tmpl := selNodes + col + " IN (%s)"
	if !withEdges {
		return s.inSQL(tmpl, n), args
	}
	k := textKey{tmpl: "edges:" + col, n: n}
	text, ok := s.texts.Load(k)
	if !ok {
		cond := col + " IN (" + inList(n) + ")"
		text = selNodes + cond + fmt.Sprintf(selEdges, cond)
		s.texts.Store(k, text)
	}
	all := make([]any, 0, 3*n)
	all = append(append(append(all, args...), args...), args...)
	return text.(string), all
}
