package graph

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func seedTasks(t *testing.T, s *Store, n int) []string {
	t.Helper()
	items := make([]map[string]any, n)
	for i := range items {
		items[i] = map[string]any{"title": fmt.Sprintf("task %03d", i), "priority": int64(i % 5), "done": i%2 == 0, "tags": []any{"t" + fmt.Sprint(i%3), "all"}}
		if i%7 == 0 {
			delete(items[i], "priority") // some nodes lack the order field
		}
	}
	res, err := s.Write(context.Background(), "task", items)
	ok(t, err)
	return res.IDs
}

// pageAll follows cursors to the end and returns the ids in page order.
func pageAll(t *testing.T, s *Store, q Query, between func()) []string {
	t.Helper()
	var ids []string
	for pages := 0; ; pages++ {
		if pages > 1000 {
			t.Fatal("pagination does not end")
		}
		page, err := s.Query(context.Background(), q)
		ok(t, err)
		for _, n := range page.Nodes {
			ids = append(ids, n.ID)
		}
		if page.Cursor == "" {
			return ids
		}
		if len(page.Nodes) == 0 {
			t.Fatal("empty page with a cursor")
		}
		q.Cursor = page.Cursor
		if between != nil {
			between()
		}
	}
}

func TestCursorPaginationReturnsEveryNodeOnce(t *testing.T) {
	s := openTest(t, nil, Options{})
	ctx := context.Background()
	ids := seedTasks(t, s, 250)
	inserted := 0
	insert := func() { // concurrent inserts between pages must not disturb the walk
		inserted++
		_, err := s.Create(ctx, "task", map[string]any{"title": fmt.Sprintf("late %d", inserted), "priority": 3, "done": true}, nil)
		ok(t, err)
	}
	for _, tc := range []struct {
		order   string
		where   map[string]any
		between func()
		want    int // minimum count (late inserts may or may not be seen)
	}{
		{"", nil, nil, 250},
		{"", nil, insert, 250},
		{"-created_at", nil, nil, 250},
		{"priority", nil, nil, 250},
		{"-priority", nil, insert, 250},
		{"title", nil, nil, 250},
		{"updated_at", nil, nil, 250},
		{"-updated_at", nil, nil, 250},
		{"", map[string]any{"done": true}, insert, 125},
		{"-title", map[string]any{"tags": "all"}, nil, 250},
	} {
		t.Run(fmt.Sprintf("order=%q where=%v", tc.order, tc.where), func(t *testing.T) {
			got := pageAll(t, s, Query{Shape: "task", Order: tc.order, Where: tc.where, Limit: 17}, tc.between)
			seen := map[string]bool{}
			for _, id := range got {
				if seen[id] {
					t.Fatalf("node %s returned twice", id)
				}
				seen[id] = true
			}
			for _, id := range ids {
				if tc.where == nil && !seen[id] {
					t.Fatalf("node %s never returned", id)
				}
			}
			if len(got) < tc.want {
				t.Fatalf("got %d nodes, want at least %d", len(got), tc.want)
			}
		})
	}
}

func TestQueryOrdersAndFilters(t *testing.T) {
	s := openTest(t, nil, Options{})
	ctx := context.Background()
	seedTasks(t, s, 30)
	page, err := s.Query(ctx, Query{Shape: "task", Order: "-priority", Limit: 1000})
	ok(t, err)
	prev := int64(1 << 62)
	nullsSeen := false
	for _, n := range page.Nodes {
		p, has := n.Fields["priority"].(int64)
		if !has {
			nullsSeen = true
			continue
		}
		if nullsSeen {
			t.Fatal("descending order puts nodes without the field last")
		}
		if p > prev {
			t.Fatalf("not descending: %d after %d", p, prev)
		}
		prev = p
	}
	page, err = s.Query(ctx, Query{Shape: "task", Where: map[string]any{"done": "yes", "priority": "2"}})
	ok(t, err)
	for _, n := range page.Nodes {
		if n.Fields["done"] != true || n.Fields["priority"] != int64(2) {
			t.Fatalf("where not applied: %v", n.Fields)
		}
	}
	if len(page.Nodes) == 0 {
		t.Fatal("where matched nothing")
	}
	page, err = s.Query(ctx, Query{Shape: "task", Where: map[string]any{"priority": nil}})
	ok(t, err)
	if len(page.Nodes) != 5 { // i%7==0 for i<30
		t.Fatalf("priority: null matched %d nodes, want 5", len(page.Nodes))
	}
	// Shape membership through `also`: tasks are items.
	page, err = s.Query(ctx, Query{Shape: "item", Limit: 5})
	ok(t, err)
	if len(page.Nodes) != 5 || page.Cursor == "" {
		t.Fatalf("items: %d nodes, cursor %q", len(page.Nodes), page.Cursor)
	}
	for _, bad := range []Query{
		{},
		{Shape: "task", Order: "-"},
		{Shape: "task", Cursor: "garbage"},
		{Shape: "task", Cursor: page.Cursor, Order: "priority"}, // cursor of another order
		{Shape: "task", Where: map[string]any{"priority": "high"}},
		{Shape: "task", Limit: -1},
	} {
		if _, err := s.Query(ctx, bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("Query(%+v) = %v, want ErrInvalid", bad, err)
		}
	}
}

func TestQueryByRelation(t *testing.T) {
	s := openTest(t, nil, Options{})
	ctx := context.Background()
	res, err := s.Write(ctx, "task", []map[string]any{
		{"title": "a", "project": map[string]any{"name": "P"}},
		{"title": "b", "project": map[string]any{"name": "P"}},
		{"title": "c", "project": map[string]any{"name": "Q"}},
		{"title": "d"},
	})
	ok(t, err)
	a, err := s.Get(ctx, res.IDs[0])
	ok(t, err)
	p := a.Edges[0].To
	page, err := s.Query(ctx, Query{Shape: "task", Where: map[string]any{"project": p}})
	ok(t, err)
	if len(page.Nodes) != 2 {
		t.Fatalf("tasks in P: %d", len(page.Nodes))
	}
	page, err = s.Query(ctx, Query{Shape: "task", Where: map[string]any{"project": p, "title": "b"}})
	ok(t, err)
	if len(page.Nodes) != 1 || page.Nodes[0].ID != res.IDs[1] {
		t.Fatalf("title b in P: %+v", page.Nodes)
	}
	page, err = s.Query(ctx, Query{Shape: "task", Where: map[string]any{"project": nil}})
	ok(t, err)
	if len(page.Nodes) != 1 || page.Nodes[0].ID != res.IDs[3] {
		t.Fatalf("tasks without project: %+v", page.Nodes)
	}
	if len(page.Nodes[0].Edges) != 0 {
		t.Fatalf("task d has edges: %+v", page.Nodes[0].Edges)
	}
	page, err = s.Query(ctx, Query{Shape: "task", Where: map[string]any{"project": p}})
	ok(t, err)
	if len(page.Nodes[0].Edges) != 1 {
		t.Fatalf("a page carries each node's edges: %+v", page.Nodes[0])
	}
	page, err = s.Query(ctx, Query{Shape: "task", Where: map[string]any{"project": p}, OmitEdges: true})
	ok(t, err)
	if len(page.Nodes) != 2 || page.Nodes[0].Edges != nil || page.Nodes[0].Fields["title"] != "a" {
		t.Fatalf("OmitEdges page: %+v", page.Nodes)
	}
}

// TestWhereQueriesUseIndexes checks the plans: a where-query must search an
// index, never scan nodes or vals.
func TestWhereQueriesUseIndexes(t *testing.T) {
	s := openTest(t, nil, Options{})
	seedTasks(t, s, 50)
	reg := s.Shapes()
	sh, _ := reg.Get("task")
	for _, q := range []Query{
		{Shape: "task"},
		{Shape: "task", Where: map[string]any{"title": "task 001"}},
		{Shape: "task", Where: map[string]any{"done": true, "priority": 3}},
		{Shape: "task", Where: map[string]any{"tags": "all"}, Cursor: encodeCursor(cursor{Seq: 10, Query: queryKey(Query{Shape: "task", Where: map[string]any{"tags": "all"}})})},
		{Shape: "task", Where: map[string]any{"project": "01JAAAAAAAAAAAAAAAAAAAAAAA", "done": false}},
		{Shape: "task", Where: map[string]any{"title": "x"}, Order: "-priority"},
	} {
		conds, err := compileWhere(reg, sh, q.Shape, q.Where)
		ok(t, err)
		text, args, _, err := buildQuery(q, conds, 50)
		ok(t, err)
		var plan []string
		ok(t, s.reader(context.Background()).query("EXPLAIN QUERY PLAN "+text, args, 4, func(r []any) error {
			plan = append(plan, fmt.Sprint(r[3]))
			return nil
		}))
		joined := strings.Join(plan, " | ")
		for _, line := range plan {
			// SCAN le reads a row's own edges from the subquery of
			// edgesCol, each found through an index.
			if strings.HasPrefix(line, "SCAN") && !strings.Contains(line, "CONSTANT ROW") && line != "SCAN le" {
				t.Errorf("where %v scans: %s", q.Where, joined)
			}
		}
		// Only a relation-driven query (edges index, id order) sorts its
		// matches, which are bounded by the target's fan-in.
		if q.Order == "" && strings.Contains(joined, "TEMP B-TREE") && !strings.Contains(joined, "edges_live_in") {
			t.Errorf("default order needs a sort: %s", joined)
		}
		t.Logf("%v: %s", q.Where, joined)
	}
	// Identity prefetch and node reads too.
	for _, text := range []string{
		s.inSQL(`SELECT v.owner FROM vals v WHERE v.key = ? AND v.value IN (%s) AND v.owner > 0
			AND EXISTS (SELECT 1 FROM node_shapes s WHERE s.shape = ? AND s.node = v.owner)
			AND EXISTS (SELECT 1 FROM nodes n WHERE n.seq = v.owner AND n.deleted_at IS NULL)`, 4),
	} {
		var plan []string
		args := []any{"title", "a", "b", "c", "d", "task"}
		ok(t, s.reader(context.Background()).query("EXPLAIN QUERY PLAN "+text, args, 4, func(r []any) error {
			plan = append(plan, fmt.Sprint(r[3]))
			return nil
		}))
		for _, line := range plan {
			if strings.HasPrefix(line, "SCAN") {
				t.Errorf("identity lookup scans: %s", strings.Join(plan, " | "))
			}
		}
	}
	text, args := s.nodesSQL("id", 1, true), []any{"01JAAAAAAAAAAAAAAAAAAAAAAA"}
	var plan []string
	ok(t, s.reader(context.Background()).query("EXPLAIN QUERY PLAN "+text, args, 4, func(r []any) error {
		plan = append(plan, fmt.Sprint(r[3]))
		return nil
	}))
	for _, line := range plan {
		if strings.HasPrefix(line, "SCAN") {
			t.Errorf("node read scans: %s", strings.Join(plan, " | "))
		}
	}
}

func TestLongValuesStayFindableWithABoundedIndex(t *testing.T) {
	s := openTest(t, nil, Options{})
	ctx := context.Background()
	long := strings.Repeat("ünïcode text, ", 400) // ~6 KB
	url := "https://example.com/" + strings.Repeat("a", 1000)
	a, err := s.Create(ctx, "webpage", map[string]any{"url": url, "content": long}, nil)
	ok(t, err)
	b, err := s.Create(ctx, "webpage", map[string]any{"url": url, "content": long + "!"}, nil)
	ok(t, err)
	if a.ID != b.ID {
		t.Fatal("identity on a long url did not match")
	}
	_, err = s.Create(ctx, "webpage", map[string]any{"url": url + "b", "content": long}, nil)
	ok(t, err)
	page, err := s.Query(ctx, Query{Shape: "webpage", Where: map[string]any{"content": long}})
	ok(t, err)
	if len(page.Nodes) != 1 {
		t.Fatalf("where on long text: %d nodes, want 1", len(page.Nodes))
	}
	if page.Nodes[0].Fields["content"] != long {
		t.Fatal("long text not returned whole")
	}
	var maxLen int64
	ok(t, s.reader(ctx).query("SELECT max(length(value)) FROM vals", nil, 1, func(r []any) error { maxLen = r[0].(int64); return nil }))
	if maxLen > maxIndexed {
		t.Fatalf("vals holds a %d-character value", maxLen)
	}
}

// A cursor pages the query it came from: with another filter, shape or order
// it is refused rather than skipping or repeating rows.
func TestACursorFromAnotherQueryIsRefused(t *testing.T) {
	s := openTest(t, nil, Options{})
	ctx := context.Background()
	seedTasks(t, s, 30)
	first, err := s.Query(ctx, Query{Shape: "task", Where: map[string]any{"done": true}, Limit: 2})
	ok(t, err)
	if first.Cursor == "" {
		t.Fatal("no cursor on a page with more")
	}
	_, err = s.Query(ctx, Query{Shape: "task", Where: map[string]any{"done": true}, Limit: 2, Cursor: first.Cursor})
	ok(t, err)
	for _, q := range []Query{
		{Shape: "task", Limit: 2},
		{Shape: "task", Where: map[string]any{"done": false}, Limit: 2},
		{Shape: "note", Where: map[string]any{"done": true}, Limit: 2},
		{Shape: "task", Where: map[string]any{"done": true}, Order: "title", Limit: 2},
	} {
		q.Cursor = first.Cursor
		if _, err := s.Query(ctx, q); !errors.Is(err, ErrInvalid) {
			t.Errorf("%+v: %v, want invalid", q, err)
		}
	}
}

// A page in creation order runs detached from its context (no watcher
// goroutines per statement) but still stops when the context ends: before
// it starts, and between rows.
func TestStreamingQueryStopsWhenCancelled(t *testing.T) {
	s := openTest(t, nil, Options{})
	ctx := context.Background()
	_, err := s.Write(ctx, "task", benchItems(0))
	ok(t, err)
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.Query(cancelled, Query{Shape: "task", Limit: 1000}); !errors.Is(err, context.Canceled) {
		t.Fatalf("query with a cancelled context: %v, want context.Canceled", err)
	}
	rows := 0
	stop, cancel := context.WithCancel(ctx)
	defer cancel()
	err = s.streamReader(stop).query("SELECT seq FROM nodes ORDER BY seq", nil, 1, func([]any) error {
		if rows++; rows == 10 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) || rows > 10+outerCheckRows {
		t.Fatalf("cancelled mid-read after %d rows: %v, want context.Canceled within %d rows", rows, err, outerCheckRows)
	}
}

func TestSelectiveQueries(t *testing.T) {
	s := openTest(t, nil, Options{})
	for _, c := range []struct {
		q    Query
		want bool
	}{
		{Query{Shape: "task", Where: map[string]any{"title": "a"}}, true},
		{Query{Shape: "task", Where: map[string]any{"title": "a", "done": true}}, true},
		{Query{Shape: "task", Where: map[string]any{"title": "a"}, Limit: 100}, true},
		{Query{Shape: "task", Where: map[string]any{"title": "a"}, Limit: 101}, false},
		{Query{Shape: "task", Where: map[string]any{"title": "a"}, Order: "-priority"}, false},
		{Query{Shape: "task", Where: map[string]any{"priority": 2}}, false},
		{Query{Shape: "task", Where: map[string]any{"title": nil}}, false},
		{Query{Shape: "task"}, false},
		{Query{Shape: "nosuchshape", Where: map[string]any{"title": "a"}}, false},
	} {
		if got := s.Selective(c.q); got != c.want {
			t.Errorf("Selective(%+v) = %v, want %v", c.q, got, c.want)
		}
	}
}
