package graph

import (
	"context"
	"testing"
)

func TestImportMatchesByRemoteIDWhenIdentityCannot(t *testing.T) {
	s := openTest(t, nil, Options{})
	ctx := context.Background()
	first, err := s.Import(ctx, "notes-sync", "note", []map[string]any{{"id": "r1", "name": "one"}, {"id": 2, "name": "two"}})
	if err != nil || first.Created != 2 {
		t.Fatalf("first import: %+v %v", first, err)
	}
	again, err := s.Import(ctx, "notes-sync", "note", []map[string]any{{"id": "r1", "name": "one, edited"}, {"id": "2", "name": "two"}, {"id": "r1", "content": "same item twice"}})
	if err != nil {
		t.Fatal(err)
	}
	if again.Created != 0 || again.IDs[0] != first.IDs[0] || again.IDs[1] != first.IDs[1] || again.IDs[2] != first.IDs[0] {
		t.Fatalf("re-import duplicated: first %v, again %+v", first.IDs, again)
	}
	n, err := s.Get(ctx, first.IDs[0])
	if err != nil || n.Fields["name"] != "one, edited" || n.Fields["content"] != "same item twice" {
		t.Fatalf("merged node %+v %v", n, err)
	}
	if _, has := n.Fields["id"]; has {
		t.Fatal("the remote id was stored as a field")
	}
	var src string
	for _, e := range n.Edges {
		if e.Label == ImportedFrom && e.From == n.ID {
			src = e.To
		}
	}
	srcNode, err := s.Get(ctx, src)
	if err != nil || srcNode.Fields["name"] != "notes-sync" || srcNode.Shapes[0] != SourceShape {
		t.Fatalf("provenance edge leads to %+v %v", srcNode, err)
	}
	page, err := s.Query(ctx, Query{Shape: "note"})
	if err != nil || len(page.Nodes) != 2 {
		t.Fatalf("%d notes after re-import, want 2 (%v)", len(page.Nodes), err)
	}
}

func TestImportPrefersIdentityAndKeepsSourcesApart(t *testing.T) {
	s := openTest(t, nil, Options{})
	ctx := context.Background()
	a, err := s.Import(ctx, "crawler", "webpage", []map[string]any{{"id": "x", "url": "https://example.com/"}})
	if err != nil {
		t.Fatal(err)
	}
	// Same url under another remote id: identity wins, the edge takes the new id.
	b, err := s.Import(ctx, "crawler", "webpage", []map[string]any{{"id": "y", "url": "https://example.com/", "name": "Example"}})
	if err != nil || b.IDs[0] != a.IDs[0] {
		t.Fatalf("identity did not win: %v then %+v %v", a.IDs, b, err)
	}
	// The source says its item y moved: no page has the new url, so the
	// remote id finds the node and the url is updated in place.
	c, err := s.Import(ctx, "crawler", "webpage", []map[string]any{{"id": "y", "url": "https://example.com/moved"}})
	if err != nil || c.IDs[0] != a.IDs[0] {
		t.Fatalf("a moved item was not found by its remote id: %+v %v", c, err)
	}
	if n, _ := s.Get(ctx, a.IDs[0]); n.Fields["url"] != "https://example.com/moved" {
		t.Fatalf("url not updated: %v", n.Fields)
	}
	// The same remote id from another source is another item.
	n1, _ := s.Import(ctx, "sync-a", "note", []map[string]any{{"id": "42", "name": "from a"}})
	n2, _ := s.Import(ctx, "sync-b", "note", []map[string]any{{"id": "42", "name": "from b"}})
	if n1.IDs[0] == n2.IDs[0] {
		t.Fatal("two sources' remote ids collided")
	}
}

func TestImportOfADeletedItemCreatesAFreshNode(t *testing.T) {
	s := openTest(t, nil, Options{})
	ctx := context.Background()
	a, _ := s.Import(ctx, "sync", "note", []map[string]any{{"id": "r", "name": "x"}})
	if _, err := s.Delete(ctx, a.IDs[0]); err != nil {
		t.Fatal(err)
	}
	b, err := s.Import(ctx, "sync", "note", []map[string]any{{"id": "r", "name": "x"}})
	if err != nil || b.Created != 1 || b.IDs[0] == a.IDs[0] {
		t.Fatalf("re-import of a deleted item: %+v %v", b, err)
	}
	if _, err := s.Import(ctx, "sync", "note", []map[string]any{{"id": map[string]any{"x": 1}}}); err == nil {
		t.Fatal("an object id was accepted")
	}
}
