package graph

import (
	"context"
	"sort"
)

// LinkCount is how many live edges of one label go from nodes of one shape
// to nodes of another (primary shapes).
type LinkCount struct {
	From  string `json:"from"`
	Label string `json:"label"`
	To    string `json:"to"`
	Count int64  `json:"count"`
}

// PrimaryShapeCounts reads the live nodes' counts by primary shape, which
// triggers keep (migration 0004): one row a shape.
func (s *Store) PrimaryShapeCounts(ctx context.Context) (map[string]int64, error) {
	out := map[string]int64{}
	if err := s.reader(ctx).query("SELECT shape, n FROM shape_counts WHERE n > 0", nil, 2, func(r []any) error {
		out[r[0].(string)] = r[1].(int64)
		return nil
	}); err != nil {
		return nil, err
	}
	return out, nil
}

// LinkCounts reads the live edges' counts by (shape, label, shape), which
// triggers keep as the graph changes (migration 0004): a few rows, whatever
// the graph's size. Most first.
func (s *Store) LinkCounts(ctx context.Context) ([]LinkCount, error) {
	out := []LinkCount{}
	if err := s.reader(ctx).query("SELECT from_shape, label, to_shape, n FROM link_counts WHERE n > 0", nil, 4, func(r []any) error {
		out = append(out, LinkCount{From: r[0].(string), Label: r[1].(string), To: r[2].(string), Count: r[3].(int64)})
		return nil
	}); err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		a, b := out[i], out[j]
		return a.From+"\x00"+a.Label+"\x00"+a.To < b.From+"\x00"+b.Label+"\x00"+b.To
	})
	return out, nil
}
