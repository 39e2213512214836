package graph

import (
	"context"
	"strconv"
	"strings"
	"testing"
)

// BenchmarkSearch compares Search with raw FTS5 on the same index (DESIGN
// §12: within 2x of MATCH ... ORDER BY rank LIMIT 10) on 40k notes of ~2 KB,
// a word in a quarter of them. The notes are large on purpose: reading
// each match's row before the LIMIT is what the top-k statement avoids, and
// it costs most when rows are big. Compare the sub-benchmarks' ns/op.
func BenchmarkSearch(b *testing.B) {
	s := openTest(b, nil, Options{})
	ctx := context.Background()
	body := strings.Repeat("lorem ipsum dolor sit amet ", 75)
	words := []string{"kestrel", "osprey", "heron", "plover"}
	for start := 0; start < 40_000; start += 1000 {
		items := make([]map[string]any, 1000)
		for i := range items {
			n := start + i
			items[i] = map[string]any{"title": "note " + strconv.Itoa(n) + " " + words[n%4], "tags": []any{body}}
		}
		if _, err := s.Write(ctx, "note", items); err != nil {
			b.Fatal(err)
		}
	}
	search := func(shape string) func(*testing.B) {
		return func(b *testing.B) {
			for b.Loop() {
				hits, err := s.Search(ctx, "kestrel", shape, 10)
				if err != nil || len(hits) != 10 {
					b.Fatalf("%d hits, %v", len(hits), err)
				}
			}
		}
	}
	b.Run("ours", search(""))
	b.Run("ours-shape", search("note"))
	b.Run("floor", func(b *testing.B) {
		for b.Loop() {
			n := 0
			if err := s.reader(ctx).query(`SELECT rowid, rank FROM fts WHERE fts MATCH 'kestrel' ORDER BY rank LIMIT 10`, nil, 2, func([]any) error { n++; return nil }); err != nil || n != 10 {
				b.Fatalf("%d rows, %v", n, err)
			}
		}
	})
}
