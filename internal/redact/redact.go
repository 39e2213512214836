package redact

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// minFragment is the shortest piece of a secret redacted when a message was
// cut inside the value (a clipped line, the start of a stderr tail): shorter
// pieces are too common to tell from ordinary text.
const minFragment = 4

// Set is the secret values handed out, by secret name. Safe for concurrent
// use; a nil *Set holds nothing.
type Set struct {
	mu     sync.Mutex
	values map[string]string // value → name
}

// Add records that value (of secret name) was handed out.
func (ss *Set) Add(name, value string) {
	if ss == nil || value == "" {
		return
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.values == nil {
		ss.values = map[string]string{}
	}
	ss.values[value] = name
}

// Len is how many values ss holds.
func (ss *Set) Len() int {
	if ss == nil {
		return 0
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return len(ss.values)
}

// each calls fn for every recorded value.
func (ss *Set) each(fn func(value, name string)) {
	if ss == nil {
		return
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	for v, n := range ss.values {
		fn(v, n)
	}
}

// Redact replaces in s every value the sets hold with [redacted:NAME]: as
// it is, in its escaped spellings, each line of a multi-line value, and the
// piece of it left where a message was clipped.
func Redact(s string, sets ...*Set) string {
	if s == "" {
		return s
	}
	type secret struct{ value, name string }
	var all []secret
	for _, ss := range sets {
		ss.each(func(v, n string) { all = append(all, secret{v, n}) })
	}
	if len(all) == 0 {
		return s
	}
	// Longest first, so a secret that contains another is replaced whole.
	slices.SortFunc(all, func(a, b secret) int { return len(b.value) - len(a.value) })
	var pairs []string
	for _, sc := range all {
		mark := "[redacted:" + sc.name + "]"
		for _, form := range secretForms(sc.value) {
			pairs = append(pairs, form, mark)
		}
	}
	s = strings.NewReplacer(pairs...).Replace(s)
	for _, sc := range all {
		s = redactFragments(s, sc.value, "[redacted:"+sc.name+"]")
	}
	return s
}

// secretForms are the spellings of v a message may hold: as it is, escaped
// as in JSON and in a Go or Python quoted string (a value with a newline or
// a quote in it), and each line of a multi-line value.
func secretForms(v string) []string {
	forms := []string{v}
	if b, err := json.Marshal(v); err == nil {
		forms = append(forms, string(b[1:len(b)-1]))
	}
	q := strconv.Quote(v)
	forms = append(forms, q[1:len(q)-1])
	if strings.Contains(v, "\n") {
		for line := range strings.Lines(v) {
			if line = strings.TrimSpace(line); len(line) >= 8 {
				forms = append(forms, line)
			}
		}
	}
	forms = slices.DeleteFunc(forms, func(f string) bool { return f == "" })
	slices.Sort(forms)
	return slices.Compact(forms)
}

// redactFragments replaces the piece of v left where a message was cut: a
// prefix of v just before a clip mark ("…") or at the very end, and a suffix
// of v at the very start (a stderr tail begins mid-line).
func redactFragments(s, v, mark string) string {
	if len(v) <= minFragment {
		return s
	}
	// The longest proper prefix of v that ends s or a clip mark.
	cutEnd := func(head string) string {
		for k := len(v) - 1; k >= minFragment; k-- {
			if strings.HasSuffix(head, v[:k]) {
				return head[:len(head)-k] + mark
			}
		}
		return head
	}
	var b strings.Builder
	rest := s
	for {
		i := strings.Index(rest, "…")
		if i < 0 {
			b.WriteString(cutEnd(rest))
			break
		}
		b.WriteString(cutEnd(rest[:i]))
		b.WriteString("…")
		rest = rest[i+len("…"):]
	}
	s = b.String()
	for k := len(v) - 1; k >= minFragment; k-- {
		if strings.HasPrefix(s, v[len(v)-k:]) {
			return mark + s[k:]
		}
	}
	return s
}
