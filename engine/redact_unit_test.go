package engine

import (
	"strings"
	"testing"

	"github.com/agentos/agentos/internal/redact"
)

// The redactor replaces a value in every spelling a message may hold it in,
// and the piece of it left where a message was clipped.
func TestJobRedactFormsAndFragments(t *testing.T) {
	parent := &Job{secrets: &redact.Set{}}
	child := &Job{secrets: &redact.Set{}, parentJob: parent}
	const v = `tok"en-0123456789`
	recordSecret(child, "api", v)
	recordSecret(child, "multi", "line-one-secret\nline-two-secret")
	for _, tc := range []struct{ in, want string }{
		{"raw " + v + " end", "raw [redacted:api] end"},
		{`json "tok\"en-0123456789"`, `json "[redacted:api]"`},
		{"clipped tok\"en-0123…", "clipped [redacted:api]…"},
		{"en-0123456789 starts the stderr tail", "[redacted:api] starts the stderr tail"},
		{"ends with tok\"en-01", "ends with [redacted:api]"},
		{"a line: line-two-secret", "a line: [redacted:multi]"},
		{"tok is ordinary text", "tok is ordinary text"},
	} {
		for _, j := range []*Job{child, parent} { // the parent redacts its nested job's secrets
			if got := j.redact(tc.in); got != tc.want {
				t.Errorf("redact(%q) = %q, want %q", tc.in, got, tc.want)
			}
		}
	}
	if got := (&Job{secrets: &redact.Set{}}).redact("x " + v); !strings.Contains(got, v) {
		t.Errorf("a job not handed the secret redacted it: %q", got)
	}
}
