package graph

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/agentos/agentos/shapes"
)

// vals.idx of a scalar; array elements count from 0.
const idxScalar = -1

// fieldVal is what one key of a node holds: a scalar or an array.
type fieldVal struct {
	array bool
	vals  []shapes.Value
}

func (f fieldVal) equal(g fieldVal) bool {
	if f.array != g.array || len(f.vals) != len(g.vals) {
		return false
	}
	for i := range f.vals {
		if f.vals[i].Unit != g.vals[i].Unit || canon(f.vals[i]) != canon(g.vals[i]) {
			return false
		}
	}
	return true
}

// jsonOut is the value as callers see it (Node.Fields, history).
func (f fieldVal) jsonOut() any {
	if !f.array {
		if len(f.vals) == 0 {
			return nil
		}
		return f.vals[0].V
	}
	out := make([]any, len(f.vals))
	for i, v := range f.vals {
		out[i] = v.V
	}
	return out
}

// sqlOf is the value as the vals table holds it: booleans as 0/1, JSON as
// its text, and long text in its index form (see indexForm). Every write
// and every lookup of vals goes through here, so they always agree.
func sqlOf(v shapes.Value) any {
	switch x := v.V.(type) {
	case bool:
		if x {
			return int64(1)
		}
		return int64(0)
	case json.RawMessage:
		return indexForm(string(x))
	case []byte:
		return indexForm(string(x))
	case string:
		return indexForm(x)
	case int:
		return int64(x)
	case int32:
		return int64(x)
	case float32:
		return float64(x)
	}
	return v.V
}

// Text longer than maxIndexed is indexed as a prefix plus a hash of the
// whole: equality lookups stay exact (a collision needs a SHA-256 one),
// while a page of content does not bloat the (key, value) index or the WAL.
// The full text stays in the node's fields document (and the FTS index).
const (
	maxIndexed    = 256
	indexedPrefix = 192
)

func indexForm(s string) string {
	if len(s) <= maxIndexed {
		return s
	}
	cut := indexedPrefix
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	sum := sha256.Sum256([]byte(s))
	return s[:cut] + "\u2026#" + hex.EncodeToString(sum[:16])
}

// canon is a comparison key agreeing with SQLite's equality on the stored
// value: 5 and 5.0 are equal, '5' and 5 are not. Used for identity matching
// and change detection in Go.
func canon(v shapes.Value) string {
	switch x := v.V.(type) {
	case int64:
		return "n" + strconv.FormatInt(x, 10)
	case int:
		return "n" + strconv.Itoa(x)
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return "n" + strconv.FormatInt(int64(x), 10)
		}
		return "f" + strconv.FormatFloat(x, 'g', -1, 64)
	case bool:
		if x {
			return "n1"
		}
		return "n0"
	case string:
		return "s" + x
	case json.RawMessage:
		return "s" + string(x)
	case nil:
		return "z"
	}
	return "?"
}

// appendValRows appends the vals rows (key, value, owner, idx, unit) of one key.
func appendValRows(args []any, owner int64, key string, f fieldVal) []any {
	for i, v := range f.vals {
		idx := int64(idxScalar)
		if f.array {
			idx = int64(i)
		}
		args = append(args, key, sqlOf(v), owner, idx, string(v.Unit))
	}
	return args
}

// searchable says whether key's text feeds the full-text index: declared
// fields by their type (shapes.Field.Searchable), undeclared keys when they
// hold text.
func searchable(sh *shapes.Shape, key string) (declared, ok bool) {
	if sh == nil {
		return false, false
	}
	f, found := sh.Fields[key]
	if !found {
		return false, false
	}
	return true, f.Searchable()
}

// ftsText is the body indexed for a node: the text of every searchable value,
// keys in sorted order so the same node always indexes the same way.
func ftsText(sh *shapes.Shape, vals map[string]fieldVal) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(vals)) {
		declared, ok := searchable(sh, k)
		if declared && !ok {
			continue
		}
		for _, v := range vals[k].vals {
			if v.Unit != shapes.UnitText {
				continue
			}
			s, _ := v.V.(string)
			if s == "" {
				continue
			}
			if b.Len() > 0 {
				b.WriteByte('\n')
			}
			b.WriteString(s)
		}
	}
	return b.String()
}
