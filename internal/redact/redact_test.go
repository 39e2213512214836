package redact

import (
	"strings"
	"testing"
)

func TestRedactFindsEveryFormOfAValue(t *testing.T) {
	var a, b Set
	a.Add("api", `sk-live"42`)
	b.Add("multi", "line-one-secret\nline-two-secret")
	for in, want := range map[string]string{
		`key sk-live"42 in plain text`:         "key [redacted:api] in plain text",
		`{"key":"sk-live\"42"}`:                `{"key":"[redacted:api]"}`,
		"clipped: sk-live…":                    "clipped: [redacted:api]…",
		`ve"42 at the start of a stderr tail`:  "[redacted:api] at the start of a stderr tail",
		"a log line with line-two-secret only": "a log line with [redacted:multi] only",
		"nothing secret here":                  "nothing secret here",
	} {
		if got := Redact(in, &a, &b); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
	var none *Set
	if got := Redact("sk-live\"42", none); !strings.Contains(got, "sk-live") {
		t.Errorf("a nil set redacted %q", got)
	}
}
