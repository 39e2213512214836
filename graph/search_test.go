package graph

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestSearchFindsTextAndSurvivesHostileQueries(t *testing.T) {
	s := openTest(t, nil, Options{})
	ctx := context.Background()
	a, err := s.Create(ctx, "note", map[string]any{"title": "Quarterly planning", "content": "We discussed the roadmap and budgets for Zürich.", "tags": []any{"finance"}}, nil)
	ok(t, err)
	b, err := s.Create(ctx, "task", map[string]any{"title": "Prepare budget slides", "status": "todo"}, nil)
	ok(t, err)
	_, err = s.Create(ctx, "webpage", map[string]any{"url": "https://budget.example.com", "name": "Unrelated"}, nil)
	ok(t, err)

	hits, err := s.Search(ctx, "budget", "", 10)
	ok(t, err)
	if len(hits) != 2 {
		t.Fatalf("budget: %d hits, want the note and the task (not the url)", len(hits))
	}
	for _, h := range hits {
		if !strings.Contains(strings.ToLower(h.Snippet), "[budget") {
			t.Errorf("snippet %q does not mark the match", h.Snippet)
		}
	}
	hits, err = s.Search(ctx, "budget", "task", 10)
	ok(t, err)
	if len(hits) != 1 || hits[0].Node.ID != b.ID {
		t.Fatalf("shape filter: %+v", hits)
	}
	for _, q := range []string{"zurich", "FINANCE", "quart", "roadmap budgets"} {
		hits, err = s.Search(ctx, q, "", 10)
		ok(t, err)
		if len(hits) != 1 || hits[0].Node.ID != a.ID {
			t.Errorf("search %q: %d hits", q, len(hits))
		}
	}
	for _, q := range []string{`foo"`, `"`, `AND`, `OR budget`, `NOT`, `(`, `)`, `*`, `budget*`, `NEAR(a b)`, `title:budget`, `-budget`, `^budget`, `{a b}`, `'`, ``, `   `, "\x00", `""""`, `a AND OR NOT b`, "\xffbudget\xfe", "bud\u0000get"} {
		if _, err := s.Search(ctx, q, "", 10); err != nil {
			t.Errorf("search %q failed: %v", q, err)
		}
	}
	hits, err = s.Search(ctx, `budget"`, "", 10)
	ok(t, err)
	if len(hits) != 2 {
		t.Errorf(`budget" should still find budget: %d hits`, len(hits))
	}
	hits, err = s.Search(ctx, "AND", "", 10)
	ok(t, err)
	if len(hits) != 1 || hits[0].Node.ID != a.ID { // "and" is a word in the note
		t.Errorf("AND should be a plain word: %d hits", len(hits))
	}
	// Updates reindex: the old words go, the new ones come.
	_, err = s.Update(ctx, b.ID, map[string]any{"title": "Prepare forecast slides"})
	ok(t, err)
	hits, err = s.Search(ctx, "budget", "task", 10)
	ok(t, err)
	if len(hits) != 0 {
		t.Errorf("old text still indexed after update")
	}
	hits, err = s.Search(ctx, "forecast", "", 10)
	ok(t, err)
	if len(hits) != 1 {
		t.Errorf("new text not indexed after update")
	}
}

func TestFTSQueryQuotesEveryWord(t *testing.T) {
	for in, want := range map[string]string{
		`foo bar`:    `"foo"* "bar"*`,
		`foo"`:       `"foo"""*`,
		`AND`:        `"AND"*`,
		`(x) * ^ " `: `"(x)"*`,
		`e-mail`:     `"e-mail"*`,
		"":           ``,
	} {
		if got, _, err := ftsQuery(in); err != nil || got != want {
			t.Errorf("ftsQuery(%q) = %q, want %q", in, got, want)
		}
	}
}

// kestrels creates n nodes of shape whose text holds "kestrel" among a
// number of filler words that differs per node, so every node scores
// differently (bm25 falls as the text grows), and returns their ids.
func kestrels(t *testing.T, s *Store, shape string, n, filler int) []string {
	t.Helper()
	items := make([]map[string]any, n)
	for i := range items {
		words := []string{"kestrel"}
		for j := 0; j < filler+i; j++ {
			words = append(words, fmt.Sprintf("w%d", j))
		}
		items[i] = map[string]any{"title": fmt.Sprintf("%s %d", shape, i), "tags": []any{strings.Join(words, " ")}}
	}
	res, err := s.Write(context.Background(), shape, items)
	ok(t, err)
	return res.IDs
}

func hitIDs(hits []Hit) []string {
	ids := make([]string, len(hits))
	for i, h := range hits {
		ids[i] = h.Node.ID
	}
	return ids
}

// The top k are the first k of the whole ordering, and that ordering is
// the index's own bm25 order over every match, computed here without
// Search's query.
func TestSearchTopKIsTheFirstKOfTheFullOrdering(t *testing.T) {
	s := openTest(t, nil, Options{})
	ctx := context.Background()
	kestrels(t, s, "note", 40, 0)
	kestrels(t, s, "task", 25, 3)
	// Equal text, equal score: within the hits, ties go newest first.
	tie, err := s.Write(ctx, "note", []map[string]any{{"title": "tie a", "tags": []any{"kestrel tie"}}, {"title": "tie b", "tags": []any{"kestrel tie"}}})
	ok(t, err)

	full, err := s.Search(ctx, "kestrel", "", MaxSearchLimit)
	ok(t, err)
	if len(full) != 67 {
		t.Fatalf("%d hits, want all 67 matches", len(full))
	}
	type scored struct {
		id    string
		score float64
		seq   int64
	}
	var want []scored
	ok(t, s.reader(ctx).query(`SELECT n.id, bm25(fts), n.seq FROM fts JOIN nodes n ON n.seq = fts.rowid WHERE fts MATCH '"kestrel"*'`, nil, 3, func(r []any) error {
		want = append(want, scored{r[0].(string), -r[1].(float64), r[2].(int64)})
		return nil
	}))
	slices.SortStableFunc(want, func(a, b scored) int {
		if a.score != b.score {
			if a.score > b.score {
				return -1
			}
			return 1
		}
		return int(b.seq - a.seq)
	})
	for i, h := range full {
		if h.Node.ID != want[i].id || h.Rank != want[i].score {
			t.Fatalf("hit %d = %s (%g), want %s (%g)", i, h.Node.ID, h.Rank, want[i].id, want[i].score)
		}
	}
	a, b := slices.Index(hitIDs(full), tie.IDs[0]), slices.Index(hitIDs(full), tie.IDs[1])
	if full[a].Rank != full[b].Rank || b > a {
		t.Errorf("tied hits at %d and %d (ranks %g, %g): the newer should come first", a, b, full[a].Rank, full[b].Rank)
	}
	// Which of equally ranked matches make the cut at the limit is the
	// index's choice: hits must have the full ordering's ranks, and its
	// ids wherever a rank is not shared.
	shared := map[float64]int{}
	for _, h := range full {
		shared[h.Rank]++
	}
	for _, k := range []int{1, 2, 10, 40, 66, 67, 68} {
		hits, err := s.Search(ctx, "kestrel", "", k)
		ok(t, err)
		exp := full[:min(k, len(full))]
		if len(hits) != len(exp) {
			t.Fatalf("limit %d: %d hits, want %d", k, len(hits), len(exp))
		}
		for i, h := range hits {
			if h.Rank != exp[i].Rank || shared[h.Rank] == 1 && h.Node.ID != exp[i].Node.ID {
				t.Errorf("limit %d, hit %d: %s (%g), want %s (%g)", k, i, h.Node.ID, h.Rank, exp[i].Node.ID, exp[i].Rank)
			}
		}
	}
	def, err := s.Search(ctx, "kestrel", "", 0)
	ok(t, err)
	if len(def) != defaultSearchLimit || def[len(def)-1].Rank != full[defaultSearchLimit-1].Rank {
		t.Errorf("default limit: %d hits, want the first %d", len(def), defaultSearchLimit)
	}
	for _, h := range def {
		if !strings.Contains(h.Snippet, "[kestrel]") {
			t.Errorf("snippet %q does not mark the match", h.Snippet)
		}
	}
}

// Filters run before the limit: matches hidden by the shape filter or by
// deletion, more of them than k and all ranked above the ones shown, never
// leave fewer than k hits while k live ones of the shape exist.
func TestSearchFiltersHideMoreMatchesThanTheLimit(t *testing.T) {
	s := openTest(t, nil, Options{})
	ctx := context.Background()
	notes := kestrels(t, s, "note", 30, 0) // short texts: the 30 best matches
	tasks := kestrels(t, s, "task", 6, 40) // long texts: the 6 worst
	hits, err := s.Search(ctx, "kestrel", "task", 4)
	ok(t, err)
	if !slices.Equal(hitIDs(hits), tasks[:4]) {
		t.Fatalf("shape task, limit 4: %v, want the 4 best tasks %v", hitIDs(hits), tasks[:4])
	}
	hits, err = s.Search(ctx, "kestrel", "item", 40) // item: every note and task, through also
	ok(t, err)
	if len(hits) != 36 {
		t.Errorf("shape item: %d hits, want 36", len(hits))
	}
	hits, err = s.Search(ctx, "kestrel", "person", 10)
	ok(t, err)
	if len(hits) != 0 {
		t.Errorf("shape person: %d hits, want none", len(hits))
	}

	// Delete the 25 best notes: the next 5 live ones come back, in order.
	for _, id := range notes[:25] {
		_, err := s.Delete(ctx, id)
		ok(t, err)
	}
	hits, err = s.Search(ctx, "kestrel", "", 8)
	ok(t, err)
	if want := append(slices.Clone(notes[25:]), tasks[:3]...); !slices.Equal(hitIDs(hits), want) {
		t.Fatalf("after deleting the 25 best: %v, want %v", hitIDs(hits), want)
	}

	// Nodes marked deleted behind the store's back stay in the index (as
	// they would in an index that kept a row): they are hidden too.
	raw, err := sql.Open("sqlite", writerDSN(s.path))
	ok(t, err)
	defer raw.Close()
	for _, id := range notes[25:28] {
		_, err = raw.Exec(`UPDATE nodes SET deleted_at = 1 WHERE id = ?`, id)
		ok(t, err)
	}
	var indexed int
	ok(t, raw.QueryRow(`SELECT count(*) FROM fts WHERE fts MATCH 'kestrel'`).Scan(&indexed))
	if indexed != 30-25+6 {
		t.Fatalf("index holds %d matches, want 11", indexed)
	}
	for shape, want := range map[string][]string{"": append(slices.Clone(notes[28:]), tasks[:3]...), "note": notes[28:]} {
		hits, err = s.Search(ctx, "kestrel", shape, 5)
		ok(t, err)
		if !slices.Equal(hitIDs(hits), want) {
			t.Errorf("shape %q with deleted nodes in the index: %v, want %v", shape, hitIDs(hits), want)
		}
	}

	// Restore puts a node back among the hits, at its old rank.
	_, err = s.Restore(ctx, notes[0])
	ok(t, err)
	hits, err = s.Search(ctx, "kestrel", "note", 2)
	ok(t, err)
	if !slices.Equal(hitIDs(hits), []string{notes[0], notes[28]}) {
		t.Errorf("after restore: %v, want %v", hitIDs(hits), []string{notes[0], notes[28]})
	}
}

func TestSearchBoundsTheQueryTerms(t *testing.T) {
	s := openTest(t, nil, Options{})
	ctx := context.Background()
	words := make([]string, MaxSearchTerms)
	for i := range words {
		words[i] = fmt.Sprintf("w%d", i)
	}
	n, err := s.Create(ctx, "note", map[string]any{"title": "all of them", "tags": []any{strings.Join(words, " ")}}, nil)
	ok(t, err)

	hits, err := s.Search(ctx, strings.Join(words, " "), "", 10)
	ok(t, err)
	if len(hits) != 1 || hits[0].Node.ID != n.ID {
		t.Fatalf("a query of exactly %d terms: %d hits, want the note", MaxSearchTerms, len(hits))
	}
	// Operators, quotes and words without letters are not terms.
	hits, err = s.Search(ctx, strings.Join(words, ` " - ( `)+" ?? -- * ", "", 10)
	ok(t, err)
	if len(hits) != 1 {
		t.Errorf("%d terms among punctuation: %d hits, want 1", MaxSearchTerms, len(hits))
	}

	over := map[string]string{
		"one word too many":             strings.Join(words, " ") + " w64",
		"a 9,000-word query":            strings.Repeat("note ", 9000),
		"words inside one word count":   strings.Join(words[:MaxSearchTerms-1], " ") + " e-mail",
		"a megabyte without any spaces": strings.Repeat("a-", 1<<19),
		"a megabyte of words":           strings.Repeat("quarterly budget ", 1<<16),
	}
	for name, q := range over {
		_, err := s.Search(ctx, q, "", 10)
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", name, err)
			continue
		}
		if !strings.Contains(err.Error(), fmt.Sprint(MaxSearchTerms)) {
			t.Errorf("%s: error %q does not say the bound", name, err)
		}
	}
}

// The search statement reads the index and two small indexes, never the
// nodes table: reading each match's node row before the LIMIT is what made
// search time grow with the number of matches.
func TestSearchStatementReadsNoNodeRows(t *testing.T) {
	s := openTest(t, nil, Options{})
	ctx := context.Background()
	for name, q := range map[string]string{
		"no shape": searchSQL + searchOrderSQL,
		"shape":    searchSQL + searchShapeSQL + searchOrderSQL,
	} {
		args := []any{`"x"*`, int64(10)}
		if name == "shape" {
			args = []any{`"x"*`, "note", int64(10)}
		}
		var plan []string
		ok(t, s.reader(ctx).query("EXPLAIN QUERY PLAN "+q, args, 4, func(r []any) error {
			plan = append(plan, r[3].(string))
			return nil
		}))
		all := strings.Join(plan, "\n")
		if !strings.Contains(all, "nodes_dead") || strings.Contains(all, "INTEGER PRIMARY KEY") || strings.Contains(all, "SCAN d") || strings.Contains(all, "SCAN s") {
			t.Errorf("%s: plan reads node rows or scans a table:\n%s", name, all)
		}
		if name == "shape" && !strings.Contains(all, "PRIMARY KEY (shape=? AND node=?)") {
			t.Errorf("shape filter is not a key probe:\n%s", all)
		}
	}
}
