package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"testing"
)

// whereValue reads a fuzzed where value as JSON when it is JSON (as the
// engine decodes it), else as the text it is.
func whereValue(text string) any {
	dec := json.NewDecoder(bytes.NewReader([]byte(text)))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil || dec.More() {
		return text
	}
	return v
}

// renderOrder writes an order back the way a caller spells it.
func renderOrder(o order) string {
	name := o.field
	switch o.kind {
	case orderUpdated:
		name = "updated_at"
	case orderID:
		name = o.text
		if o.desc {
			name = name[1:]
		}
	}
	if o.desc {
		return "-" + name
	}
	return name
}

func FuzzParseOrder(f *testing.F) {
	for _, s := range []string{"", "-", "--", "id", "-id", "created_at", "-created_at", "updated_at", "-updated_at", "title", "-priority", " title", "a b", "-\x00", "\"", "tïtle", "$.x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		o, err := parseOrder(s)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("parseOrder(%q) error is not ErrInvalid: %v", s, err)
			}
			return
		}
		if o.text != s || renderOrder(o) != s {
			t.Fatalf("parseOrder(%q) = %+v, which reads back as %q", s, o, renderOrder(o))
		}
		again, err := parseOrder(renderOrder(o))
		if err != nil || again != o {
			t.Fatalf("parseOrder is not idempotent on %q: %+v then %+v, %v", s, o, again, err)
		}
	})
}

// FuzzQuery: any where, order and cursor over a real store either answers
// a page or fails with ErrInvalid, never with a database error; a page
// holds at most limit distinct nodes of the shape, and its cursor leads to
// a page that does not repeat it.
func FuzzQuery(f *testing.F) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(f.TempDir(), "agentos.db"), defaultShapes(f, nil), Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	proj, err := s.Create(ctx, "project", map[string]any{"name": "P"}, nil)
	if err != nil {
		f.Fatal(err)
	}
	if _, err := s.Write(ctx, "task", []map[string]any{
		{"title": "a", "priority": 1, "tags": []any{"x", "y"}, "project": proj.ID},
		{"title": "b", "priority": 2.5, "done": true, "due": "2025-01-02"},
		{"title": "c", "extra": map[string]any{"k": []any{1, "two"}}},
		{"title": "d", "priority": 1, "status": "todo", "tags": "x"},
		{"title": "e"},
	}); err != nil {
		f.Fatal(err)
	}
	gone, err := s.Create(ctx, "task", map[string]any{"title": "f"}, nil)
	if err != nil {
		f.Fatal(err)
	}
	if _, err := s.Delete(ctx, gone.ID); err != nil {
		f.Fatal(err)
	}
	for _, seed := range []struct {
		shape, key, value, order string
		limit                    int
		deleted                  bool
	}{
		{"task", "", "", "", 2, false},
		{"task", "priority", "1", "-title", 1, false},
		{"task", "tags", `"x"`, "priority", 1, true},
		{"item", "project", `"` + proj.ID + `"`, "-updated_at", 1, false},
		{"task", "done", "null", "extra", 2, false},
		{"task", "title", `{"a": 1}`, "-due", 3, true},
		{"task", "status", "TODO", "-", 0, false},
		{"task", "priority", "1e400", "created_at", -1, false},
		{"nope", "x", "1", "x\"y", 1, false},
		{"task", "a.b", "[1, [2]]", "$.title", 5000, false},
	} {
		f.Add(seed.shape, seed.key, seed.value, seed.order, seed.limit, seed.deleted, "")
	}
	for _, c := range []cursor{{Order: "title", Kind: "s", S: "b", Seq: 2}, {Order: "-priority", Kind: "f", F: 1.5, Seq: 3}, {Order: "", Seq: 1 << 62}, {Order: "updated_at", Kind: "n", Seq: 1}} {
		f.Add("task", "", "", c.Order, 1, false, encodeCursor(c))
	}
	f.Add("task", "", "", "", 1, false, "!!not base64")
	f.Fuzz(func(t *testing.T, shape, key, value, order string, limit int, deleted bool, after string) {
		q := Query{Shape: shape, Order: order, Limit: limit, IncludeDeleted: deleted, Cursor: after}
		if key != "" {
			q.Where = map[string]any{key: whereValue(value)}
		}
		seen := map[string]bool{}
		for pages := 0; pages < 10; pages++ {
			page, err := s.Query(ctx, q)
			if err != nil {
				if !errors.Is(err, ErrInvalid) {
					t.Fatalf("Query(%+v) fails with a non-ErrInvalid error: %v", q, err)
				}
				return
			}
			max := q.Limit
			if max == 0 {
				max = defaultLimit
			}
			if len(page.Nodes) > min(max, MaxPageLimit) {
				t.Fatalf("page of %d nodes for limit %d", len(page.Nodes), q.Limit)
			}
			for _, n := range page.Nodes {
				if seen[n.ID] {
					t.Fatalf("node %s returned twice across pages of %+v", n.ID, q)
				}
				seen[n.ID] = true
				if n.DeletedAt != nil && !deleted {
					t.Fatalf("deleted node %s listed", n.ID)
				}
			}
			if page.Cursor == "" {
				return
			}
			q.Cursor = page.Cursor
		}
		t.Fatalf("more than 10 pages of at most 7 nodes for %+v", q)
	})
}
