package graph

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestSoftDeleteHidesAndRestoreBringsBack(t *testing.T) {
	s := openTest(t, nil, Options{})
	ctx := WithActor(context.Background(), "cli")
	n, err := s.Create(ctx, "task", map[string]any{"title": "ephemeral thing", "project": map[string]any{"name": "P"}}, nil)
	ok(t, err)
	projectID := n.Edges[0].To

	del, err := s.Delete(ctx, n.ID)
	ok(t, err)
	if del.DeletedAt == nil || len(del.Edges) != 0 {
		t.Fatalf("deleted node: %+v", del)
	}
	if _, err := s.Delete(ctx, n.ID); !errors.Is(err, ErrConflict) {
		t.Fatalf("deleting twice: %v", err)
	}
	got, err := s.Get(ctx, n.ID)
	ok(t, err)
	if got.DeletedAt == nil {
		t.Fatal("Get of a deleted node should show DeletedAt")
	}
	page, err := s.Query(ctx, Query{Shape: "task"})
	ok(t, err)
	if len(page.Nodes) != 0 {
		t.Fatal("deleted node still listed")
	}
	page, err = s.Query(ctx, Query{Shape: "task", IncludeDeleted: true})
	ok(t, err)
	if len(page.Nodes) != 1 {
		t.Fatal("IncludeDeleted does not list the deleted node")
	}
	page, err = s.Query(ctx, Query{Shape: "task", Where: map[string]any{"title": "ephemeral thing"}})
	ok(t, err)
	if len(page.Nodes) != 0 {
		t.Fatal("deleted node found by where")
	}
	if hits, _ := s.Search(ctx, "ephemeral", "", 10); len(hits) != 0 {
		t.Fatal("deleted node found by search")
	}
	p, err := s.Get(ctx, projectID)
	ok(t, err)
	if len(p.Edges) != 0 {
		t.Fatalf("edge to a deleted node still shown on the other end: %+v", p.Edges)
	}
	if c, _ := s.Counts(ctx); c.Nodes != 1 || c.Edges != 0 {
		t.Fatalf("counts after delete: %+v", c)
	}
	// A deleted node does not take part in identity matching.
	fresh, err := s.Create(ctx, "task", map[string]any{"title": "ephemeral thing", "project": projectID}, nil)
	ok(t, err)
	if fresh.ID == n.ID {
		t.Fatal("write matched a deleted node")
	}
	ok(t, s.Unlink(ctx, fresh.ID, "project", projectID))

	back, err := s.Restore(WithActor(context.Background(), "mcp:s1"), n.ID)
	ok(t, err)
	if back.DeletedAt != nil || len(back.Edges) != 1 {
		t.Fatalf("restored node: %+v", back)
	}
	if _, err := s.Restore(ctx, n.ID); !errors.Is(err, ErrConflict) {
		t.Fatalf("restoring a live node: %v", err)
	}
	if hits, _ := s.Search(ctx, "ephemeral", "task", 10); len(hits) != 2 {
		t.Fatalf("restored node not searchable again: %d hits", len(hits))
	}
	h, err := s.History(ctx, n.ID)
	ok(t, err)
	ops := []string{}
	for _, c := range h {
		ops = append(ops, c.Op+"/"+c.Actor)
	}
	if len(h) != 3 || ops[0] != "create/cli" || ops[1] != "delete/cli" || ops[2] != "restore/mcp:s1" {
		t.Fatalf("history ops %v", ops)
	}
	if h[1].After["deleted_at"] == nil || h[2].Before["deleted_at"] == nil {
		t.Fatalf("delete/restore records: %+v %+v", h[1], h[2])
	}
	if _, err := s.Delete(ctx, "01JAAAAAAAAAAAAAAAAAAAAAAA"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("delete of missing node: %v", err)
	}
}

func TestHistoryRecordsActorAndChangedKeys(t *testing.T) {
	s := openTest(t, nil, Options{})
	ctx := context.Background()
	n, err := s.Create(WithActor(ctx, "skill:todo"), "task", map[string]any{"title": "t", "priority": 1, "status": "todo"}, nil)
	ok(t, err)
	_, err = s.Update(WithActor(ctx, "mcp:abc"), n.ID, map[string]any{"priority": 2, "status": "todo", "done": true})
	ok(t, err)
	_, err = s.Update(WithActor(ctx, "cli"), n.ID, map[string]any{"title": "t2", "done": nil})
	ok(t, err)
	// an update that changes nothing records nothing
	_, err = s.Update(ctx, n.ID, map[string]any{"title": "t2"})
	ok(t, err)
	h, err := s.History(ctx, n.ID)
	ok(t, err)
	if len(h) != 3 {
		t.Fatalf("history has %d records, want 3: %+v", len(h), h)
	}
	create := h[0]
	if create.Op != "create" || create.Actor != "skill:todo" || create.Before != nil {
		t.Fatalf("create record %+v", create)
	}
	if create.After["title"] != "t" || create.After["priority"] != int64(1) || create.After["status"] != "todo" || len(create.After) != 3 {
		t.Fatalf("create record shows the fields as created: %+v", create.After)
	}
	u1 := h[1]
	if u1.Actor != "mcp:abc" || u1.Op != "update" {
		t.Fatalf("update record %+v", u1)
	}
	if len(u1.Before) != 2 || u1.Before["priority"] != int64(1) || u1.Before["done"] != nil || u1.After["priority"] != int64(2) || u1.After["done"] != true {
		t.Fatalf("update 1 before/after: %+v / %+v (status did not change and must be absent)", u1.Before, u1.After)
	}
	u2 := h[2]
	if u2.Before["title"] != "t" || u2.After["title"] != "t2" || u2.Before["done"] != true || u2.After["done"] != nil {
		t.Fatalf("update 2 before/after: %+v / %+v", u2.Before, u2.After)
	}
	if !(h[0].Seq < h[1].Seq && h[1].Seq < h[2].Seq) {
		t.Fatalf("history not oldest first: %d %d %d", h[0].Seq, h[1].Seq, h[2].Seq)
	}
	if _, err := s.History(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("history of missing node: %v", err)
	}
}

func TestLinkUnlinkAndNeighbors(t *testing.T) {
	s := openTest(t, nil, Options{})
	ctx := context.Background()
	res, err := s.Write(ctx, "item", []map[string]any{{"name": "a"}, {"name": "b"}, {"name": "c"}, {"name": "d"}})
	ok(t, err)
	a, b, c, d := res.IDs[0], res.IDs[1], res.IDs[2], res.IDs[3]
	e1, err := s.Link(ctx, a, "next", b)
	ok(t, err)
	again, err := s.Link(ctx, a, "next", b)
	ok(t, err)
	if again.ID != e1.ID {
		t.Fatal("linking twice made a second edge")
	}
	_, err = s.Link(ctx, b, "next", c)
	ok(t, err)
	_, err = s.Link(ctx, d, "ref", a)
	ok(t, err)
	_, err = s.Link(ctx, a, "self", a)
	ok(t, err)
	for _, bad := range [][3]string{{a, "", b}, {a, "x", "01JAAAAAAAAAAAAAAAAAAAAAAA"}, {"zz", "x", b}} {
		if _, err := s.Link(ctx, bad[0], bad[1], bad[2]); err == nil {
			t.Errorf("Link%v accepted", bad)
		}
	}
	na, err := s.Get(ctx, a)
	ok(t, err)
	if len(na.Edges) != 3 { // next→b, ref←d, self-loop once
		t.Fatalf("edges of a: %+v", na.Edges)
	}
	for _, tc := range []struct {
		label, dir string
		depth      int
		nodes      int
	}{
		{"", "", 1, 3},        // a, b, d (the self-loop adds no node)
		{"next", "out", 1, 2}, // a, b
		{"next", "out", 2, 3}, // a, b, c
		{"next", "in", 5, 1},  // nothing points to a by next
		{"", "in", 1, 2},      // a, d (and the self-loop)
		{"", "both", 5, 4},
	} {
		nb, err := s.Neighbors(ctx, a, tc.label, tc.dir, tc.depth)
		ok(t, err)
		if len(nb.Nodes) != tc.nodes || nb.Nodes[0].ID != a {
			ids := []string{}
			for _, n := range nb.Nodes {
				ids = append(ids, n.Fields["name"].(string))
			}
			t.Errorf("neighbors(%q,%q,%d): %v", tc.label, tc.dir, tc.depth, ids)
		}
	}
	if _, err := s.Neighbors(ctx, a, "", "sideways", 1); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad direction: %v", err)
	}
	if _, err := s.Neighbors(ctx, a, "", "", 6); !errors.Is(err, ErrInvalid) {
		t.Errorf("depth 6: %v", err)
	}
	ok(t, s.Unlink(ctx, a, "next", b))
	if err := s.Unlink(ctx, a, "next", b); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unlinking twice: %v", err)
	}
	relinked, err := s.Link(ctx, a, "next", b)
	ok(t, err)
	if relinked.ID == e1.ID {
		t.Fatal("relinking after unlink should make a new edge")
	}
	h, err := s.History(ctx, a)
	ok(t, err)
	var ops []string
	for _, c := range h {
		ops = append(ops, c.Op)
	}
	want := []string{"create", "link", "link", "unlink", "link"}
	if len(ops) != len(want) {
		t.Fatalf("history ops %v, want %v", ops, want)
	}
}

func TestRestoreRefusesWhenALiveNodeTookTheIdentity(t *testing.T) {
	s := openTest(t, nil, Options{})
	ctx := context.Background()
	old, err := s.Create(ctx, "webpage", map[string]any{"url": "https://example.com/a", "name": "old"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Delete(ctx, old.ID); err != nil {
		t.Fatal(err)
	}
	twin, err := s.Create(ctx, "webpage", map[string]any{"url": "https://example.com/a", "name": "new"}, nil)
	if err != nil || twin.ID == old.ID {
		t.Fatalf("re-created %v, %v", twin, err)
	}
	_, err = s.Restore(ctx, old.ID)
	if !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), twin.ID) {
		t.Fatalf("restore with a live twin: %v", err)
	}
	if _, err := s.Delete(ctx, twin.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Restore(ctx, old.ID); err != nil {
		t.Fatalf("restore once the twin is gone: %v", err)
	}
}

// recordShape is what every change record of an existing node has in
// common, whatever made it: the same JSON members, and before and after
// naming the same keys.
func recordShape(t *testing.T, c Change) []string {
	t.Helper()
	raw, err := json.Marshal(c)
	ok(t, err)
	var m map[string]any
	ok(t, json.Unmarshal(raw, &m))
	if len(c.Before) == 0 || !slices.Equal(slices.Sorted(maps.Keys(c.Before)), slices.Sorted(maps.Keys(c.After))) {
		t.Errorf("%s record: before %v and after %v name different keys", c.Op, c.Before, c.After)
	}
	return slices.Sorted(maps.Keys(m))
}

func TestHistoryRecordsOfLinkUnlinkDeleteRestoreHaveTheShapeOfAWrite(t *testing.T) {
	s := openTest(t, nil, Options{})
	ctx := WithActor(context.Background(), "cli")
	task, err := s.Create(ctx, "task", map[string]any{"title": "shaped"}, nil)
	ok(t, err)
	proj, err := s.Create(ctx, "project", map[string]any{"name": "P"}, nil)
	ok(t, err)
	other, err := s.Create(ctx, "project", map[string]any{"name": "Q"}, nil)
	ok(t, err)

	// A write that changes a value and links a relation: the reference shape.
	_, err = s.Update(ctx, task.ID, map[string]any{"priority": 2, "project": proj.ID})
	ok(t, err)
	_, err = s.Link(ctx, task.ID, "see_also", other.ID)
	ok(t, err)
	ok(t, s.Unlink(ctx, task.ID, "see_also", other.ID))
	_, err = s.Delete(ctx, task.ID)
	ok(t, err)
	_, err = s.Restore(ctx, task.ID)
	ok(t, err)

	h, err := s.History(ctx, task.ID)
	ok(t, err)
	var ops []string
	for _, c := range h {
		ops = append(ops, c.Op)
	}
	if want := []string{"create", "update", "link", "unlink", "delete", "restore"}; !slices.Equal(ops, want) {
		t.Fatalf("ops %v, want %v", ops, want)
	}
	write := h[1]
	want := recordShape(t, write)
	for _, c := range h[2:] {
		if got := recordShape(t, c); !slices.Equal(got, want) {
			t.Errorf("%s record has members %v, a write's has %v", c.Op, got, want)
		}
		if c.NodeID != task.ID || c.Actor != "cli" || c.Seq <= write.Seq || c.At.IsZero() {
			t.Errorf("%s record %+v: wrong node, actor, seq or time", c.Op, c)
		}
	}
	// Relations read the same whether a write or a link made them.
	if !reflect.DeepEqual(write.Before["project"], nil) || !reflect.DeepEqual(write.After["project"], []any{proj.ID}) {
		t.Errorf("write's relation change %v → %v", write.Before["project"], write.After["project"])
	}
	link, unlink, del, restore := h[2], h[3], h[4], h[5]
	if len(link.After) != 1 || link.Before["see_also"] != nil || !reflect.DeepEqual(link.After["see_also"], []any{other.ID}) {
		t.Errorf("link record %v → %v, want see_also null → [%s]", link.Before, link.After, other.ID)
	}
	if len(unlink.After) != 1 || !reflect.DeepEqual(unlink.Before["see_also"], []any{other.ID}) || unlink.After["see_also"] != nil {
		t.Errorf("unlink record %v → %v, want see_also [%s] → null", unlink.Before, unlink.After, other.ID)
	}
	stamp, _ := del.After["deleted_at"].(string)
	if len(del.After) != 1 || del.Before["deleted_at"] != nil || stamp == "" {
		t.Errorf("delete record %v → %v, want deleted_at null → a stamp", del.Before, del.After)
	}
	if len(restore.After) != 1 || restore.Before["deleted_at"] != stamp || restore.After["deleted_at"] != nil {
		t.Errorf("restore record %v → %v, want deleted_at %s → null", restore.Before, restore.After, stamp)
	}
	// The create record still shows what the node was created with.
	if h[0].After["title"] != "shaped" || h[0].After["priority"] != nil {
		t.Errorf("create record after %v", h[0].After)
	}
}
