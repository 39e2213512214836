package graph

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// The link counts the triggers keep equal a recount from the edges, after
// a random run of creates, links (self-loops among them), unlinks, node
// deletions and restores.
func TestLinkCountsFollowEveryChange(t *testing.T) {
	s := openTest(t, nil, Options{})
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(7, 15))
	shapesOf := []string{"person", "task", "note", "project"}
	var ids []string
	for i := range 40 {
		n, err := s.Create(ctx, shapesOf[i%len(shapesOf)], map[string]any{"name": fmt.Sprint("n", i), "title": fmt.Sprint("n", i)}, nil)
		ok(t, err)
		ids = append(ids, n.ID)
	}
	labels := []string{"assigned_to", "mentions", "part_of"}
	recount := func() []LinkCount {
		var want []LinkCount
		ok(t, s.reader(ctx).query(`SELECT CASE WHEN instr(f.shapes, ' ') > 0 THEN substr(f.shapes, 1, instr(f.shapes, ' ') - 1) ELSE f.shapes END,
			e.label, CASE WHEN instr(t.shapes, ' ') > 0 THEN substr(t.shapes, 1, instr(t.shapes, ' ') - 1) ELSE t.shapes END, count(*)
			FROM edges e JOIN nodes f ON f.id = e.from_id JOIN nodes t ON t.id = e.to_id
			WHERE e.deleted_at IS NULL AND f.deleted_at IS NULL AND t.deleted_at IS NULL GROUP BY 1, 2, 3`, nil, 4, func(r []any) error {
			want = append(want, LinkCount{r[0].(string), r[1].(string), r[2].(string), r[3].(int64)})
			return nil
		}))
		return want
	}
	sorted := func(l []LinkCount) []LinkCount {
		slices.SortFunc(l, func(a, b LinkCount) int {
			if c := strings.Compare(a.From+a.Label+a.To, b.From+b.Label+b.To); c != 0 {
				return c
			}
			return int(a.Count - b.Count)
		})
		return l
	}
	for step := range 400 {
		a, b := ids[rng.IntN(len(ids))], ids[rng.IntN(len(ids))]
		switch op := rng.IntN(10); {
		case op < 5:
			_, _ = s.Link(ctx, a, labels[rng.IntN(len(labels))], b) // a self-loop when a == b
		case op < 7:
			_ = s.Unlink(ctx, a, labels[rng.IntN(len(labels))], b)
		case op < 8:
			_, _ = s.Delete(ctx, a)
		default:
			_, _ = s.Restore(ctx, a)
		}
		if step%50 == 49 {
			got, err := s.LinkCounts(ctx)
			ok(t, err)
			if g, w := sorted(got), sorted(recount()); !slices.Equal(g, w) {
				t.Fatalf("after %d steps: counts %v, recount %v", step+1, g, w)
			}
			byShape, err := s.PrimaryShapeCounts(ctx)
			ok(t, err)
			want := map[string]int64{}
			ok(t, s.reader(ctx).query(`SELECT CASE WHEN instr(shapes, ' ') > 0 THEN substr(shapes, 1, instr(shapes, ' ') - 1) ELSE shapes END, count(*)
				FROM nodes WHERE deleted_at IS NULL GROUP BY 1`, nil, 2, func(r []any) error {
				want[r[0].(string)] = r[1].(int64)
				return nil
			}))
			if fmt.Sprint(byShape) != fmt.Sprint(want) {
				t.Fatalf("after %d steps: shape counts %v, recount %v", step+1, byShape, want)
			}
		}
	}
	if got, _ := s.LinkCounts(ctx); len(got) == 0 {
		t.Fatal("no links were counted at all")
	}
}
