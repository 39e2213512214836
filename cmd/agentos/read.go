package main

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/agentos/agentos/engine/wire"
	"github.com/agentos/agentos/graph"
	"github.com/agentos/agentos/shapes"
)

// idPattern matches node ids (26-character ULIDs) in either case: ids are
// printed in upper case, but one pasted lower-cased is the same id. Anything
// else given to `read` is taken as a shape name.
var idPattern = regexp.MustCompile(`^(?i)[0-9A-HJKMNP-TV-Z]{26}$`)

// whereFlag collects repeated --where key=value filters. Values that parse
// as JSON (numbers, true, "quoted") are sent as such, the rest as strings.
type whereFlag map[string]any

func (w whereFlag) String() string { return "" }

func (w whereFlag) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return fmt.Errorf("want key=value, got %q", s)
	}
	var parsed any
	if json.Unmarshal([]byte(v), &parsed) == nil {
		w[k] = parsed
	} else {
		w[k] = v
	}
	return nil
}

func runRead(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "read", "ID | SHAPE", "Read one node by id (fields, edges), or a page of nodes of a shape.").withJSON()
	where := whereFlag{}
	f.Var(where, "where", "filter key=value (repeatable; equality, array fields: contains)")
	order := f.String("order", "", "sort by this field; prefix - for descending")
	limit := f.Int("limit", 20, "nodes per page")
	cursor := f.String("cursor", "", "cursor printed by the previous page")
	deleted := f.Bool("deleted", false, "include soft-deleted nodes")
	pos, err := f.parseN(args, 1, 1)
	if err != nil {
		return err
	}
	c, err := dial(ctx, e)
	if err != nil {
		return err
	}
	defer c.Close()
	if idPattern.MatchString(pos[0]) {
		var raw rawJSON
		if err := c.Call(ctx, "data.read", map[string]any{"id": strings.ToUpper(pos[0])}, &raw); err != nil {
			return err
		}
		if f.jsonOut() {
			return printJSON(e.stdout, raw)
		}
		var n graph.Node
		if err := raw.decode(&n); err != nil {
			return err
		}
		return printNode(e, &n, edgeTitles(ctx, c, &n))
	}
	params := map[string]any{"shape": pos[0], "limit": *limit}
	if len(where) > 0 {
		params["where"] = map[string]any(where)
	}
	if *order != "" {
		params["order"] = *order
	}
	if *cursor != "" {
		params["cursor"] = *cursor
	}
	if *deleted {
		params["include_deleted"] = true
	}
	var raw rawJSON
	if err := c.Call(ctx, "data.read", params, &raw); err != nil {
		return err
	}
	if f.jsonOut() {
		return printJSON(e.stdout, raw)
	}
	var page graph.Page
	if err := raw.decode(&page); err != nil {
		return err
	}
	for _, w := range page.Warnings {
		fmt.Fprintln(e.stderr, "warning:", w)
	}
	sh := shapeOf(ctx, c, pos[0])
	t := newTable(e.stdout)
	t.row("ID", "TITLE", "DETAIL", "UPDATED")
	for _, n := range page.Nodes {
		title, detail := displayOf(sh, n)
		t.row(n.ID, clip(title, 60), clip(detail, 40), n.UpdatedAt.Local().Format(time.DateTime))
	}
	if err := t.flush(); err != nil {
		return err
	}
	if len(page.Nodes) == 0 {
		fmt.Fprintf(e.stderr, "no %s nodes match\n", pos[0])
	}
	if page.Cursor != "" {
		// The next page of this same query: the cursor is refused by any other.
		next := []string{"agentos", "read", shellQuote(pos[0])}
		for _, k := range slices.Sorted(maps.Keys(where)) {
			next = append(next, "--where", shellQuote(fmt.Sprintf("%s=%v", k, where[k])))
		}
		if *order != "" {
			next = append(next, "--order", shellQuote(*order))
		}
		if *limit != 20 {
			next = append(next, "--limit", strconv.Itoa(*limit))
		}
		if *deleted {
			next = append(next, "--deleted")
		}
		fmt.Fprintf(e.stderr, "more: %s --cursor %s\n", strings.Join(next, " "), page.Cursor)
	}
	return nil
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r == '-' || r == '_' || r == '.' || r == '=' || r == ':' || r == '/' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func shapeOf(ctx context.Context, c *wire.Client, name string) *shapes.Shape {
	var sh shapes.Shape
	if c.Call(ctx, "shapes.get", map[string]string{"name": name}, &sh) != nil {
		return nil
	}
	return &sh
}

// displayOf picks the title and a detail line for a node, following the
// shape's display hints, then common fields.
func displayOf(sh *shapes.Shape, n *graph.Node) (title, detail string) {
	pick := func(keys ...string) string {
		for _, k := range keys {
			if v, ok := n.Fields[k]; ok && show(v) != "" {
				return show(v)
			}
		}
		return ""
	}
	var tk, sk string
	if sh != nil {
		tk, sk = sh.Display["title"], sh.Display["subtitle"]
	}
	title = pick(tk, "title", "name", "subject", "url", "handle", "email")
	detail = pick(sk, "content", "text", "description")
	return title, detail
}

// maxEdgeTitles bounds the lookups read ID makes to title its edges.
const maxEdgeTitles = 50

// edgeTitles reads the other end of n's edges (at most maxEdgeTitles) for
// their titles and shapes: "Garden planner (project)".
func edgeTitles(ctx context.Context, c *wire.Client, n *graph.Node) map[string]string {
	out := map[string]string{}
	shapesSeen := map[string]*shapes.Shape{}
	for _, ed := range n.Edges {
		id := ed.To
		if ed.To == n.ID {
			id = ed.From
		}
		if _, done := out[id]; done || len(out) >= maxEdgeTitles {
			continue
		}
		var other graph.Node
		out[id] = ""
		if c.Call(ctx, "data.read", map[string]any{"id": id}, &other) != nil {
			continue
		}
		name := firstShape(other.Shapes)
		sh, ok := shapesSeen[name]
		if !ok {
			sh = shapeOf(ctx, c, name)
			shapesSeen[name] = sh
		}
		title, _ := displayOf(sh, &other)
		if title != "" {
			out[id] = clip(title, 60) + " (" + name + ")"
		}
	}
	return out
}

func firstShape(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

func printNode(e *env, n *graph.Node, titles map[string]string) error {
	t := newTable(e.stdout)
	t.row("id", n.ID)
	t.row("shapes", strings.Join(n.Shapes, ", "))
	t.row("created", n.CreatedAt.Local().Format(time.DateTime))
	t.row("updated", n.UpdatedAt.Local().Format(time.DateTime))
	if n.DeletedAt != nil {
		t.row("deleted", n.DeletedAt.Local().Format(time.DateTime)+"  (agentos call data.restore '{\"id\":\""+n.ID+"\"}' undoes it)")
	}
	keys := make([]string, 0, len(n.Fields))
	for k := range n.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	t.row("", "")
	for _, k := range keys {
		t.row(k, clip(show(n.Fields[k]), 100))
	}
	if len(n.Edges) > 0 {
		t.row("", "")
		named := func(id string) string {
			if title := titles[id]; title != "" {
				return title + "  " + id
			}
			return id
		}
		for _, ed := range n.Edges {
			if ed.From == n.ID {
				t.row("-"+ed.Label+"->", named(ed.To))
			} else {
				t.row("<-"+ed.Label+"-", named(ed.From))
			}
		}
	}
	return t.flush()
}

func runSearch(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "search", "QUERY", "Full-text search over the text fields of every node.").withJSON()
	shape := f.String("shape", "", "only nodes of this shape")
	limit := f.Int("limit", 20, "most hits to show")
	pos, err := f.parseN(args, 1, -1)
	if err != nil {
		return err
	}
	c, err := dial(ctx, e)
	if err != nil {
		return err
	}
	defer c.Close()
	params := map[string]any{"query": strings.Join(pos, " "), "limit": *limit}
	if *shape != "" {
		params["shape"] = *shape
	}
	var raw rawJSON
	if err := c.Call(ctx, "data.search", params, &raw); err != nil {
		return err
	}
	if f.jsonOut() {
		return printJSON(e.stdout, raw)
	}
	var res struct {
		Hits []graph.Hit `json:"hits"`
	}
	if err := raw.decode(&res); err != nil {
		return err
	}
	if len(res.Hits) == 0 {
		fmt.Fprintln(e.stderr, "no matches")
		return nil
	}
	t := newTable(e.stdout)
	t.row("ID", "SHAPE", "TITLE", "MATCH")
	for _, h := range res.Hits {
		title, _ := displayOf(nil, h.Node)
		shape := ""
		if len(h.Node.Shapes) > 0 {
			shape = h.Node.Shapes[0]
		}
		t.row(h.Node.ID, shape, clip(title, 40), clip(h.Snippet, 80))
	}
	return t.flush()
}
