package main

// End-to-end tests of the graph (DESIGN §4–6, docs/engine.md, docs/shapes.md)
// through the real daemon: every call goes over the Unix socket to an
// `agentos engine` process, or through the `agentos` CLI.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/agentos/agentos/engine/wire"
	"github.com/agentos/agentos/internal/testkit"

	"github.com/agentos/agentos/graph"
)

// missingID is a well-formed node id that no store ever made.
const missingID = "01ARZ3NDEKTSV4RRFFQ69G5FAV"

func TestCreateMergesTasksWithTheSameTitleAndProject(t *testing.T) {
	_, c := graphDaemon(t)

	first := create(t, c, "task", map[string]any{"title": "Buy milk", "project": map[string]any{"name": "Home"}, "priority": 1, "status": "todo"})
	second := create(t, c, "task", map[string]any{"title": "Buy milk", "project": map[string]any{"name": "Home"}, "priority": 3, "done": true})
	if second.ID != first.ID {
		t.Fatalf("same title and project made two nodes: %s and %s", first.ID, second.ID)
	}
	got := readNode(t, c, first.ID)
	want := map[string]any{"title": "Buy milk", "priority": float64(3), "done": true, "status": "todo"}
	for k, v := range want {
		if got.Fields[k] != v {
			t.Errorf("field %s = %#v, want %#v (all fields %v)", k, got.Fields[k], v, got.Fields)
		}
	}
	if n := len(outEdges(got, "project")); n != 1 {
		t.Errorf("merged task has %d project edges, want 1: %+v", n, got.Edges)
	}
	if tasks := readPage(t, c, map[string]any{"shape": "task"}); len(tasks.Nodes) != 1 {
		t.Fatalf("%d tasks stored, want 1", len(tasks.Nodes))
	}
	// The project may also be named by the id of the node it became.
	home := outEdges(got, "project")[0].To
	if byID := create(t, c, "task", map[string]any{"title": "Buy milk", "project": home, "tags": "dairy"}); byID.ID != first.ID {
		t.Fatalf("the project given by id made node %s, want a merge into %s", byID.ID, first.ID)
	}

	for _, tc := range []struct {
		name   string
		fields map[string]any
	}{
		{"another title in the same project", map[string]any{"title": "Buy bread", "project": map[string]any{"name": "Home"}}},
		{"the same title in another project", map[string]any{"title": "Buy milk", "project": map[string]any{"name": "Work"}}},
		{"the same title without a project", map[string]any{"title": "Buy milk"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := create(t, c, "task", tc.fields)
			if n.ID == first.ID {
				t.Fatalf("merged into %s, want a new node", first.ID)
			}
		})
	}
}

func TestWriteMergesWebpagesWithTheSameURLWithinAndAcrossBatches(t *testing.T) {
	_, c := graphDaemon(t)
	const url = "https://example.com/articles/1"

	res := write(t, c, "webpage", []map[string]any{
		{"url": url, "name": "First title"},
		{"url": url, "text": "the readable text"},
	})
	if len(res.IDs) != 2 || res.IDs[0] != res.IDs[1] {
		t.Fatalf("one batch, same url: ids %v, want one id twice", res.IDs)
	}
	if res.Created != 1 || res.Updated != 1 {
		t.Errorf("created %d updated %d, want 1 and 1", res.Created, res.Updated)
	}

	again := write(t, c, "webpage", []map[string]any{{"url": url, "name": "Second title", "site": "example"}})
	if len(again.IDs) != 1 || again.IDs[0] != res.IDs[0] || again.Created != 0 || again.Updated != 1 {
		t.Fatalf("second batch, same url: %+v, want an update of %s", again, res.IDs[0])
	}

	page := readPage(t, c, map[string]any{"shape": "webpage"})
	if len(page.Nodes) != 1 {
		t.Fatalf("%d webpages stored, want 1", len(page.Nodes))
	}
	f := page.Nodes[0].Fields
	if f["url"] != url || f["name"] != "Second title" || f["text"] != "the readable text" || f["site"] != "example" {
		t.Fatalf("merged fields %v: want the url, the last name, and text and site from both batches", f)
	}
}

func TestIdentityAnyTriesEmailThenURL(t *testing.T) {
	_, c := graphDaemon(t)

	// Each case gets its own people (A and B) so that merges in one case
	// cannot change what another case matches.
	for i, tc := range []struct {
		name string
		item func(a, b string) map[string]any // a, b: this case's suffix-bearing keys
		want string                           // "A", "B" or "new"
	}{
		{"email matches, url differs: merges by email", func(a, b string) map[string]any {
			return map[string]any{"email": a + "@x.test", "url": "https://u.test/" + a + "-moved"}
		}, "A"},
		{"no email, url matches: merges by url", func(a, b string) map[string]any {
			return map[string]any{"url": "https://u.test/" + a, "name": "By URL"}
		}, "A"},
		{"unknown email, url matches: falls through to url", func(a, b string) map[string]any {
			return map[string]any{"email": "nobody-" + a + "@x.test", "url": "https://u.test/" + a}
		}, "A"},
		{"email matches one node, url another: email is tried first", func(a, b string) map[string]any {
			return map[string]any{"email": b + "@x.test", "url": "https://u.test/" + a}
		}, "B"},
		{"neither matches: creates", func(a, b string) map[string]any {
			return map[string]any{"email": "new-" + a + "@x.test", "url": "https://u.test/new-" + a}
		}, "new"},
		{"neither key given: creates", func(a, b string) map[string]any {
			return map[string]any{"name": "Anonymous"}
		}, "new"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := fmt.Sprintf("a%d", i), fmt.Sprintf("b%d", i)
			nodeA := create(t, c, "person", map[string]any{"name": "A", "email": a + "@x.test", "url": "https://u.test/" + a})
			nodeB := create(t, c, "person", map[string]any{"name": "B", "email": b + "@x.test", "url": "https://u.test/" + b})
			item := tc.item(a, b)
			res := write(t, c, "person", []map[string]any{item})
			got := res.IDs[0]
			switch tc.want {
			case "A":
				if got != nodeA.ID {
					t.Fatalf("%v went to %s, want A (%s); B is %s", item, got, nodeA.ID, nodeB.ID)
				}
				// Last writer wins per key.
				n := readNode(t, c, got)
				for k, v := range item {
					if n.Fields[k] != v {
						t.Errorf("after the merge %s = %v, want %v", k, n.Fields[k], v)
					}
				}
			case "B":
				if got != nodeB.ID {
					t.Fatalf("%v went to %s, want B (%s); A is %s", item, got, nodeB.ID, nodeA.ID)
				}
			case "new":
				if got == nodeA.ID || got == nodeB.ID || res.Created != 1 {
					t.Fatalf("%v went to %s (created %d), want a new node", item, got, res.Created)
				}
			}
		})
	}

	t.Run("items of one batch merge through either key", func(t *testing.T) {
		res := write(t, c, "person", []map[string]any{
			{"email": "batch@x.test", "name": "Batch"},
			{"email": "batch@x.test", "url": "https://u.test/batch"},
			{"url": "https://u.test/batch", "job_title": "tester"},
		})
		if res.IDs[0] != res.IDs[1] || res.IDs[1] != res.IDs[2] || res.Created != 1 {
			t.Fatalf("ids %v created %d, want one node", res.IDs, res.Created)
		}
	})
}

func TestCreateCoercesValuesOrStoresTextWithAWarning(t *testing.T) {
	_, c := graphDaemon(t)
	secs := time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC).Unix()
	ms := time.Date(2025, 12, 1, 8, 30, 0, 123e6, time.UTC).UnixMilli()

	for i, tc := range []struct {
		name    string
		key     string
		value   any
		want    any
		warning string // exact warning; "" means none
	}{
		{"integer from a numeric string", "priority", "495", float64(495), ""},
		{"integer from a whole float", "priority", 7.0, float64(7), ""},
		{"boolean from yes", "done", "yes", true, ""},
		{"boolean from off", "done", "off", false, ""},
		{"boolean from 0", "done", 0, false, ""},
		{"datetime from a date", "due", "2026-12-01", "2026-12-01T00:00:00.000Z", ""},
		{"datetime from RFC 3339 with an offset", "due", "2026-12-01T10:00:00+02:00", "2026-12-01T08:00:00.000Z", ""},
		{"datetime from unix seconds", "due", secs, "2025-12-01T00:00:00.000Z", ""},
		{"datetime from unix milliseconds", "due", ms, "2025-12-01T08:30:00.123Z", ""},
		{"array from a single value", "tags", "errand", []any{"errand"}, ""},
		{"integer field given a word", "priority", "high", "high", `task.priority: "high" is not an integer; stored as text`},
		{"boolean field given a word", "done", "perhaps", "perhaps", `task.done: "perhaps" is not a boolean (use true/false, yes/no, on/off or 1/0); stored as text`},
		{"unknown field", "flavour", "vanilla", "vanilla", `task.flavour is not a field of task; stored as text`},
		{"unknown field close to a known one", "stauts", "todo", "todo", `task.stauts is not a field of task (did you mean "status"?); stored as text`},
		{"enum in another case", "status", "DOING", "doing", `task.status: "DOING" taken as "doing"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := create(t, c, "task", map[string]any{"title": fmt.Sprintf("coerce %d", i), tc.key: tc.value})
			if got := n.Fields[tc.key]; !jsonEqual(got, tc.want) {
				t.Errorf("%s = %#v, want %#v", tc.key, got, tc.want)
			}
			var want []string
			if tc.warning != "" {
				want = []string{tc.warning}
			}
			if !jsonEqual(n.Warnings, want) {
				t.Errorf("warnings %q, want %q", n.Warnings, want)
			}
			// What the write answered is what was stored.
			if got := readNode(t, c, n.ID).Fields[tc.key]; !jsonEqual(got, tc.want) {
				t.Errorf("read back %s = %#v, want %#v", tc.key, got, tc.want)
			}
		})
	}

	t.Run("a batch reports warnings per item index", func(t *testing.T) {
		res := write(t, c, "task", []map[string]any{
			{"title": "quiet", "priority": 1},
			{"title": "noisy", "priority": "urgent"},
		})
		want := []graph.ItemWarning{{Index: 1, Warnings: []string{`task.priority: "urgent" is not an integer; stored as text`}}}
		if !jsonEqual(res.Warnings, want) {
			t.Fatalf("warnings %+v, want %+v", res.Warnings, want)
		}
	})
}

func TestStrictShapeRejectsBadValuesAndTheWholeBatch(t *testing.T) {
	home := testkit.Home(t)
	shapesDir := filepath.Join(home, "shapes")
	if err := os.MkdirAll(shapesDir, 0o700); err != nil {
		t.Fatal(err)
	}
	const yaml = `invoice:
  plural: invoices
  strict: true
  identity: [number]
  fields:
    number: string
    amount: integer
    paid: boolean
`
	if err := os.WriteFile(filepath.Join(shapesDir, "invoice.yaml"), []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, home)
	c := d.client(t)

	good := create(t, c, "invoice", map[string]any{"number": "INV-1", "amount": "120", "paid": "no"})
	if good.Fields["amount"] != float64(120) || good.Fields["paid"] != false || len(good.Warnings) != 0 {
		t.Fatalf("a strict shape still coerces what it can: %v warnings %q", good.Fields, good.Warnings)
	}

	for _, tc := range []struct {
		name   string
		fields map[string]any
		naming string
	}{
		{"integer field given a word", map[string]any{"number": "INV-2", "amount": "lots"}, "invoice.amount"},
		{"boolean field given a word", map[string]any{"number": "INV-3", "paid": "perhaps"}, "invoice.paid"},
		{"unknown field", map[string]any{"number": "INV-4", "colour": "red"}, "invoice.colour"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := callErr(t, c, "data.create", map[string]any{"shape": "invoice", "fields": tc.fields})
			wantKind(t, err, wire.KindInvalid, tc.naming, "strict")
		})
	}

	t.Run("one bad item stores nothing of the batch", func(t *testing.T) {
		err := callErr(t, c, "data.write", map[string]any{"shape": "invoice", "items": []map[string]any{
			{"number": "INV-10", "amount": 1},
			{"number": "INV-11", "amount": "nope"},
			{"number": "INV-12", "amount": 3},
		}})
		wantKind(t, err, wire.KindInvalid, "items[1]", "invoice.amount")
		page := readPage(t, c, map[string]any{"shape": "invoice"})
		if len(page.Nodes) != 1 || page.Nodes[0].ID != good.ID {
			t.Fatalf("after the failed batch the invoices are %v, want only %s", nodeIDs(page.Nodes), good.ID)
		}
	})
}

func TestRelationObjectsBecomeChildNodesLinkedByTheRelationKey(t *testing.T) {
	_, c := graphDaemon(t)

	t1 := create(t, c, "task", map[string]any{"title": "T1", "project": map[string]any{"name": "X"}})
	edges := outEdges(t1, "project")
	if len(edges) != 1 {
		t.Fatalf("task edges %+v, want one project edge", t1.Edges)
	}
	projectID := edges[0].To
	project := readNode(t, c, projectID)
	if project.Fields["name"] != "X" || !contains(project.Shapes, "project") || !contains(project.Shapes, "item") {
		t.Fatalf("child node %+v: want a project (also an item) named X", project)
	}
	if in := project.Edges; len(in) != 1 || in[0].From != t1.ID || in[0].Label != "project" {
		t.Fatalf("project edges %+v, want the incoming edge from %s", in, t1.ID)
	}
	nb := neighbors(t, c, map[string]any{"id": t1.ID})
	if ids := nodeIDs(nb.Nodes); !equalStrings(ids, []string{t1.ID, projectID}) {
		t.Fatalf("neighbors of the task: %v, want [task project]", ids)
	}
	if len(nb.Edges) != 1 || nb.Edges[0].Label != "project" || nb.Edges[0].From != t1.ID || nb.Edges[0].To != projectID {
		t.Fatalf("neighbor edges %+v", nb.Edges)
	}

	t2 := create(t, c, "task", map[string]any{"title": "T2", "project": map[string]any{"name": "X"}})
	if e := outEdges(t2, "project"); len(e) != 1 || e[0].To != projectID {
		t.Fatalf("second task's project edges %+v, want one to %s", t2.Edges, projectID)
	}
	if page := readPage(t, c, map[string]any{"shape": "project"}); len(page.Nodes) != 1 {
		t.Fatalf("%d projects, want the one named X reused", len(page.Nodes))
	}

	t.Run("items of one batch share a new child node", func(t *testing.T) {
		res := write(t, c, "task", []map[string]any{
			{"title": "S1", "project": map[string]any{"name": "Shared"}},
			{"title": "S2", "project": map[string]any{"name": "Shared"}},
		})
		if res.IDs[0] == res.IDs[1] {
			t.Fatalf("two titles merged into %s", res.IDs[0])
		}
		shared := readPage(t, c, map[string]any{"shape": "project", "where": map[string]any{"name": "Shared"}})
		if len(shared.Nodes) != 1 {
			t.Fatalf("%d projects named Shared, want 1", len(shared.Nodes))
		}
		for _, id := range res.IDs {
			if e := outEdges(readNode(t, c, id), "project"); len(e) != 1 || e[0].To != shared.Nodes[0].ID {
				t.Errorf("task %s project edges %+v, want one to %s", id, e, shared.Nodes[0].ID)
			}
		}
	})

	t.Run("a relation given as a node id links to that node", func(t *testing.T) {
		var viaRelations graph.Node
		call(t, c, "data.create", map[string]any{"shape": "task", "fields": map[string]any{"title": "T3"}, "relations": map[string]any{"project": projectID}}, &viaRelations)
		viaFields := create(t, c, "task", map[string]any{"title": "T4", "project": projectID})
		for _, n := range []graph.Node{viaRelations, viaFields} {
			if e := outEdges(n, "project"); len(e) != 1 || e[0].To != projectID {
				t.Errorf("%s project edges %+v, want one to %s", n.Fields["title"], n.Edges, projectID)
			}
		}
		in := neighbors(t, c, map[string]any{"id": projectID, "direction": "in", "label": "project"})
		if len(in.Edges) != 4 {
			t.Fatalf("project has %d incoming project edges, want 4 (T1..T4): %+v", len(in.Edges), in.Edges)
		}
	})

	t.Run("a relation id that names no node is not_found", func(t *testing.T) {
		for _, id := range []string{missingID, "not-an-id"} {
			err := callErr(t, c, "data.create", map[string]any{"shape": "task", "fields": map[string]any{"title": "T5", "project": id}})
			wantKind(t, err, wire.KindNotFound, id)
		}
		if page := readPage(t, c, map[string]any{"shape": "task", "where": map[string]any{"title": "T5"}}); len(page.Nodes) != 0 {
			t.Fatalf("a failed create stored %v", nodeIDs(page.Nodes))
		}
	})

	t.Run("a missing relation target fails the whole batch", func(t *testing.T) {
		err := callErr(t, c, "data.write", map[string]any{"shape": "task", "items": []map[string]any{
			{"title": "B1", "project": map[string]any{"name": "Batch project"}},
			{"title": "B2", "project": missingID},
		}})
		wantKind(t, err, wire.KindNotFound, "items[1]", missingID)
		for _, q := range []map[string]any{
			{"shape": "task", "where": map[string]any{"title": "B1"}},
			{"shape": "project", "where": map[string]any{"name": "Batch project"}},
		} {
			if page := readPage(t, c, q); len(page.Nodes) != 0 {
				t.Errorf("%v: the failed batch stored %v", q, nodeIDs(page.Nodes))
			}
		}
	})
}

// A relation declared with one target (project: project) is one key of the
// node: a later write or update of it replaces the target (DESIGN §5: last
// writer wins per key), the way a second target in one call is refused.
func TestWritingASingleRelationAgainReplacesItsTarget(t *testing.T) {
	_, c := graphDaemon(t)
	second := map[string]any{"name": "Second"}
	for _, tc := range []struct {
		name   string
		create func(t *testing.T) graph.Node            // a node whose project is "First"
		change func(t *testing.T, id string) graph.Node // points it at "Second"
	}{
		{"data.update",
			func(t *testing.T) graph.Node {
				return create(t, c, "task", map[string]any{"title": "Moves", "project": map[string]any{"name": "First"}})
			},
			func(t *testing.T, id string) graph.Node {
				var n graph.Node
				call(t, c, "data.update", map[string]any{"id": id, "fields": map[string]any{"project": second}}, &n)
				return n
			}},
		{"identity merge",
			func(t *testing.T) graph.Node {
				return create(t, c, "event", map[string]any{"uid": "ev-1", "title": "Standup", "project": map[string]any{"name": "First"}})
			},
			func(t *testing.T, id string) graph.Node {
				write(t, c, "event", []map[string]any{{"uid": "ev-1", "project": second}})
				return readNode(t, c, id)
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			first := tc.create(t)
			oldTarget := outEdges(first, "project")[0].To
			after := tc.change(t, first.ID)
			edges := outEdges(after, "project")
			if len(edges) != 1 || edges[0].To == oldTarget {
				t.Fatalf("project edges %+v, want one, to the new project (not %s)", edges, oldTarget)
			}
		})
	}
}

func TestSearchFindsWordsAndPrefixesAndNeverFailsOnHostileQueries(t *testing.T) {
	home, c := graphDaemon(t)

	note := create(t, c, "note", map[string]any{"title": "Quarterly planning", "content": "Discuss the roadmap with Alice"})
	groceries := create(t, c, "note", map[string]any{"title": "Grocery list", "content": "apples and bananas"})
	task := create(t, c, "task", map[string]any{"title": "Review the roadmap"})

	for _, tc := range []struct {
		query, shape string
		want         []string
	}{
		{"roadmap", "", []string{note.ID, task.ID}},
		{"road", "", []string{note.ID, task.ID}},
		{"ROADMAP", "", []string{note.ID, task.ID}},
		{"quarter", "", []string{note.ID}},
		{"roadmap alice", "", []string{note.ID}},
		{"roadmap", "note", []string{note.ID}},
		{"roadmap", "task", []string{task.ID}},
		{"roadmap", "item", []string{note.ID, task.ID}},
		{"banana", "", []string{groceries.ID}},
		{"roadmap bananas", "", nil},
		{"zebra", "", nil},
	} {
		t.Run(fmt.Sprintf("%s in %q", tc.query, tc.shape), func(t *testing.T) {
			hits := search(t, c, tc.query, tc.shape)
			if got := hitIDs(hits); !sameSet(got, tc.want) {
				t.Fatalf("hits %v, want %v", got, tc.want)
			}
			for _, h := range hits {
				if h.Snippet == "" || !strings.Contains(h.Snippet, "[") {
					t.Errorf("hit %s snippet %q marks no match", h.Node.ID, h.Snippet)
				}
			}
		})
	}

	t.Run("hostile queries answer hits or nothing, never an error", func(t *testing.T) {
		for _, q := range []string{`foo"`, `"`, `AND`, `OR`, `NOT roadmap`, `roadmap AND`, `*`, `road*`, `NEAR(`, `NEAR(roadmap alice)`,
			`(`, `)`, `-`, `^roadmap`, `title:roadmap`, `{title}: x`, `'`, `\`, `%`, `_`, `roadmap"`, `""roadmap""`, `…`, "\x00", "🙂"} {
			var res struct {
				Hits []graph.Hit `json:"hits"`
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			err := c.Call(ctx, "data.search", map[string]any{"query": q}, &res)
			cancel()
			if err != nil {
				t.Errorf("query %q: %v", q, err)
			}
		}
	})

	t.Run("a blank query is invalid, like an empty one", func(t *testing.T) {
		for _, q := range []string{"", "   "} {
			wantKind(t, callErr(t, c, "data.search", map[string]any{"query": q}), wire.KindInvalid, "query")
		}
	})

	t.Run("agentos search", func(t *testing.T) {
		r := agentos(t, home, "search", "roadmap", "--json")
		if r.code != 0 {
			t.Fatalf("agentos search --json: %+v", r)
		}
		var res struct {
			Hits []graph.Hit `json:"hits"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
			t.Fatalf("search output %q: %v", r.stdout, err)
		}
		if got := hitIDs(res.Hits); !sameSet(got, []string{note.ID, task.ID}) {
			t.Fatalf("CLI hits %v", got)
		}
		r = agentos(t, home, "search", "--shape", "note", "road")
		if r.code != 0 || !strings.Contains(r.stdout, note.ID) || strings.Contains(r.stdout, task.ID) {
			t.Fatalf("agentos search --shape note road: %+v", r)
		}
		for _, q := range []string{`foo"`, `NEAR(`, `*`, `AND`} {
			if r := agentos(t, home, "search", q); r.code != 0 {
				t.Errorf("agentos search %q: %+v", q, r)
			}
		}
	})

	t.Run("updates reindex the node", func(t *testing.T) {
		call(t, c, "data.update", map[string]any{"id": groceries.ID, "fields": map[string]any{"title": "Market run", "content": nil}}, nil)
		for q, want := range map[string][]string{"grocery": nil, "bananas": nil, "market": {groceries.ID}} {
			if got := hitIDs(search(t, c, q, "")); !sameSet(got, want) {
				t.Errorf("after the update %q finds %v, want %v", q, got, want)
			}
		}
	})

	t.Run("deleted nodes are not found", func(t *testing.T) {
		call(t, c, "data.delete", map[string]any{"id": note.ID}, nil)
		if got := hitIDs(search(t, c, "roadmap", "")); !sameSet(got, []string{task.ID}) {
			t.Fatalf("after deleting the note, hits %v, want only the task", got)
		}
		r := agentos(t, home, "search", "quarterly", "--json")
		if r.code != 0 || strings.Contains(r.stdout, note.ID) {
			t.Fatalf("CLI still finds the deleted note: %+v", r)
		}
	})
}

func TestDeleteHidesANodeUntilRestoreBringsItBack(t *testing.T) {
	_, c := graphDaemon(t)
	task := create(t, c, "task", map[string]any{"title": "Paint the fence", "project": map[string]any{"name": "Garden"}})
	projectID := outEdges(task, "project")[0].To

	var deleted graph.Node
	call(t, c, "data.delete", map[string]any{"id": task.ID}, &deleted)
	if deleted.DeletedAt == nil {
		t.Fatalf("data.delete answered %+v without deleted_at", deleted)
	}

	if page := readPage(t, c, map[string]any{"shape": "task"}); len(page.Nodes) != 0 {
		t.Errorf("data.read {shape} still lists %v", nodeIDs(page.Nodes))
	}
	if page := readPage(t, c, map[string]any{"shape": "task", "include_deleted": true}); !equalStrings(nodeIDs(page.Nodes), []string{task.ID}) {
		t.Errorf("include_deleted lists %v, want the deleted task", nodeIDs(page.Nodes))
	}
	if hits := search(t, c, "fence", ""); len(hits) != 0 {
		t.Errorf("search still finds %v", hitIDs(hits))
	}
	got := readNode(t, c, task.ID)
	if got.DeletedAt == nil || got.Fields["title"] != "Paint the fence" {
		t.Errorf("data.read {id} of a deleted node: %+v, want it with deleted_at and its fields", got)
	}
	if len(got.Edges) != 0 {
		t.Errorf("a deleted node shows edges %+v", got.Edges)
	}
	if p := readNode(t, c, projectID); len(p.Edges) != 0 {
		t.Errorf("the project still shows the deleted task's edge: %+v", p.Edges)
	}

	wantKind(t, callErr(t, c, "data.delete", map[string]any{"id": task.ID}), wire.KindConflict, "already deleted")
	wantKind(t, callErr(t, c, "data.update", map[string]any{"id": task.ID, "fields": map[string]any{"done": true}}), wire.KindConflict, "restore")

	var restored graph.Node
	call(t, c, "data.restore", map[string]any{"id": task.ID}, &restored)
	if restored.DeletedAt != nil {
		t.Fatalf("data.restore answered %+v with deleted_at", restored)
	}
	if page := readPage(t, c, map[string]any{"shape": "task"}); !equalStrings(nodeIDs(page.Nodes), []string{task.ID}) {
		t.Errorf("after restore data.read {shape} lists %v", nodeIDs(page.Nodes))
	}
	if got := hitIDs(search(t, c, "fence", "")); !equalStrings(got, []string{task.ID}) {
		t.Errorf("after restore search finds %v", got)
	}
	if e := outEdges(readNode(t, c, task.ID), "project"); len(e) != 1 || e[0].To != projectID {
		t.Errorf("after restore the project edge is %+v", e)
	}

	wantKind(t, callErr(t, c, "data.restore", map[string]any{"id": task.ID}), wire.KindConflict, "not deleted")
	for _, m := range []string{"data.delete", "data.restore"} {
		wantKind(t, callErr(t, c, m, map[string]any{"id": missingID}), wire.KindNotFound, missingID)
	}
}

func TestHistoryRecordsEveryChangeWithItsActor(t *testing.T) {
	home, c := graphDaemon(t)
	task := create(t, c, "task", map[string]any{"title": "Tracked", "priority": 1})

	r := agentos(t, home, "call", "data.update", fmt.Sprintf(`{"id":%q,"fields":{"priority":2,"done":"yes"}}`, task.ID))
	if r.code != 0 {
		t.Fatalf("agentos call data.update: %+v", r)
	}
	call(t, c, "data.delete", map[string]any{"id": task.ID}, nil)
	call(t, c, "data.restore", map[string]any{"id": task.ID}, nil)

	var h struct {
		ID      string         `json:"id"`
		Changes []graph.Change `json:"changes"`
	}
	call(t, c, "data.history", map[string]any{"id": task.ID}, &h)
	if h.ID != task.ID {
		t.Fatalf("history of %q, want %s", h.ID, task.ID)
	}
	var ops, actors []string
	for i, ch := range h.Changes {
		ops = append(ops, ch.Op)
		actors = append(actors, ch.Actor)
		if i > 0 && (ch.Seq <= h.Changes[i-1].Seq || ch.At.Before(h.Changes[i-1].At)) {
			t.Errorf("change %d (seq %d at %v) is not after change %d (seq %d at %v)", i, ch.Seq, ch.At, i-1, h.Changes[i-1].Seq, h.Changes[i-1].At)
		}
	}
	if want := []string{"create", "update", "delete", "restore"}; !equalStrings(ops, want) {
		t.Fatalf("ops %v, want %v", ops, want)
	}
	if want := []string{"test", "cli", "test", "test"}; !equalStrings(actors, want) {
		t.Errorf("actors %v, want %v", actors, want)
	}

	create, update, del, restore := h.Changes[0], h.Changes[1], h.Changes[2], h.Changes[3]
	if create.After["title"] != "Tracked" || create.After["priority"] != float64(1) {
		t.Errorf("create record after = %v, want the fields the node was created with", create.After)
	}
	wantBefore := map[string]any{"priority": float64(1), "done": nil}
	wantAfter := map[string]any{"priority": float64(2), "done": true}
	if !jsonEqual(update.Before, wantBefore) || !jsonEqual(update.After, wantAfter) {
		t.Errorf("update record before %v after %v, want %v → %v (changed keys only)", update.Before, update.After, wantBefore, wantAfter)
	}
	if v, ok := del.Before["deleted_at"]; !ok || v != nil {
		t.Errorf("delete record before = %v, want deleted_at null", del.Before)
	}
	if s, _ := del.After["deleted_at"].(string); s == "" {
		t.Errorf("delete record after = %v, want a deleted_at stamp", del.After)
	}
	if restore.Before["deleted_at"] != del.After["deleted_at"] || restore.After["deleted_at"] != nil {
		t.Errorf("restore record %v → %v, want it to undo deleted_at %v", restore.Before, restore.After, del.After["deleted_at"])
	}

	wantKind(t, callErr(t, c, "data.history", map[string]any{"id": missingID}), wire.KindNotFound, missingID)
}

func TestLinkKeepsOneLiveEdgePerTripleAndUnlinkRemovesIt(t *testing.T) {
	_, c := graphDaemon(t)
	a := create(t, c, "note", map[string]any{"title": "A"})
	b := create(t, c, "note", map[string]any{"title": "B"})
	link := map[string]any{"from": a.ID, "label": "see_also", "to": b.ID}

	var e1, e2 graph.Edge
	call(t, c, "data.link", link, &e1)
	call(t, c, "data.link", link, &e2)
	if e1.ID == "" || e2.ID != e1.ID || e1.From != a.ID || e1.To != b.ID || e1.Label != "see_also" {
		t.Fatalf("linking twice gave %+v then %+v, want the same edge", e1, e2)
	}
	if e := outEdges(readNode(t, c, a.ID), "see_also"); len(e) != 1 || e[0].ID != e1.ID {
		t.Fatalf("edges of A: %+v, want only %s", e, e1.ID)
	}
	// The reverse direction is another triple.
	var back graph.Edge
	call(t, c, "data.link", map[string]any{"from": b.ID, "label": "see_also", "to": a.ID}, &back)
	if back.ID == e1.ID {
		t.Fatalf("b→a reused the a→b edge %s", e1.ID)
	}

	var ok struct {
		OK bool `json:"ok"`
	}
	call(t, c, "data.unlink", link, &ok)
	if !ok.OK {
		t.Fatalf("data.unlink answered %+v", ok)
	}
	if e := outEdges(readNode(t, c, a.ID), "see_also"); len(e) != 0 {
		t.Fatalf("after unlink A still has %+v", e)
	}
	wantKind(t, callErr(t, c, "data.unlink", link), wire.KindNotFound, a.ID)

	var e3 graph.Edge
	call(t, c, "data.link", link, &e3)
	if e3.ID == "" || e3.ID == e1.ID {
		t.Fatalf("relinking gave %+v, want a new edge (the old one is gone)", e3)
	}

	for _, tc := range []struct {
		name   string
		params map[string]any
		kind   wire.Kind
	}{
		{"from a missing node", map[string]any{"from": missingID, "label": "x", "to": b.ID}, wire.KindNotFound},
		{"to a missing node", map[string]any{"from": a.ID, "label": "x", "to": missingID}, wire.KindNotFound},
		{"without a label", map[string]any{"from": a.ID, "label": "", "to": b.ID}, wire.KindInvalid},
		{"with a padded label", map[string]any{"from": a.ID, "label": " x ", "to": b.ID}, wire.KindInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantKind(t, callErr(t, c, "data.link", tc.params), tc.kind)
		})
	}
}

func TestCursorPaginationReturnsEveryNodeOnce(t *testing.T) {
	_, c := graphDaemon(t)
	const total, pageSize = 250, 40
	items := make([]map[string]any, total)
	var names []string
	for i := range items {
		name := fmt.Sprintf("note-%03d", (i*97)%total) // created out of name order
		items[i] = map[string]any{"name": name}
		names = append(names, name)
	}
	res := write(t, c, "note", items)
	if res.Created != total {
		t.Fatalf("created %d notes, want %d", res.Created, total)
	}
	byName := append([]string(nil), names...)
	sort.Strings(byName)
	desc := append([]string(nil), byName...)
	sort.Sort(sort.Reverse(sort.StringSlice(desc)))

	for _, tc := range []struct {
		order string
		want  []string // names in page order
	}{
		{"", names},
		{"name", byName},
		{"-name", desc},
	} {
		t.Run("order "+tc.order, func(t *testing.T) {
			got, pages := readAll(t, c, map[string]any{"shape": "note", "order": tc.order, "limit": pageSize})
			if wantPages := (total + pageSize - 1) / pageSize; pages != wantPages {
				t.Errorf("%d pages, want %d", pages, wantPages)
			}
			seen := map[string]bool{}
			var gotNames []string
			for _, n := range got {
				if seen[n.ID] {
					t.Fatalf("node %s came twice", n.ID)
				}
				seen[n.ID] = true
				gotNames = append(gotNames, n.Fields["name"].(string))
			}
			if !equalStrings(gotNames, tc.want) {
				t.Fatalf("order %q: got %d names starting %v, want %d starting %v", tc.order, len(gotNames), head(gotNames), len(tc.want), head(tc.want))
			}
		})
	}

	t.Run("ties and missing values page without loss", func(t *testing.T) {
		// Posts: names repeat, and every third post has no name at all.
		var posts []map[string]any
		for i := 0; i < 60; i++ {
			if i%3 == 0 {
				posts = append(posts, map[string]any{"title": fmt.Sprintf("untitled %d", i)})
			} else {
				posts = append(posts, map[string]any{"name": fmt.Sprintf("dup-%d", i%4)})
			}
		}
		write(t, c, "post", posts)
		for _, order := range []string{"name", "-name"} {
			got, _ := readAll(t, c, map[string]any{"shape": "post", "order": order, "limit": 7})
			if len(got) != len(posts) {
				t.Fatalf("order %s: %d posts, want %d", order, len(got), len(posts))
			}
			seen := map[string]bool{}
			var vals []string
			for _, n := range got {
				if seen[n.ID] {
					t.Fatalf("order %s: post %s came twice", order, n.ID)
				}
				seen[n.ID] = true
				name, _ := n.Fields["name"].(string)
				vals = append(vals, name) // "" for no name
			}
			sorted := sort.SliceIsSorted(vals, func(i, j int) bool {
				if order == "-name" {
					// Descending: named first, highest first; no name last.
					return vals[i] > vals[j]
				}
				return vals[i] < vals[j] // ascending: no name ("") first
			})
			if !sorted {
				t.Fatalf("order %s: names in page order %q", order, vals)
			}
		}
	})

	t.Run("a cursor of one order is refused by another", func(t *testing.T) {
		page := readPage(t, c, map[string]any{"shape": "note", "order": "name", "limit": pageSize})
		err := callErr(t, c, "data.read", map[string]any{"shape": "note", "order": "-name", "limit": pageSize, "cursor": page.Cursor})
		wantKind(t, err, wire.KindInvalid, "cursor")
	})
}

func TestWritesEmitGraphChangedEventsWithTheWrittenIDs(t *testing.T) {
	home, _ := graphDaemon(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	watcher, err := wire.DialHome(ctx, home, wire.ClientOptions{Name: "watcher"})
	if err != nil {
		t.Fatal(err)
	}
	defer watcher.Close()
	events := make(chan wire.Event, 4096)
	if _, err := watcher.Subscribe(ctx, -1, func(ev wire.Event) {
		select {
		case events <- ev:
		default:
		}
	}); err != nil {
		t.Fatal(err)
	}

	writer, err := wire.DialHome(ctx, home, wire.ClientOptions{Name: "writer"})
	if err != nil {
		t.Fatal(err)
	}
	defer writer.Close()
	res := write(t, writer, "task", []map[string]any{
		{"title": "evented one", "project": map[string]any{"name": "Events"}},
		{"title": "evented two"},
	})

	changed := waitEvent(t, events, func(ev wire.Event) bool { return ev.Type == wire.EventGraphChanged && ev.Op == "write" })
	for _, id := range res.IDs {
		if !contains(changed.IDs, id) {
			t.Errorf("graph.changed ids %v lack written id %s", changed.IDs, id)
		}
	}
	if len(changed.IDs) != 3 {
		t.Errorf("graph.changed ids %v, want the two tasks and the project made for them", changed.IDs)
	}
	for _, s := range []string{"task", "project", "item"} {
		if !contains(changed.Shapes, s) {
			t.Errorf("graph.changed shapes %v lack %s", changed.Shapes, s)
		}
	}
	done := waitEvent(t, events, func(ev wire.Event) bool { return ev.Type == wire.EventCompleted && ev.Method == "data.write" })
	if done.Caller != "writer" {
		t.Errorf("completed event caller %q, want writer", done.Caller)
	}

	call(t, writer, "data.delete", map[string]any{"id": res.IDs[1]}, nil)
	del := waitEvent(t, events, func(ev wire.Event) bool { return ev.Type == wire.EventGraphChanged && ev.Op == "delete" })
	if !equalStrings(del.IDs, []string{res.IDs[1]}) {
		t.Errorf("delete event ids %v, want [%s]", del.IDs, res.IDs[1])
	}

	// A failed write changes nothing and says so by emitting no graph.changed.
	_ = callErr(t, writer, "data.write", map[string]any{"shape": "task", "items": []map[string]any{{"title": "never", "project": missingID}}})
	waitEvent(t, events, func(ev wire.Event) bool { return ev.Type == wire.EventStarted && ev.Method == "data.write" })
	// Everything between the failed write's started and failed events.
	for _, ev := range eventsUntil(t, events, func(ev wire.Event) bool { return ev.Type == wire.EventFailed && ev.Method == "data.write" }) {
		if ev.Type == wire.EventGraphChanged {
			t.Fatalf("a failed write emitted %+v", ev)
		}
	}
	call(t, writer, "data.create", map[string]any{"shape": "note", "fields": map[string]any{"title": "marker"}}, nil)
	next := waitEvent(t, events, func(ev wire.Event) bool { return ev.Type == wire.EventGraphChanged })
	if next.Op != "create" || !contains(next.Shapes, "note") {
		t.Errorf("after a failed write the next graph.changed is %+v, want the marker note's create", next)
	}
}

// ---- helpers ----

// writeReply is the result of data.write.
type writeReply struct {
	IDs      []string            `json:"ids"`
	Created  int                 `json:"created"`
	Updated  int                 `json:"updated"`
	Warnings []graph.ItemWarning `json:"warnings"`
}

// graphDaemon starts an engine on a fresh home and returns the home and a
// client named "test".
func graphDaemon(t *testing.T) (string, *wire.Client) {
	t.Helper()
	home := testkit.Home(t)
	d := startDaemon(t, home)
	return home, d.client(t)
}

func create(t *testing.T, c *wire.Client, shape string, fields map[string]any) graph.Node {
	t.Helper()
	var n graph.Node
	call(t, c, "data.create", map[string]any{"shape": shape, "fields": fields}, &n)
	if n.ID == "" {
		t.Fatalf("data.create %s answered no id", shape)
	}
	return n
}

func write(t *testing.T, c *wire.Client, shape string, items []map[string]any) writeReply {
	t.Helper()
	var res writeReply
	call(t, c, "data.write", map[string]any{"shape": shape, "items": items}, &res)
	if len(res.IDs) != len(items) {
		t.Fatalf("data.write of %d items answered %d ids", len(items), len(res.IDs))
	}
	return res
}

func readNode(t *testing.T, c *wire.Client, id string) graph.Node {
	t.Helper()
	var n graph.Node
	call(t, c, "data.read", map[string]any{"id": id}, &n)
	return n
}

func readPage(t *testing.T, c *wire.Client, params map[string]any) graph.Page {
	t.Helper()
	var p graph.Page
	call(t, c, "data.read", params, &p)
	return p
}

// readAll follows cursors from params to the end; it returns every node and
// the number of pages read.
func readAll(t *testing.T, c *wire.Client, params map[string]any) ([]*graph.Node, int) {
	t.Helper()
	var all []*graph.Node
	pages := 0
	for {
		p := readPage(t, c, params)
		pages++
		all = append(all, p.Nodes...)
		if p.Cursor == "" {
			return all, pages
		}
		if pages > 1000 {
			t.Fatal("cursor never ends")
		}
		next := map[string]any{}
		for k, v := range params {
			next[k] = v
		}
		next["cursor"] = p.Cursor
		params = next
	}
}

func search(t *testing.T, c *wire.Client, query, shape string) []graph.Hit {
	t.Helper()
	params := map[string]any{"query": query}
	if shape != "" {
		params["shape"] = shape
	}
	var res struct {
		Hits []graph.Hit `json:"hits"`
	}
	call(t, c, "data.search", params, &res)
	return res.Hits
}

func neighbors(t *testing.T, c *wire.Client, params map[string]any) graph.Neighborhood {
	t.Helper()
	var nb graph.Neighborhood
	call(t, c, "data.neighbors", params, &nb)
	return nb
}

// callErr makes a call that must fail and returns its *wire.Error.
func callErr(t *testing.T, c *wire.Client, method string, params any) *wire.Error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var raw json.RawMessage
	err := c.Call(ctx, method, params, &raw)
	if err == nil {
		t.Fatalf("%s %v succeeded with %s, want an error", method, params, raw)
	}
	var e *wire.Error
	if !errors.As(err, &e) {
		t.Fatalf("%s: error %v (%T) is not an *wire.Error", method, err, err)
	}
	return e
}

// wantKind checks an error's kind and that its message names each of names.
func wantKind(t *testing.T, e *wire.Error, kind wire.Kind, names ...string) {
	t.Helper()
	if e.Kind != kind {
		t.Errorf("error kind %q, want %q (message %q)", e.Kind, kind, e.Message)
	}
	for _, n := range names {
		if !strings.Contains(e.Message, n) {
			t.Errorf("error message %q does not name %q", e.Message, n)
		}
	}
}

// waitEvent returns the first event that matches, skipping others.
func waitEvent(t *testing.T, events <-chan wire.Event, match func(wire.Event) bool) wire.Event {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev := <-events:
			if match(ev) {
				return ev
			}
		case <-timeout:
			t.Fatal("no matching observer event within 10s")
		}
	}
}

// eventsUntil returns the events before the first one that matches.
func eventsUntil(t *testing.T, events <-chan wire.Event, match func(wire.Event) bool) []wire.Event {
	t.Helper()
	var seen []wire.Event
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev := <-events:
			if match(ev) {
				return seen
			}
			seen = append(seen, ev)
		case <-timeout:
			t.Fatal("no matching observer event within 10s")
		}
	}
}

func outEdges(n graph.Node, label string) []graph.Edge {
	var out []graph.Edge
	for _, e := range n.Edges {
		if e.From == n.ID && e.Label == label {
			out = append(out, e)
		}
	}
	return out
}

func nodeIDs(nodes []*graph.Node) []string {
	ids := make([]string, len(nodes))
	for i, n := range nodes {
		ids[i] = n.ID
	}
	return ids
}

func hitIDs(hits []graph.Hit) []string {
	ids := make([]string, len(hits))
	for i, h := range hits {
		ids[i] = h.Node.ID
	}
	return ids
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func sameSet(a, b []string) bool {
	a, b = append([]string(nil), a...), append([]string(nil), b...)
	sort.Strings(a)
	sort.Strings(b)
	return equalStrings(a, b)
}

// jsonEqual compares two values by their JSON encoding (nil and empty
// slices differ only where JSON would show it: both encode as null or [],
// so both are normalised to null first).
func jsonEqual(a, b any) bool {
	norm := func(v any) string {
		raw, _ := json.Marshal(v)
		if string(raw) == "[]" {
			return "null"
		}
		return string(raw)
	}
	return norm(a) == norm(b)
}

func head(list []string) []string {
	if len(list) > 5 {
		return list[:5]
	}
	return list
}
