package graph

import (
	"context"
	"strings"
)

// Counts are live (non-deleted) totals; an edge counts when it and both its
// ends are live.
type Counts struct {
	Nodes   int64            `json:"nodes"`
	Edges   int64            `json:"edges"`
	ByShape map[string]int64 `json:"by_shape"`
}

// Counts totals the live graph. Nodes and shape counts are all rows less
// the soft-deleted ones (few, and indexed by nodes_dead), which is several
// times cheaper than checking every node's row for deleted_at.
func (s *Store) Counts(ctx context.Context) (*Counts, error) {
	rq := s.reader(ctx)
	c := &Counts{ByShape: map[string]int64{}}
	if err := rq.query("SELECT count(*) FROM nodes", nil, 1, func(r []any) error {
		c.Nodes = r[0].(int64)
		return nil
	}); err != nil {
		return nil, err
	}
	if err := rq.query("SELECT shape, count(*) FROM node_shapes GROUP BY shape", nil, 2, func(r []any) error {
		c.ByShape[r[0].(string)] = r[1].(int64)
		return nil
	}); err != nil {
		return nil, err
	}
	// nodes.shapes copies the node's node_shapes rows.
	if err := rq.query("SELECT shapes FROM nodes WHERE deleted_at IS NOT NULL", nil, 1, func(r []any) error {
		c.Nodes--
		shapes, _ := r[0].(string)
		for _, sh := range strings.Fields(shapes) {
			if c.ByShape[sh]--; c.ByShape[sh] == 0 {
				delete(c.ByShape, sh)
			}
		}
		return nil
	}); err != nil {
		return nil, err
	}
	if err := rq.query(`SELECT count(*) FROM edges e
		JOIN nodes f ON f.id = e.from_id JOIN nodes t ON t.id = e.to_id
		WHERE e.deleted_at IS NULL AND f.deleted_at IS NULL AND t.deleted_at IS NULL`, nil, 1, func(r []any) error {
		c.Edges = r[0].(int64)
		return nil
	}); err != nil {
		return nil, err
	}
	return c, nil
}

// IntegrityCheck runs PRAGMA integrity_check; a healthy database answers "ok".
func (s *Store) IntegrityCheck(ctx context.Context) (string, error) {
	var lines []string
	if err := s.reader(ctx).query("PRAGMA integrity_check", nil, 1, func(r []any) error {
		if str, ok := r[0].(string); ok {
			lines = append(lines, str)
		}
		return nil
	}); err != nil {
		return "", err
	}
	return strings.Join(lines, "\n"), nil
}
