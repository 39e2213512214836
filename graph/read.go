package graph

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
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
// lock syscalls, which were a third of a point read. The keys are numbered
// parameters (?1…?n), so each part of the UNION names them without the
// arguments being repeated.
const (
	nodeCols = "seq, id, shapes, fields, created_at, updated_at, deleted_at"
	selNodes = "SELECT 0, " + nodeCols + " FROM nodes WHERE "
	// selEdges takes the id set twice: the keys themselves when they are
	// ids, a subquery when they are seqs.
	selEdges = `SELECT 1, e.seq, e.id, e.label, e.from_id, e.to_id, e.created_at, NULL FROM edges e JOIN nodes t ON t.id = e.to_id
		WHERE e.from_id IN (%[1]s) AND e.deleted_at IS NULL AND t.deleted_at IS NULL
		UNION ALL
		SELECT 2, e.seq, e.id, e.label, e.from_id, e.to_id, e.created_at, NULL FROM edges e JOIN nodes f ON f.id = e.from_id
		WHERE e.to_id IN (%[1]s) AND e.deleted_at IS NULL AND f.deleted_at IS NULL AND e.from_id <> e.to_id`
)

// scanNode reads the nodeCols columns of r.
func scanNode(r []any) nodeRow {
	n := nodeRow{seq: r[0].(int64), id: r[1].(string), shapes: r[2].(string), fields: r[3].(string),
		created: r[4].(int64), updated: r[5].(int64)}
	if d, ok := r[6].(int64); ok {
		n.deleted = &d
	}
	return n
}

// scanEdge reads an edge row of selEdges (after its side column).
func scanEdge(r []any) Edge {
	return Edge{ID: r[1].(string), Label: r[2].(string), From: r[3].(string), To: r[4].(string), CreatedAt: msTime(r[5].(int64))}
}

// node decodes the row into a Node (without edges).
func (n *nodeRow) node() (*Node, error) {
	fields, err := docFields(n.fields)
	if err != nil {
		return nil, err
	}
	node := &Node{ID: n.id, Shapes: strings.Fields(n.shapes), Fields: fields, CreatedAt: msTime(n.created), UpdatedAt: msTime(n.updated)}
	if n.deleted != nil {
		t := msTime(*n.deleted)
		node.DeletedAt = &t
	}
	return node, nil
}

// pageEdges is the live edges of a set of nodes, by owner id.
type pageEdges map[string][]Edge

// add files e under the node whose edge it is (side 1: its from, 2: its to).
func (pe pageEdges) add(side int64, e Edge) {
	owner := e.From
	if side == 2 {
		owner = e.To
	}
	pe[owner] = append(pe[owner], e)
}

// addJSON files the edges of an edgesCol value (a JSON array text).
func (pe pageEdges) addJSON(col any) error {
	text, _ := col.(string)
	if text == "" || text == "[]" {
		return nil
	}
	var es [][6]any
	if err := json.Unmarshal([]byte(text), &es); err != nil {
		return fmt.Errorf("graph: edges of a page row: %w", err)
	}
	for _, e := range es {
		side, _ := e[0].(float64)
		id, _ := e[1].(string)
		label, _ := e[2].(string)
		from, _ := e[3].(string)
		to, _ := e[4].(string)
		at, _ := e[5].(float64)
		pe.add(int64(side), Edge{ID: id, Label: label, From: from, To: to, CreatedAt: msTime(int64(at))})
	}
	return nil
}

// loadNodes reads nodes by id, in the order given (missing ids skipped,
// repeats returned once), with their edges in the same statement.
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
	byKey := make(map[any]*nodeRow, len(keys))
	edges := pageEdges{}
	for rest := keys; len(rest) > 0; {
		n := min(len(rest), maxIn)
		args := padAny(rest[:n])
		rest = rest[n:]
		if err := q.query(s.nodesSQL(col, len(args), withEdges), args, 8, func(r []any) error {
			if side := r[0].(int64); side != 0 {
				edges.add(side, scanEdge(r[1:]))
				return nil
			}
			row := scanNode(r[1:])
			if col == "id" {
				byKey[row.id] = &row
			} else {
				byKey[row.seq] = &row
			}
			return nil
		}); err != nil {
			return nil, nil, err
		}
	}
	nodes := make([]*Node, 0, len(byKey))
	seqs := make([]int64, 0, len(byKey))
	for _, k := range keys {
		row, ok := byKey[k]
		if !ok {
			continue
		}
		delete(byKey, k) // a repeated key is returned once
		node, err := row.node()
		if err != nil {
			return nil, nil, err
		}
		node.Edges = liveEdges(row, edges)
		nodes = append(nodes, node)
		seqs = append(seqs, row.seq)
	}
	return nodes, seqs, nil
}

// liveEdges is the edges of row as a read shows them: none for a deleted
// node (its edges are hidden, from either side), the rest ordered by id.
func liveEdges(row *nodeRow, edges pageEdges) []Edge {
	if row.deleted != nil {
		return nil
	}
	es := edges[row.id]
	if len(es) > 1 {
		slices.SortFunc(es, func(a, b Edge) int { return strings.Compare(a.ID, b.ID) })
	}
	return es
}

// numbered returns "?1,?2,…,?n".
func numbered(n int) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		if i > 1 {
			b.WriteByte(',')
		}
		b.WriteByte('?')
		b.WriteString(strconv.Itoa(i))
	}
	return b.String()
}

// nodesSQL is the node (and edge) query for n keys of col, as ?1…?n.
func (s *Store) nodesSQL(col string, n int, withEdges bool) string {
	k := textKey{tmpl: "nodes:" + col + ":" + strconv.FormatBool(withEdges), n: n}
	if text, ok := s.texts.Load(k); ok {
		return text.(string)
	}
	list := numbered(n)
	text := selNodes + col + " IN (" + list + ")"
	if withEdges {
		idSet := list
		if col != "id" {
			idSet = "SELECT id FROM nodes WHERE " + col + " IN (" + list + ")"
		}
		text += " UNION ALL " + fmt.Sprintf(selEdges, idSet)
	}
	s.texts.Store(k, text)
	return text
}

// edgesSQL is the edge query of n node ids, as ?1…?n.
func (s *Store) edgesSQL(n int) string {
	k := textKey{tmpl: "edges", n: n}
	if text, ok := s.texts.Load(k); ok {
		return text.(string)
	}
	text := fmt.Sprintf(selEdges, numbered(n))
	s.texts.Store(k, text)
	return text
}

// loadEdges reads the live edges of the nodes ids (ids of live nodes).
func (s *Store) loadEdges(q querier, ids []string) (pageEdges, error) {
	edges := pageEdges{}
	for rest := ids; len(rest) > 0; {
		n := min(len(rest), maxIn)
		args := padIDs(rest[:n])
		rest = rest[n:]
		if err := q.query(s.edgesSQL(len(args)), args, 8, func(r []any) error {
			edges.add(r[0].(int64), scanEdge(r[1:]))
			return nil
		}); err != nil {
			return nil, err
		}
	}
	return edges, nil
}

// GetJSON is Get's answer as JSON, written straight from the row (see
// wirejson.go): the same bytes json.Marshal of Get's node gives.
func (s *Store) GetJSON(ctx context.Context, id string) (json.RawMessage, error) {
	if err := checkID("node", id); err != nil {
		return nil, err
	}
	var row *nodeRow
	edges := pageEdges{}
	if err := s.reader(pointCtx(ctx)).query(s.nodesSQL("id", 1, true), []any{id}, 8, func(r []any) error {
		if side := r[0].(int64); side != 0 {
			edges.add(side, scanEdge(r[1:]))
			return nil
		}
		n := scanNode(r[1:])
		row = &n
		return nil
	}); err != nil {
		return nil, err
	}
	if row == nil {
		return nil, notFound("node", id)
	}
	return appendNodeJSON(nil, row, liveEdges(row, edges))
}
