package graph

import (
	"context"
	"errors"
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
