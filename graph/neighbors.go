package graph

import (
	"context"
)

// Neighborhood is the subgraph around a node: its nodes (the start first,
// then in discovery order, without their own edge lists) and the edges
// walked.
type Neighborhood struct {
	Nodes []*Node `json:"nodes"`
	Edges []Edge  `json:"edges"`
}

const maxDepth = 5

// Neighbors walks live edges from id breadth-first: direction "out", "in"
// or "both" (default), only edges labelled label when it is not empty, up
// to depth hops (default 1, at most 5). Deleted nodes and their edges are
// not walked.
func (s *Store) Neighbors(ctx context.Context, id, label, direction string, depth int) (*Neighborhood, error) {
	switch direction {
	case "":
		direction = "both"
	case "out", "in", "both":
	default:
		return nil, errorf(ErrInvalid, "direction %q: use out, in or both", direction)
	}
	switch {
	case depth < 0 || depth > maxDepth:
		return nil, errorf(ErrInvalid, "depth %d: use 1 to %d", depth, maxDepth)
	case depth == 0:
		depth = 1
	}
	if err := checkID("node", id); err != nil {
		return nil, err
	}
	rq := s.reader(ctx)
	start, err := s.loadNodes(rq, []string{id}, false)
	if err != nil {
		return nil, err
	}
	if len(start) == 0 {
		return nil, notFound("node", id)
	}
	out := &Neighborhood{Nodes: start, Edges: []Edge{}}
	if start[0].DeletedAt != nil {
		return out, nil
	}
	seen := map[string]bool{id: true}
	seenEdge := map[string]bool{}
	order := []string{}
	frontier := []string{id}
	for hop := 0; hop < depth && len(frontier) > 0; hop++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var next []string
		visit := func(r []any) error {
			e := Edge{ID: r[0].(string), Label: r[1].(string), From: r[2].(string), To: r[3].(string), CreatedAt: msTime(r[4].(int64))}
			if seenEdge[e.ID] {
				return nil
			}
			seenEdge[e.ID] = true
			out.Edges = append(out.Edges, e)
			for _, n := range []string{e.From, e.To} {
				if !seen[n] {
					seen[n] = true
					next = append(next, n)
					order = append(order, n)
				}
			}
			return nil
		}
		err := chunks(frontier, func(part []string) error {
			args := padIDs(part)
			labelCond := ""
			if label != "" {
				labelCond = " AND e.label = ?"
			}
			if direction != "in" {
				a := append([]any{}, args...)
				if label != "" {
					a = append(a, label)
				}
				if err := rq.query(s.inSQL(`SELECT e.id, e.label, e.from_id, e.to_id, e.created_at FROM edges e JOIN nodes t ON t.id = e.to_id
					WHERE e.from_id IN (%s) AND e.deleted_at IS NULL AND t.deleted_at IS NULL`+labelCond+` ORDER BY e.id`, len(args)), a, 5, visit); err != nil {
					return err
				}
			}
			if direction != "out" {
				a := append([]any{}, args...)
				if label != "" {
					a = append(a, label)
				}
				if err := rq.query(s.inSQL(`SELECT e.id, e.label, e.from_id, e.to_id, e.created_at FROM edges e JOIN nodes f ON f.id = e.from_id
					WHERE e.to_id IN (%s) AND e.deleted_at IS NULL AND f.deleted_at IS NULL`+labelCond+` ORDER BY e.id`, len(args)), a, 5, visit); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		frontier = next
	}
	rest, err := s.loadNodes(rq, order, false)
	if err != nil {
		return nil, err
	}
	out.Nodes = append(out.Nodes, rest...)
	return out, nil
}
