package broker

import (
	"strings"
	"testing"
)

func TestStderrTailKeepsOnlyTheLastBytes(t *testing.T) {
	cases := []struct {
		name   string
		writes []string
		want   string
	}{
		{"fits", []string{"ab", "cd"}, "abcd"},
		{"wraps across writes", []string{"line1\n", "line2\n", "line3\n"}, "line3\n"},
		{"one huge write", []string{strings.Repeat("x", 100) + "\nend\n"}, "end\n"},
		{"no newline after the cut keeps the bytes", []string{strings.Repeat("y", 30)}, strings.Repeat("y", 10)},
		{"invalid utf-8 is replaced", []string{"\xff\xfeok"}, "\uFFFDok"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tail := newStderrTail(10)
			for _, w := range tc.writes {
				if n, err := tail.Write([]byte(w)); n != len(w) || err != nil {
					t.Fatalf("Write = %d, %v", n, err)
				}
			}
			if got := tail.String(); got != tc.want {
				t.Errorf("tail = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestStderrTailMatchesTheEndOfEverythingWritten(t *testing.T) {
	tail := newStderrTail(64)
	var all strings.Builder
	for i := range 500 {
		chunk := strings.Repeat(string(rune('a'+i%26)), i%97)
		all.WriteString(chunk)
		_, _ = tail.Write([]byte(chunk))
	}
	s := all.String()
	if got, want := tail.String(), s[len(s)-64:]; got != want {
		t.Errorf("tail = %q, want %q", got, want)
	}
}
