package jsonstr

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// marshal is encoding/json's string encoding, with or without its HTML
// escaping.
func marshal(s string, html bool) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(html)
	_ = enc.Encode(s)
	return strings.TrimSuffix(buf.String(), "\n")
}

func TestAppendMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "plain", "<a href=\"x\">&amp;</a>", "\\ \" \n\r\t\b\f \x00\x1f\x7f",
		"\u2028\u2029", "é日本🙂", "bad \xff\xfe utf-8 \xc3", "\xed\xa0\x80 surrogate", strings.Repeat("x<", 100)} {
		for _, html := range []bool{false, true} {
			if got, want := string(Append(nil, s, html)), marshal(s, html); got != want {
				t.Errorf("Append(%q, html %v) = %s, want %s", s, html, got, want)
			}
		}
	}
}

func FuzzAppend(f *testing.F) {
	f.Add("a<b>&\u2028\xff\b")
	f.Fuzz(func(t *testing.T, s string) {
		for _, html := range []bool{false, true} {
			if got, want := string(Append(nil, s, html)), marshal(s, html); got != want {
				t.Errorf("Append(%q, html %v) = %s, want %s", s, html, got, want)
			}
		}
	})
}
