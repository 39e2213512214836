package engine

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/agentos/agentos/engine/wire"
)

// Redaction of the secrets a call was handed (DESIGN §11). The engine records,
// per job, every value its skills got from the secrets.get op (secretGet), on
// the job and on each job above it: a nested call's secret may come back in
// its parent's error. What is written about a job — its error, the log and
// progress lines its worker sends, the runner's error with traceback and
// stderr — passes through the job's redactor first, which replaces each value
// with [redacted:NAME]. The runner applies it (broker.WithRedactor on the
// job's context) before the error reaches the engine's log, events and job
// records; completeJob applies it once more to whatever error the job ends
// with, so an error made on the way up is covered too.
//
// The result a caller gets is not redacted: it is what the caller asked the
// tool for. The copy a finished job keeps for jobs.get is (redactResult).

// minFragment is the shortest piece of a secret redacted when a message was
// cut inside the value (a clipped line, the start of a stderr tail): shorter
// pieces are too common to tell from ordinary text.
const minFragment = 4

// secretSet is the values handed to one job's calls, by secret name.
type secretSet struct {
	mu     sync.Mutex
	values map[string]string // value → name
}

// add records that value (of secret name) was handed out.
func (ss *secretSet) add(name, value string) {
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

// each calls fn for every recorded value.
func (ss *secretSet) each(fn func(value, name string)) {
	if ss == nil {
		return
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	for v, n := range ss.values {
		fn(v, n)
	}
}

// recordSecret notes on j and every job above it that value was handed out.
func recordSecret(j *Job, name, value string) {
	for ; j != nil; j = j.parentJob {
		j.secrets.add(name, value)
	}
}

// hasSecrets reports whether j or a job above it was handed a secret.
func (j *Job) hasSecrets() bool {
	for p := j; p != nil; p = p.parentJob {
		if p.secrets != nil {
			p.secrets.mu.Lock()
			n := len(p.secrets.values)
			p.secrets.mu.Unlock()
			if n > 0 {
				return true
			}
		}
	}
	return false
}

// redact replaces in s every secret handed to j or a job above it.
func (j *Job) redact(s string) string {
	if s == "" || j == nil {
		return s
	}
	type secret struct{ value, name string }
	var all []secret
	for p := j; p != nil; p = p.parentJob {
		p.secrets.each(func(v, n string) { all = append(all, secret{v, n}) })
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

// redactError is err with its message redacted for j; its kind stays (the
// engine decides on kinds, never on text). err itself is returned when
// nothing in it was secret.
func (j *Job) redactError(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	red := j.redact(msg)
	if red == msg {
		return err
	}
	if we, ok := err.(*wire.Error); ok { //nolint:errorlint // only an unwrapped one keeps its code
		out := *we
		out.Message = red
		return &out
	}
	return wire.Errorf(KindOf(err), "%s", red)
}

// redactResult is the result j keeps for jobs.get, without j's secrets. The
// marks are plain JSON string text, so redacting JSON text leaves it JSON;
// should a value have spanned JSON syntax, the result is replaced by a note.
func (j *Job) redactResult(res json.RawMessage) json.RawMessage {
	if len(res) == 0 || !j.hasSecrets() {
		return res
	}
	red := j.redact(string(res))
	if red == string(res) {
		return res
	}
	if !json.Valid([]byte(red)) {
		return json.RawMessage(`{"redacted":"the result held a secret handed to the job, and is not kept"}`)
	}
	return json.RawMessage(red)
}
