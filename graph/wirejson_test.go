package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"testing"
)

const gizmoYAML = `gizmo:
  fields:
    title: string
    count: integer
    weight: number
    ok: boolean
    seen: datetime
    home: url
    meta: json
    tags: string[]
    scores: number[]
  relations:
    part: gizmo[]
`

// The JSON read paths must answer exactly what encoding/json makes of the
// structs the Go read paths return: every unit, escapes, numbers at the
// edges of encoding/json's formats, arrays, edges both ways, a deleted node
// and a deleted neighbour, cursors and warnings.
func TestJSONReadsMatchTheStructReads(t *testing.T) {
	s := openTest(t, defaultShapes(t, map[string]string{"gizmo.yaml": gizmoYAML}), Options{})
	ctx := context.Background()
	items := []map[string]any{
		{"title": `quotes " and \ and <b>&</b>`, "count": 42, "weight": 4.0, "ok": true},
		{"title": "ünïcode\ttab\nnewline\u2028sep \x01", "weight": 1e-7, "scores": []any{1e21, 0.5, -3, 123456789.125}},
		{"title": "dates", "seen": "2026-12-02T17:10:20.105Z", "home": "https://example.com/a?b=<c>&d", "tags": []any{}},
		{"title": "json", "meta": json.RawMessage(`{"b": [1, 2,  {"c": "<x>"}], "a": null}`), "tags": []any{"x", "y"}},
		{"title": "big", "count": int64(1) << 62, "weight": math.Copysign(0, -1), "meta": json.RawMessage(`"plain"`)},
		{"title": "extra keys", "zeta": "undeclared", "alpha": 1.5, "Mid": []any{true, false}},
	}
	res, err := s.Write(ctx, "gizmo", items)
	ok(t, err)
	ids := res.IDs
	for _, e := range [][2]string{{ids[0], ids[1]}, {ids[2], ids[0]}, {ids[0], ids[0]}, {ids[3], ids[4]}, {ids[5], ids[0]}} {
		_, err := s.Link(ctx, e[0], "part", e[1])
		ok(t, err)
	}
	_, err = s.Delete(ctx, ids[4]) // hides its edge from ids[3]
	ok(t, err)

	for _, id := range ids {
		node, err := s.Get(ctx, id)
		ok(t, err)
		want, err := json.Marshal(node)
		ok(t, err)
		got, err := s.GetJSON(ctx, id)
		ok(t, err)
		if !bytes.Equal(got, want) {
			t.Errorf("GetJSON(%s):\n got %s\nwant %s", id, got, want)
		}
	}
	if _, err := s.GetJSON(ctx, "01JAAAAAAAAAAAAAAAAAAAAAAA"); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetJSON of a missing node: %v, want not found", err)
	}

	for _, q := range []Query{
		{Shape: "gizmo"},
		{Shape: "gizmo", Limit: 2},
		{Shape: "gizmo", Order: "-weight", Limit: 4},
		{Shape: "gizmo", Order: "title", IncludeDeleted: true},
		{Shape: "gizmo", Where: map[string]any{"tags": "x"}},
		{Shape: "gizmo", Where: map[string]any{"part": ids[1]}},
		{Shape: "gizmo", Where: map[string]any{"titel": "typo"}},
	} {
		// The first page, and the next one when there is a cursor.
		for n := 0; n < 2; n++ {
			page, err := s.Query(ctx, q)
			ok(t, err)
			want, err := json.Marshal(page)
			ok(t, err)
			got, err := s.QueryJSON(ctx, q)
			ok(t, err)
			if !bytes.Equal(got, want) {
				t.Errorf("QueryJSON(%+v):\n got %s\nwant %s", q, got, want)
			}
			if page.Cursor == "" {
				break
			}
			q.Cursor = page.Cursor
		}
	}
}
