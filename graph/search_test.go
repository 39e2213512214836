package graph

import (
	"context"
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
	for _, q := range []string{`foo"`, `"`, `AND`, `OR budget`, `NOT`, `(`, `)`, `*`, `budget*`, `NEAR(a b)`, `title:budget`, `-budget`, `^budget`, `{a b}`, `'`, ``, `   `, "\x00", `""""`, `a AND OR NOT b`} {
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
		if got, _ := ftsQuery(in); got != want {
			t.Errorf("ftsQuery(%q) = %q, want %q", in, got, want)
		}
	}
}
