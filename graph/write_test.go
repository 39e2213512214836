package graph

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/agentos/agentos/shapes"
)

// strictShapes adds a strict shape for rejection tests.
const strictYAML = `gadget:
  strict: true
  identity: [serial]
  fields:
    serial: string
    weight: number
`

func TestIdentityUpsertMergesIntoSameNode(t *testing.T) {
	s := openTest(t, nil, Options{})
	ctx := context.Background()
	first, err := s.Create(ctx, "webpage", map[string]any{"url": "https://example.com/a", "name": "A", "site": "example"}, nil)
	ok(t, err)
	second, err := s.Create(ctx, "webpage", map[string]any{"url": "https://example.com/a", "name": "A (renamed)", "author": "kim"}, nil)
	ok(t, err)
	if second.ID != first.ID {
		t.Fatalf("same url made a second node: %s vs %s", second.ID, first.ID)
	}
	want := map[string]any{"url": "https://example.com/a", "name": "A (renamed)", "site": "example", "author": "kim"}
	for k, v := range want {
		if second.Fields[k] != v {
			t.Errorf("field %s = %#v, want %#v (fields %v)", k, second.Fields[k], v, second.Fields)
		}
	}
	res, err := s.Write(ctx, "webpage", []map[string]any{
		{"url": "https://example.com/a", "language": "en"},
		{"url": "https://example.com/b", "name": "B"},
		{"url": "https://example.com/b", "name": "B again"}, // same identity twice in one batch
	})
	ok(t, err)
	if res.IDs[0] != first.ID || res.IDs[1] != res.IDs[2] || res.IDs[1] == first.ID {
		t.Fatalf("batch ids %v, first %s", res.IDs, first.ID)
	}
	if res.Created != 1 || res.Updated != 2 {
		t.Errorf("created %d updated %d, want 1 and 2", res.Created, res.Updated)
	}
	b, err := s.Get(ctx, res.IDs[1])
	ok(t, err)
	if b.Fields["name"] != "B again" {
		t.Errorf("last writer should win in a batch: name = %v", b.Fields["name"])
	}
	c, err := s.Counts(ctx)
	ok(t, err)
	if c.ByShape["webpage"] != 2 {
		t.Errorf("webpages = %d, want 2", c.ByShape["webpage"])
	}
}

func TestIdentityAnyTriesKeysInOrder(t *testing.T) {
	ctx := context.Background()
	reg := defaultShapes(t, nil)
	cases := []struct {
		name   string
		fields map[string]any
		want   string // "email", "url" or "new"
	}{
		{"email matches first even when url names another node", map[string]any{"email": "ann@example.com", "url": "https://bob.example.com"}, "email"},
		{"url alone", map[string]any{"url": "https://bob.example.com"}, "url"},
		{"unknown email falls through to url", map[string]any{"email": "who@example.com", "url": "https://bob.example.com"}, "url"},
		{"neither matches", map[string]any{"email": "new@example.com"}, "new"},
		{"no identity key at all", map[string]any{"name": "Nobody"}, "new"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := openTest(t, reg, Options{})
			byEmail, err := s.Create(ctx, "person", map[string]any{"name": "Ann", "email": "ann@example.com"}, nil)
			ok(t, err)
			byURL, err := s.Create(ctx, "person", map[string]any{"name": "Bob", "url": "https://bob.example.com"}, nil)
			ok(t, err)
			n, err := s.Create(ctx, "person", tc.fields, nil)
			ok(t, err)
			switch tc.want {
			case "email":
				if n.ID != byEmail.ID {
					t.Fatalf("got %s, want the email match %s", n.ID, byEmail.ID)
				}
			case "url":
				if n.ID != byURL.ID {
					t.Fatalf("got %s, want the url match %s", n.ID, byURL.ID)
				}
			default:
				if n.ID == byEmail.ID || n.ID == byURL.ID {
					t.Fatalf("expected a new node, merged into %s", n.ID)
				}
			}
		})
	}
}

func TestNoIdentityOrMissingIdentityValuesAlwaysCreates(t *testing.T) {
	s := openTest(t, nil, Options{})
	ctx := context.Background()
	for _, tc := range []struct{ shape, field string }{
		{"item", "name"},  // no identity at all
		{"task", "title"}, // identity [title, project]: project missing
		{"note", "title"}, // identity_any [path, url]: both missing
	} {
		a, err := s.Create(ctx, tc.shape, map[string]any{tc.field: "same"}, nil)
		ok(t, err)
		b, err := s.Create(ctx, tc.shape, map[string]any{tc.field: "same"}, nil)
		ok(t, err)
		if a.ID == b.ID {
			t.Errorf("%s: two creates without a full identity merged into %s", tc.shape, a.ID)
		}
	}
}

func TestCoercionWarningsSurfaceOnNodeAndBatch(t *testing.T) {
	s := openTest(t, nil, Options{})
	ctx := context.Background()
	n, err := s.Create(ctx, "task", map[string]any{"title": "t", "priority": "high", "colour": "red"}, nil)
	ok(t, err)
	if len(n.Warnings) != 2 {
		t.Fatalf("warnings = %q, want one for priority and one for the undeclared key", n.Warnings)
	}
	if n.Fields["priority"] != "high" {
		t.Errorf("a value that cannot be coerced is kept as text: %#v", n.Fields["priority"])
	}
	res, err := s.Write(ctx, "task", []map[string]any{{"title": "ok", "priority": 2}, {"title": "bad", "done": "maybe"}})
	ok(t, err)
	if len(res.Warnings) != 1 || res.Warnings[0].Index != 1 || len(res.Warnings[0].Warnings) != 1 {
		t.Fatalf("batch warnings = %+v, want one for item 1", res.Warnings)
	}
	// Warnings of nested relation objects come back on the parent item.
	n, err = s.Create(ctx, "task", map[string]any{"title": "nested", "project": map[string]any{"name": "P", "status": "sleeping"}}, nil)
	ok(t, err)
	if len(n.Warnings) != 1 || !strings.HasPrefix(n.Warnings[0], "project: ") {
		t.Fatalf("nested warnings = %q", n.Warnings)
	}
}

func TestStrictShapeRejectsAndBatchIsAllOrNothing(t *testing.T) {
	reg := defaultShapes(t, map[string]string{"gadget.yaml": strictYAML})
	s := openTest(t, reg, Options{})
	ctx := context.Background()
	_, err := s.Create(ctx, "gadget", map[string]any{"serial": "g1", "weight": "heavy"}, nil)
	if !errors.Is(err, ErrInvalid) || !errors.Is(err, shapes.ErrInvalid) {
		t.Fatalf("strict shape accepted a bad value or error lost its kind: %v", err)
	}
	_, err = s.Write(ctx, "gadget", []map[string]any{
		{"serial": "g1", "weight": 1.5},
		{"serial": "g2", "weight": 2},
		{"serial": "g3", "weight": "heavy"},
	})
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "items[2]") {
		t.Fatalf("want an invalid error naming items[2], got %v", err)
	}
	c, err := s.Counts(ctx)
	ok(t, err)
	if c.Nodes != 0 {
		t.Fatalf("a failed batch left %d nodes behind", c.Nodes)
	}
	// A relation to a missing node also fails the whole batch.
	_, err = s.Write(ctx, "task", []map[string]any{{"title": "a"}, {"title": "b", "project": "01JAAAAAAAAAAAAAAAAAAAAAAA"}})
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("relation to a missing node: %v", err)
	}
	if c, _ := s.Counts(ctx); c.Nodes != 0 {
		t.Fatalf("failed batch left %d nodes", c.Nodes)
	}
}

func TestUnknownShapeIsInvalidWithSuggestion(t *testing.T) {
	s := openTest(t, nil, Options{})
	ctx := context.Background()
	_, err := s.Create(ctx, "tasks", map[string]any{"title": "x"}, nil)
	if !errors.Is(err, ErrInvalid) || !errors.Is(err, shapes.ErrUnknownShape) || !strings.Contains(err.Error(), "task") {
		t.Fatalf("unknown shape: %v", err)
	}
	_, err = s.Query(ctx, Query{Shape: "taks"})
	if !errors.Is(err, shapes.ErrUnknownShape) {
		t.Fatalf("query of unknown shape: %v", err)
	}
}

func TestRelationObjectsBecomeChildNodesAndAreReused(t *testing.T) {
	s := openTest(t, nil, Options{})
	ctx := context.Background()
	t1, err := s.Create(ctx, "task", map[string]any{"title": "write", "project": map[string]any{"name": "X"}}, nil)
	ok(t, err)
	if len(t1.Edges) != 1 || t1.Edges[0].Label != "project" || t1.Edges[0].From != t1.ID {
		t.Fatalf("edges = %+v", t1.Edges)
	}
	projectID := t1.Edges[0].To
	p, err := s.Get(ctx, projectID)
	ok(t, err)
	if p.Fields["name"] != "X" || p.Shapes[0] != "project" {
		t.Fatalf("child node = %+v", p)
	}
	// relations given separately, and a second task in the same project.
	t2, err := s.Create(ctx, "task", map[string]any{"title": "test"}, map[string]any{"project": map[string]any{"name": "X"}})
	ok(t, err)
	if t2.Edges[0].To != projectID {
		t.Fatalf("second task linked to %s, want the existing project %s", t2.Edges[0].To, projectID)
	}
	// identity [title, project]: same title and project → same task.
	again, err := s.Create(ctx, "task", map[string]any{"title": "write", "done": true, "project": map[string]any{"name": "X"}}, nil)
	ok(t, err)
	if again.ID != t1.ID || again.Fields["done"] != true || len(again.Edges) != 1 {
		t.Fatalf("task with same identity: %+v (want %s with one edge)", again, t1.ID)
	}
	// same title, other project → another task.
	other, err := s.Create(ctx, "task", map[string]any{"title": "write", "project": map[string]any{"name": "Y"}}, nil)
	ok(t, err)
	if other.ID == t1.ID {
		t.Fatal("same title in another project merged")
	}
	// a node id as relation value; the project by id also matches identity.
	byID, err := s.Create(ctx, "task", map[string]any{"title": "write", "project": projectID}, nil)
	ok(t, err)
	if byID.ID != t1.ID {
		t.Fatalf("project given by id: %s, want %s", byID.ID, t1.ID)
	}
	// batch: many tasks, one new project shared.
	res, err := s.Write(ctx, "task", []map[string]any{
		{"title": "a", "project": map[string]any{"name": "Z"}},
		{"title": "b", "project": map[string]any{"name": "Z"}},
		{"title": "c", "assignees": []any{map[string]any{"email": "x@example.com"}, map[string]any{"email": "x@example.com", "name": "X"}}},
	})
	ok(t, err)
	a, _ := s.Get(ctx, res.IDs[0])
	b, _ := s.Get(ctx, res.IDs[1])
	if a.Edges[0].To != b.Edges[0].To {
		t.Fatalf("one batch made two Z projects: %s %s", a.Edges[0].To, b.Edges[0].To)
	}
	c, _ := s.Get(ctx, res.IDs[2])
	if len(c.Edges) != 1 {
		t.Fatalf("two assignees with one email should be one person and one edge: %+v", c.Edges)
	}
	counts, err := s.Counts(ctx)
	ok(t, err)
	if counts.ByShape["project"] != 3 || counts.ByShape["person"] != 1 {
		t.Fatalf("counts %+v", counts.ByShape)
	}
	if _, err := s.Create(ctx, "task", map[string]any{"title": "x"}, map[string]any{"title": "nope"}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("non-relation key in relations: %v", err)
	}
}

func TestUpdateMergesUnsetsAndLinks(t *testing.T) {
	s := openTest(t, nil, Options{})
	ctx := context.Background()
	n, err := s.Create(ctx, "task", map[string]any{"title": "t", "priority": 1, "tags": []any{"a"}}, nil)
	ok(t, err)
	u, err := s.Update(ctx, n.ID, map[string]any{"priority": "5", "tags": nil, "status": "doing", "project": map[string]any{"name": "P"}})
	ok(t, err)
	if u.Fields["priority"] != int64(5) || u.Fields["status"] != "doing" || u.Fields["title"] != "t" {
		t.Fatalf("fields after update: %#v", u.Fields)
	}
	if _, has := u.Fields["tags"]; has {
		t.Fatalf("null should delete tags: %#v", u.Fields)
	}
	if len(u.Edges) != 1 || u.Edges[0].Label != "project" {
		t.Fatalf("relation key should add an edge: %+v", u.Edges)
	}
	// Queries see the new values and not the old ones.
	page, err := s.Query(ctx, Query{Shape: "task", Where: map[string]any{"priority": 5}})
	ok(t, err)
	if len(page.Nodes) != 1 {
		t.Fatalf("query by new value: %d nodes", len(page.Nodes))
	}
	page, err = s.Query(ctx, Query{Shape: "task", Where: map[string]any{"priority": 1}})
	ok(t, err)
	if len(page.Nodes) != 0 {
		t.Fatalf("query by old value still finds %d nodes", len(page.Nodes))
	}
	if _, err := s.Update(ctx, "01JAAAAAAAAAAAAAAAAAAAAAAA", map[string]any{"title": "x"}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("update of missing node: %v", err)
	}
	// null on a relation key unlinks it.
	u, err = s.Update(ctx, n.ID, map[string]any{"project": nil})
	ok(t, err)
	if len(u.Edges) != 0 {
		t.Fatalf("project: null should unlink: %+v", u.Edges)
	}
}

// WriteEach writes the items it can and reports the others by their place
// in the batch, with what is wrong: one that does not fit the shape, one
// whose relation names no node, one null; the rest are stored.
func TestWriteEachWritesWhatItCan(t *testing.T) {
	s := openTest(t, defaultShapes(t, map[string]string{"invoice.yaml": "invoice:\n  strict: true\n  identity: [title]\n  fields:\n    title: string\n    amount: integer\n  relations:\n    customer: person\n"}), Options{})
	ctx := context.Background()
	res, failed, err := s.WriteEach(ctx, "invoice", []map[string]any{
		{"title": "first", "amount": 1},
		{"title": "bad amount", "amount": "nope"},
		{"title": "third", "customer": "01ARZ3NDEKTSV4RRFFQ69G5FAV"},
		nil,
		{"title": "fifth", "amount": 5},
	})
	ok(t, err)
	if len(failed) != 3 || failed[0].Index != 1 || failed[1].Index != 2 || failed[2].Index != 3 {
		t.Fatalf("failures %+v", failed)
	}
	for _, f := range failed {
		if !errors.Is(f.Err, ErrInvalid) && !errors.Is(f.Err, ErrNotFound) {
			t.Errorf("item %d: %v is neither invalid nor not found", f.Index, f.Err)
		}
		if want := fmt.Sprintf("items[%d]", f.Index); !strings.HasPrefix(f.Err.Error(), want) {
			t.Errorf("item %d's error does not say where it is: %v", f.Index, f.Err)
		}
	}
	if !errors.Is(failed[1].Err, ErrNotFound) || !strings.Contains(failed[0].Err.Error(), "amount") {
		t.Errorf("a relation to no node: %v", failed[1].Err)
	}
	if len(res.IDs) != 5 || res.IDs[0] == "" || res.IDs[4] == "" || res.IDs[1] != "" || res.IDs[2] != "" || res.Created != 2 {
		t.Fatalf("result %+v", res)
	}
	for _, i := range []int{0, 4} {
		n, err := s.Get(ctx, res.IDs[i])
		ok(t, err)
		if n.Fields["title"] != map[int]string{0: "first", 4: "fifth"}[i] {
			t.Errorf("item %d stored as %+v", i, n.Fields)
		}
	}
	// Write is still all or nothing.
	if _, err := s.Write(ctx, "invoice", []map[string]any{{"title": "x"}, {"title": "y", "amount": "nope"}}); err == nil {
		t.Fatal("Write stored a batch with a bad item")
	}
	var page *Page
	page, err = s.Query(ctx, Query{Shape: "invoice", Where: map[string]any{"title": "x"}})
	ok(t, err)
	if len(page.Nodes) != 0 {
		t.Error("Write stored part of a refused batch")
	}
}
