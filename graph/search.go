package graph

import (
	"cmp"
	"context"
	"slices"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/agentos/agentos/shapes"
)

// Hit is one search result. Snippet is a short excerpt with matched words
// in [ and ]; Rank is higher for better matches (negated bm25).
type Hit struct {
	Node    *Node   `json:"node"`
	Snippet string  `json:"snippet"`
	Rank    float64 `json:"rank"`
}

const (
	defaultSearchLimit = 20
	// MaxSearchLimit is the most hits one search returns; a larger limit
	// is clamped to it (as Query clamps a page). Search has no cursor, so
	// this is also the deepest a caller can see into one query's results.
	MaxSearchLimit = 1000
	// MaxSearchTerms bounds the terms of one query. Every term is required
	// and each is a prefix lookup in the index, so a longer query costs more
	// and, in practice, matches nothing; past it Search fails with
	// ErrInvalid rather than dropping words, which would silently widen
	// the result. A term is what the tokenizer sees: "e-mail" is two.
	MaxSearchTerms = 64
	snippetWords   = 12
)

func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r)
}

func isQuerySpace(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }

// errTooManyTerms is the error for a query over MaxSearchTerms.
var errTooManyTerms = errorf(ErrInvalid, "the search query has more than %d words; every word must match, so keep the few that matter most",
	MaxSearchTerms)

// ftsQuery turns free text into a safe FTS5 expression: every word becomes
// a quoted prefix term ("word"*), all of them required. Operators, quotes
// and brackets in the input are therefore just text, so nothing a user
// types is a syntax error. Words without a letter or digit (which the
// tokenizer would drop anyway) are skipped. It also returns the lowercased
// tokens, for marking snippets. Past MaxSearchTerms tokens it stops reading
// and returns errTooManyTerms, so a huge query costs no more than a long one.
func ftsQuery(text string) (string, []string, error) {
	var b strings.Builder
	var terms []string
	for rest := text; ; {
		i := strings.IndexFunc(rest, func(r rune) bool { return !isQuerySpace(r) })
		if i < 0 {
			break
		}
		rest = rest[i:]
		word := rest
		if j := strings.IndexFunc(rest, isQuerySpace); j >= 0 {
			word = rest[:j]
		}
		rest = rest[len(word):]
		n := len(terms)
		for tok := word; ; {
			i := strings.IndexFunc(tok, isWordRune)
			if i < 0 {
				break
			}
			tok = tok[i:]
			t := tok
			if j := strings.IndexFunc(tok, func(r rune) bool { return !isWordRune(r) }); j >= 0 {
				t = tok[:j]
			}
			tok = tok[len(t):]
			if len(terms) == MaxSearchTerms {
				return "", nil, errTooManyTerms
			}
			terms = append(terms, strings.ToLower(t))
		}
		if len(terms) == n {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteByte('"')
		b.WriteString(strings.ReplaceAll(word, `"`, `""`))
		b.WriteString(`"*`)
	}
	return b.String(), terms, nil
}

// searchSQL is the top-k query: one statement over the index alone. For
// each match SQLite checks the filters with index probes (nodes_dead holds
// only deleted nodes; node_shapes is keyed by (shape, node)), scores only
// the matches that pass, and keeps the best LIMIT of them in a bounded
// sorter, so no node row is read and nothing is sorted beyond k. Because
// the filters run before the LIMIT, hidden matches never leave fewer than
// k hits while more exist. Equal scores are put newest first afterwards,
// among the k: a second sort key in the statement made it ~30% slower.
//
// Deleting a node removes it from the index, so the dead-node probe is a
// second guard (for a row the index kept). It names the partial index
// because the planner would otherwise check deleted_at through the nodes
// table, reading every matching node's row: that read, done for every
// match before the LIMIT, is what made search grow with the match count.
const (
	searchSQL = `SELECT fts.rowid, bm25(fts) AS score FROM fts WHERE fts MATCH ?
		AND NOT EXISTS (SELECT 1 FROM nodes d INDEXED BY nodes_dead WHERE d.seq = fts.rowid AND d.deleted_at IS NOT NULL)`
	searchShapeSQL = ` AND EXISTS (SELECT 1 FROM node_shapes s WHERE s.shape = ? AND s.node = fts.rowid)`
	searchOrderSQL = ` ORDER BY score LIMIT ?`
)

// Search finds live nodes whose searchable text matches every word of
// query (each as a prefix), best first, optionally only nodes of shape.
// A query of more than MaxSearchTerms terms is ErrInvalid.
func (s *Store) Search(ctx context.Context, query, shape string, limit int) ([]Hit, error) {
	switch {
	case limit < 0:
		return nil, errorf(ErrInvalid, "limit must be positive")
	case limit == 0:
		limit = defaultSearchLimit
	case limit > MaxSearchLimit:
		limit = MaxSearchLimit
	}
	expr, terms, err := ftsQuery(query)
	if err != nil {
		return nil, err
	}
	if expr == "" {
		return []Hit{}, nil
	}
	q := searchSQL + searchOrderSQL
	args := []any{expr, int64(limit)}
	if shape != "" {
		q = searchSQL + searchShapeSQL + searchOrderSQL
		args = []any{expr, shape, int64(limit)}
	}
	rq := s.reader(ctx)
	type scored struct {
		seq  int64
		rank float64
	}
	var top []scored
	if err := rq.query(q, args, 2, func(r []any) error {
		f, _ := r[1].(float64)
		top = append(top, scored{r[0].(int64), -f})
		return nil
	}); err != nil {
		return nil, err
	}
	slices.SortStableFunc(top, func(a, b scored) int {
		if c := cmp.Compare(b.rank, a.rank); c != 0 {
			return c
		}
		return cmp.Compare(b.seq, a.seq)
	})
	seqs := make([]int64, len(top))
	ranks := make(map[int64]float64, len(top))
	for i, h := range top {
		seqs[i], ranks[h.seq] = h.seq, h.rank
	}
	nodes, nodeSeqs, err := s.loadNodesBySeq(rq, seqs, false)
	if err != nil {
		return nil, err
	}
	reg := s.reg.Load()
	hits := make([]Hit, 0, len(nodes))
	for i, n := range nodes {
		if n.DeletedAt != nil { // deleted between the two reads
			continue
		}
		hits = append(hits, Hit{Node: n, Snippet: snippet(reg, n, terms), Rank: ranks[nodeSeqs[i]]})
	}
	return hits, nil
}

// snippet cuts an excerpt around the first matched word of the node's
// searchable text (the index is contentless, so the text comes from the
// node itself) and brackets every matched word in it.
func snippet(reg *shapes.Registry, n *Node, terms []string) string {
	var sh *shapes.Shape
	if len(n.Shapes) > 0 {
		sh, _ = reg.Get(n.Shapes[0])
	}
	keys := make([]string, 0, len(n.Fields))
	for k := range n.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var texts []string
	for _, k := range keys {
		if declared, ok := searchable(sh, k); declared && !ok {
			continue
		}
		switch v := n.Fields[k].(type) {
		case string:
			texts = append(texts, v)
		case []any:
			for _, e := range v {
				if s, ok := e.(string); ok {
					texts = append(texts, s)
				}
			}
		}
	}
	matches := func(word string) bool {
		lw := strings.ToLower(word)
		for _, t := range terms {
			if strings.HasPrefix(lw, t) {
				return true
			}
		}
		return false
	}
	for _, text := range texts {
		words := wordSpans(text)
		for i, w := range words {
			if matches(text[w[0]:w[1]]) {
				return cut(text, words, max(0, i-3), matches)
			}
		}
	}
	if len(texts) > 0 {
		return cut(texts[0], wordSpans(texts[0]), 0, func(string) bool { return false })
	}
	return ""
}

// wordSpans returns the byte ranges of the words of text.
func wordSpans(text string) [][2]int {
	var spans [][2]int
	start := -1
	for i, r := range text {
		if isWordRune(r) {
			if start < 0 {
				start = i
			}
		} else if start >= 0 {
			spans = append(spans, [2]int{start, i})
			start = -1
		}
	}
	if start >= 0 {
		spans = append(spans, [2]int{start, len(text)})
	}
	return spans
}

// cut renders up to snippetWords words from words[from], keeping the text
// between them and bracketing matched words.
func cut(text string, words [][2]int, from int, matches func(string) bool) string {
	if len(words) == 0 {
		return trimRunes(text, 80)
	}
	to := min(len(words), from+snippetWords)
	var b strings.Builder
	if from > 0 {
		b.WriteString("…")
	}
	pos := words[from][0]
	for _, w := range words[from:to] {
		b.WriteString(collapseSpace(text[pos:w[0]]))
		word := text[w[0]:w[1]]
		if matches(word) {
			b.WriteString("[" + word + "]")
		} else {
			b.WriteString(word)
		}
		pos = w[1]
	}
	if to < len(words) {
		b.WriteString("…")
	}
	return b.String()
}

// collapseSpace turns each run of whitespace (newlines included) into one
// space, so a snippet is one line.
func collapseSpace(s string) string {
	var b strings.Builder
	space := false
	for _, r := range s {
		if unicode.IsSpace(r) {
			space = true
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	if space {
		b.WriteByte(' ')
	}
	return b.String()
}

func trimRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}
