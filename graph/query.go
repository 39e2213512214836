package graph

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/agentos/agentos/internal/jsonstr"
	"github.com/agentos/agentos/shapes"
)

// Query selects nodes of one shape.
//
// Where is equality per key, all must hold: a field compares against its
// stored value (coerced like a write would store it; an array field matches
// when any element equals), a relation key compares against a target node
// id, and nil means "has no value for this key".
//
// Order is "" or "created_at" (creation order, the default), "-created_at",
// "updated_at", "-updated_at", or a field name, "-" prefixed for
// descending; nodes without that field sort first ascending, last
// descending. Ties break by id.
type Query struct {
	Shape          string         `json:"shape"`
	Where          map[string]any `json:"where,omitempty"`
	Order          string         `json:"order,omitempty"`
	Limit          int            `json:"limit,omitempty"`
	Cursor         string         `json:"cursor,omitempty"`
	IncludeDeleted bool           `json:"include_deleted,omitempty"`
	// OmitEdges leaves each node's Edges out: a page for a table (the
	// bridge's) does not need them, and one node may have thousands.
	OmitEdges bool `json:"-"`
}

// Page is one page of a Query. Cursor fetches the next page; it is empty
// at the end.
type Page struct {
	Nodes  []*Node `json:"nodes"`
	Cursor string  `json:"cursor,omitempty"`
	// Warnings name filter and order keys the shape does not declare (with
	// a did-you-mean): a typo reads as an empty page otherwise.
	Warnings []string `json:"warnings,omitempty"`
}

const (
	defaultLimit = 50
	MaxPageLimit = 1000 // data.read {shape}: nodes per page at most
)

// cursor is the keyset position after the last row of a page: its order
// value and its seq (creation order, the tie-break). Encoded as base64 JSON;
// clients treat it as opaque. It names the order it belongs to, so a cursor
// reused with another order is refused rather than misread.
type cursor struct {
	Order string  `json:"o"`
	Query string  `json:"h,omitempty"` // the query it pages (queryKey): another query's is refused
	Kind  string  `json:"k,omitempty"` // "" none (id orders), "i", "f", "s", "n" (null)
	I     int64   `json:"i,omitempty"`
	F     float64 `json:"f,omitempty"`
	S     string  `json:"s,omitempty"`
	Seq   int64   `json:"q"` // keyset position: the last row's internal seq (creation order)
}

func encodeCursor(c cursor) string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

var errCursor = errorf(ErrInvalid, "cursor is not valid for this query; repeat the query without a cursor to start over")

func decodeCursor(s, order, query string) (*cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, errCursor
	}
	var c cursor
	if err := json.Unmarshal(b, &c); err != nil || c.Order != order || c.Query != query || c.Seq <= 0 {
		return nil, errCursor
	}
	return &c, nil
}

// queryKey names what a page of q lists: its shape, filter and deleted
// flag (the order is in the cursor already), hashed short. A cursor from
// another query would skip or repeat rows of this one silently.
func queryKey(q Query) string {
	where, _ := json.Marshal(q.Where) // map keys are sorted
	sum := sha256.Sum256([]byte(q.Shape + "\x00" + string(where) + "\x00" + strconv.FormatBool(q.IncludeDeleted)))
	return base64.RawURLEncoding.EncodeToString(sum[:9])
}

func (c *cursor) value() any {
	switch c.Kind {
	case "i":
		return c.I
	case "f":
		return c.F
	case "s":
		return c.S
	}
	return nil
}

func cursorValue(c *cursor, v any) {
	switch x := v.(type) {
	case int64:
		c.Kind, c.I = "i", x
	case float64:
		c.Kind, c.F = "f", x
	case string:
		c.Kind, c.S = "s", x
	case []byte:
		c.Kind, c.S = "s", string(x)
	default:
		c.Kind = "n"
	}
}

// where is one compiled condition.
type whereCond struct {
	key   string
	rel   bool
	null  bool
	value any // SQL value
}

// Query returns one page of nodes of q.Shape. Lookups by (key, value) go
// through the vals(key, value) index and pages are keyset-paginated, so a
// page costs the same at any depth and stays stable under concurrent inserts.
func (s *Store) Query(ctx context.Context, q Query) (*Page, error) {
	pr, err := s.queryRows(ctx, q)
	if err != nil {
		return nil, err
	}
	page := &Page{Nodes: make([]*Node, 0, len(pr.rows)), Cursor: pr.cursor, Warnings: pr.warnings}
	for i := range pr.rows {
		node, err := pr.rows[i].node()
		if err != nil {
			return nil, err
		}
		node.Edges = liveEdges(&pr.rows[i], pr.edges)
		page.Nodes = append(page.Nodes, node)
	}
	return page, nil
}

// queryRows runs q: the page's rows in one statement, their edges in a
// second (none when q.OmitEdges).
func (s *Store) queryRows(ctx context.Context, q Query) (*pageRows, error) {
	if strings.TrimSpace(q.Shape) == "" {
		return nil, errorf(ErrInvalid, "query needs a shape")
	}
	limit := q.Limit
	switch {
	case limit < 0:
		return nil, errorf(ErrInvalid, "limit must be positive")
	case limit == 0:
		limit = defaultLimit
	case limit > MaxPageLimit:
		limit = MaxPageLimit
	}
	reg := s.reg.Load()
	ord, err := parseOrder(q.Order)
	if err != nil {
		return nil, err
	}
	rq := s.reader(ctx)
	sh, known := reg.Get(q.Shape)
	if !known {
		// Nodes of a shape whose definition went away stay listable; a name
		// nothing has ever used is most likely a typo worth a "did you mean".
		var used bool
		if err := rq.query("SELECT 1 FROM node_shapes WHERE shape = ? LIMIT 1", []any{q.Shape}, 1, func([]any) error { used = true; return nil }); err != nil {
			return nil, err
		}
		if !used || len(q.Where) > 0 {
			_, err := reg.Coerce(q.Shape, nil)
			return nil, shapeErr(err)
		}
	}
	conds, err := compileWhere(reg, sh, q.Shape, q.Where)
	if err != nil {
		return nil, err
	}
	// A page in creation order streams from an index and stops at its
	// limit; one sorted by a value, or driven through edges (whose matches
	// are sorted), reads every candidate first, and only an interrupt can
	// stop it early.
	if streams(ord, conds) {
		rq = s.streamReader(ctx)
	}
	sqlText, args, ord, err := buildQuery(q, conds, limit)
	if err != nil {
		return nil, err
	}
	type pageRow struct {
		nodeRow
		val any // the order value, for the cursor
	}
	var rows []pageRow
	folded := foldsEdges(q, ord, conds) // edges come with the rows (edgesCol)
	ncol := 8
	if folded {
		ncol = 9
	}
	var edges pageEdges
	if folded {
		edges = pageEdges{}
	}
	if err := rq.query(sqlText, args, ncol, func(r []any) error {
		seq := r[0].(int64)
		// An array holding the matched value twice yields its node twice,
		// always adjacently (same order value, same seq).
		if n := len(rows); n > 0 && rows[n-1].seq == seq {
			return nil
		}
		rows = append(rows, pageRow{nodeRow: scanNode(r), val: r[7]})
		if folded {
			return edges.addJSON(r[8])
		}
		return nil
	}); err != nil {
		return nil, err
	}
	page := &pageRows{}
	keys := slices.Sorted(maps.Keys(q.Where))
	if ord.kind == orderField {
		keys = append(keys, ord.field)
	}
	for _, k := range keys {
		if w := s.Shapes().UnknownKey(q.Shape, k); w != "" && !slices.Contains(page.warnings, w) {
			page.warnings = append(page.warnings, w)
		}
	}
	if len(rows) > limit {
		last := rows[limit-1]
		c := cursor{Order: ord.text, Query: queryKey(q), Seq: last.seq}
		if ord.kind != orderID {
			cursorValue(&c, last.val)
		}
		page.cursor = encodeCursor(c)
		rows = rows[:limit]
	}
	page.rows = make([]nodeRow, len(rows))
	page.edges = edges
	var live []string
	for i, r := range rows {
		page.rows[i] = r.nodeRow
		if r.deleted == nil {
			live = append(live, r.id)
		}
	}
	if !q.OmitEdges && !folded && len(live) > 0 {
		if page.edges, err = s.loadEdges(rq, live); err != nil {
			return nil, err
		}
	}
	return page, nil
}

// pageRows is a page as read: its rows, their edges, and the rest of Page.
type pageRows struct {
	rows     []nodeRow
	edges    pageEdges
	cursor   string
	warnings []string
}

// QueryJSON is Query's page as JSON, written straight from the rows (see
// wirejson.go): the same bytes json.Marshal of Query's page gives.
func (s *Store) QueryJSON(ctx context.Context, q Query) (json.RawMessage, error) {
	pr, err := s.queryRows(ctx, q)
	if err != nil {
		return nil, err
	}
	b := append(make([]byte, 0, 512*len(pr.rows)+32), `{"nodes":[`...)
	for i := range pr.rows {
		if i > 0 {
			b = append(b, ',')
		}
		if b, err = appendNodeJSON(b, &pr.rows[i], liveEdges(&pr.rows[i], pr.edges)); err != nil {
			return nil, err
		}
	}
	b = append(b, ']')
	if pr.cursor != "" {
		b = append(b, `,"cursor":`...)
		b = jsonstr.Append(b, pr.cursor, true)
	}
	if len(pr.warnings) > 0 {
		b = append(b, `,"warnings":[`...)
		for i, w := range pr.warnings {
			if i > 0 {
				b = append(b, ',')
			}
			b = jsonstr.Append(b, w, true)
		}
		b = append(b, ']')
	}
	return append(b, '}'), nil
}

// selectiveLimit is the largest page Selective calls short.
const selectiveLimit = 100

// Selective reports whether q is a short read: a page of at most
// selectiveLimit nodes in creation order, driven by an exact text value (a
// title, a url, an email), so its cost is bounded by the few nodes that
// hold that value rather than by the size of the shape. The engine runs
// such reads on the connection's read loop, as it runs point reads.
func (s *Store) Selective(q Query) bool {
	if q.Limit > selectiveLimit || len(q.Where) == 0 {
		return false
	}
	if ord, err := parseOrder(q.Order); err != nil || ord.kind != orderID {
		return false
	}
	reg := s.reg.Load()
	sh, known := reg.Get(q.Shape)
	if !known {
		return false
	}
	conds, err := compileWhere(reg, sh, q.Shape, q.Where)
	if err != nil {
		return false
	}
	d := pickDriver(conds)
	if d < 0 || conds[d].rel {
		return false
	}
	_, text := conds[d].value.(string)
	return text
}

func compileWhere(reg *shapes.Registry, sh *shapes.Shape, shape string, where map[string]any) ([]whereCond, error) {
	conds := make([]whereCond, 0, len(where))
	for _, k := range slices.Sorted(maps.Keys(where)) {
		v := where[k]
		if v == nil {
			conds = append(conds, whereCond{key: k, null: true, rel: sh != nil && sh.Relations[k].Shape != ""})
			continue
		}
		val, err := reg.CoerceValue(shape, k, v)
		if err != nil {
			return nil, fmt.Errorf("where: %w", shapeErr(err))
		}
		_, isRel := sh.Relations[k]
		conds = append(conds, whereCond{key: k, rel: isRel, value: sqlOf(val)})
	}
	return conds, nil
}

type orderKind int

const (
	orderID orderKind = iota
	orderUpdated
	orderField
)

type order struct {
	text  string
	kind  orderKind
	desc  bool
	field string
}

func parseOrder(s string) (order, error) {
	o := order{text: s}
	name := s
	if strings.HasPrefix(name, "-") {
		o.desc = true
		name = name[1:]
	}
	switch name {
	case "", "created_at", "id":
		o.kind = orderID
		if s == "-" {
			return o, errorf(ErrInvalid, "order %q names no field", s)
		}
	case "updated_at":
		o.kind = orderUpdated
	default:
		if strings.TrimSpace(name) != name || strings.HasPrefix(name, "-") {
			return o, errorf(ErrInvalid, "order %q: use a field name, optionally prefixed with '-'", s)
		}
		o.kind, o.field = orderField, name
	}
	return o, nil
}

// docPath is the JSON path of key inside a fields document. SQLite matches
// a quoted path label against the key as the document spells it, which is
// exactly how appendJSONString wrote it.
func docPath(key string) string {
	return "$." + string(appendJSONString(nil, key))
}

// buildQuery compiles q into one SELECT of the page's node rows and their
// order values. The driving table is chosen so an index does the
// filtering: a field condition drives through the vals primary key (key,
// value, owner) — whose entries are in creation order, so the default order
// needs no sort — else a relation condition through edges(to_id, label),
// else node_shapes(shape, node). Every other condition is a point lookup
// per candidate row.
func buildQuery(q Query, conds []whereCond, limit int) (string, []any, order, error) {
	ord, err := parseOrder(q.Order)
	if err != nil {
		return "", nil, ord, err
	}
	var after *cursor
	if q.Cursor != "" {
		if after, err = decodeCursor(q.Cursor, ord.text, queryKey(q)); err != nil {
			return "", nil, ord, err
		}
	}
	p := &sqlQuery{conds: conds, driver: pickDriver(conds), ord: ord, edges: foldsEdges(q, ord, conds)}
	p.selectFrom(q.Shape, q.IncludeDeleted)
	p.filters()
	if after != nil {
		p.after(after)
	}
	p.orderBy(limit)
	return p.b.String(), p.args, ord, nil
}

// sqlQuery is a SELECT being written: its text, its arguments, and what
// the later clauses need to know of the earlier ones.
type sqlQuery struct {
	b      strings.Builder
	args   []any
	conds  []whereCond
	driver int    // the condition whose index drives the scan; -1: none (node_shapes)
	idCol  string // the row key column of the driving table
	ord    order
	// edges: the statement also selects each row's live edges (edgesCol).
	edges bool
}

// foldsEdges tells whether q's statement selects its rows' edges too: only
// when its rows stream in creation order and stop at the limit (not driven
// through edges, whose matches are sorted): a sorted page would compute
// them for every candidate.
func foldsEdges(q Query, ord order, conds []whereCond) bool {
	return !q.OmitEdges && streams(ord, conds)
}

// streams tells whether a query's rows come in index order, with no sort
// before the first: creation order, not driven through edges.
func streams(ord order, conds []whereCond) bool {
	if ord.kind != orderID {
		return false
	}
	d := pickDriver(conds)
	return d < 0 || !conds[d].rel
}

// edgesCol is a row's live edges as one JSON array of [side, id, label,
// from, to, created_at], sides as in selEdges: a page in creation order
// then costs one statement.
const edgesCol = `, (SELECT json_group_array(json_array(le.side, le.id, le.label, le.from_id, le.to_id, le.created_at)) FROM (
	SELECT 1 AS side, e.id, e.label, e.from_id, e.to_id, e.created_at FROM edges e JOIN nodes t ON t.id = e.to_id
	WHERE e.from_id = n.id AND e.deleted_at IS NULL AND t.deleted_at IS NULL
	UNION ALL
	SELECT 2, e.id, e.label, e.from_id, e.to_id, e.created_at FROM edges e JOIN nodes f ON f.id = e.from_id
	WHERE e.to_id = n.id AND e.deleted_at IS NULL AND f.deleted_at IS NULL AND e.from_id <> e.to_id) AS le)`

func (p *sqlQuery) add(text string, args ...any) {
	p.b.WriteString(text)
	p.args = append(p.args, args...)
}

// pickDriver returns the condition likely to match fewest rows: a text
// value (titles, emails, urls), then a relation target, then numbers and
// booleans (few distinct values, many rows each); -1 when none can drive.
func pickDriver(conds []whereCond) int {
	driver, best := -1, 0
	for i, c := range conds {
		rank := 0
		switch {
		case c.null:
			continue
		case c.rel:
			rank = 2
		default:
			rank = 1
			if _, isText := c.value.(string); isText {
				rank = 3
			}
		}
		if rank > best {
			driver, best = i, rank
		}
	}
	return driver
}

// selectFrom writes SELECT … FROM … WHERE with the driving condition, the
// shape and the deletion filter. CROSS JOIN fixes the join order: the
// driving index first, then point lookups, whatever the planner would guess
// without statistics.
func (p *sqlQuery) selectFrom(shape string, includeDeleted bool) {
	var from, cond string
	var condArgs []any
	switch {
	case p.driver < 0:
		from, p.idCol = "node_shapes d CROSS JOIN nodes n ON n.seq = d.node", "d.node"
		cond, condArgs = "d.shape = ?", []any{shape}
	case p.conds[p.driver].rel:
		d := p.conds[p.driver]
		from, p.idCol = "edges d CROSS JOIN nodes n ON n.id = d.from_id", "n.seq"
		cond, condArgs = "d.to_id = ? AND d.label = ? AND d.deleted_at IS NULL", []any{d.value, d.key}
	default:
		d := p.conds[p.driver]
		from, p.idCol = "vals d CROSS JOIN nodes n ON n.seq = d.owner", "d.owner"
		cond, condArgs = "d.key = ? AND d.value = ? AND d.owner > 0", []any{d.key, d.value}
	}
	// The node's columns in scanNode's order, then the order value.
	cols := "SELECT " + p.idCol + ", n.id, n.shapes, n.fields, n.created_at, n.updated_at, n.deleted_at, "
	switch p.ord.kind {
	case orderUpdated:
		p.add(cols + "n.updated_at")
	case orderField:
		p.add(cols+"json_extract(n.fields, ?)", docPath(p.ord.field))
	default:
		p.add(cols + "NULL")
	}
	if p.edges {
		p.add(edgesCol)
	}
	p.add(" FROM "+from+" WHERE "+cond, condArgs...)
	if p.driver >= 0 {
		p.add(" AND EXISTS (SELECT 1 FROM node_shapes s WHERE s.shape = ? AND s.node = "+p.idCol+")", shape)
	}
	if !includeDeleted {
		p.add(" AND n.deleted_at IS NULL")
	}
}

// filters writes every condition but the driving one as a point lookup.
func (p *sqlQuery) filters() {
	for i, c := range p.conds {
		if i == p.driver {
			continue
		}
		switch {
		case c.null && c.rel:
			p.add(" AND NOT EXISTS (SELECT 1 FROM edges x WHERE x.from_id = n.id AND x.label = ? AND x.deleted_at IS NULL)", c.key)
		case c.null:
			// Absence is read from the node's own document: the vals key
			// (key, value, owner) cannot answer "owner has no value for key".
			p.add(" AND json_type(n.fields, ?) IS NULL", docPath(c.key))
		case c.rel:
			p.add(" AND EXISTS (SELECT 1 FROM edges x WHERE x.from_id = n.id AND x.label = ? AND x.to_id = ? AND x.deleted_at IS NULL)", c.key, c.value)
		default:
			p.add(" AND EXISTS (SELECT 1 FROM vals x WHERE x.key = ? AND x.value = ? AND x.owner = "+p.idCol+")", c.key, c.value)
		}
	}
}

// after writes the keyset condition that starts the page after c.
func (p *sqlQuery) after(c *cursor) {
	id := p.idCol
	cmp := ">"
	if p.ord.desc {
		cmp = "<"
	}
	switch p.ord.kind {
	case orderID:
		p.add(" AND "+id+" "+cmp+" ?", c.Seq)
	case orderUpdated:
		p.add(" AND (n.updated_at "+cmp+" ? OR (n.updated_at = ? AND "+id+" "+cmp+" ?))", c.I, c.I, c.Seq)
	case orderField:
		// NULLs sort first ascending and last descending (SQLite's rule).
		const ov = "json_extract(n.fields, ?)"
		cv, path := c.value(), docPath(p.ord.field)
		switch {
		case cv == nil && !p.ord.desc:
			p.add(" AND (("+ov+" IS NULL AND "+id+" > ?) OR "+ov+" IS NOT NULL)", path, c.Seq, path)
		case cv == nil:
			p.add(" AND "+ov+" IS NULL AND "+id+" < ?", path, c.Seq)
		case !p.ord.desc:
			p.add(" AND ("+ov+" > ? OR ("+ov+" = ? AND "+id+" > ?))", path, cv, path, cv, c.Seq)
		default:
			p.add(" AND ("+ov+" < ? OR "+ov+" IS NULL OR ("+ov+" = ? AND "+id+" < ?))", path, cv, path, path, cv, c.Seq)
		}
	}
}

// orderBy writes ORDER BY, ties broken by creation, and LIMIT: one row more
// than the page, which tells whether another page follows.
func (p *sqlQuery) orderBy(limit int) {
	dir := ""
	if p.ord.desc {
		dir = " DESC"
	}
	switch p.ord.kind {
	case orderID:
		p.add(" ORDER BY " + p.idCol + dir)
	case orderUpdated:
		p.add(" ORDER BY n.updated_at" + dir + ", " + p.idCol + dir)
	case orderField:
		p.add(" ORDER BY 8" + dir + ", " + p.idCol + dir)
	}
	p.add(" LIMIT ?", int64(limit+1))
}
