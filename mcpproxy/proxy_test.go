package mcpproxy

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/agentos/agentos/engine/wire"
	"github.com/mark3labs/mcp-go/mcp"
)

func TestMCPNames(t *testing.T) {
	taken := map[string]bool{"read": true}
	var got []string
	for _, c := range []string{"read", "web.read", "web_read", "web.read.x", strings.Repeat("a", 70)} {
		n := uniqueName(wire.ToolName(c), taken)
		taken[n] = true
		if !toolName.MatchString(n) {
			t.Fatalf("%q → %q is not a valid tool name", c, n)
		}
		got = append(got, n)
	}
	want := []string{"read_2", "web_read", "web_read_2", "web_read_x", strings.Repeat("a", 64)}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("names %v, want %v", got, want)
	}
	if n := uniqueName(strings.Repeat("a", 64), taken); len(n) != 64 || !strings.HasSuffix(n, "_2") {
		t.Fatalf("long collision gave %q", n)
	}
}

func TestMCPCheckArgs(t *testing.T) {
	raw := json.RawMessage(`{"type":"object","properties":{"id":{"type":"string"},"limit":{"type":"integer"},"x":{"type":["string","null"]}},"required":["id"],"additionalProperties":false}`)
	cases := []struct {
		args map[string]any
		want string
	}{
		{map[string]any{"id": "a", "limit": float64(3)}, ""},
		{map[string]any{}, `missing required argument "id"`},
		{map[string]any{"id": 1.0}, `argument "id" must be a string, not integer`},
		{map[string]any{"id": "a", "limit": 1.5}, `argument "limit" must be an integer, not number`},
		{map[string]any{"id": "a", "nope": 1.0}, `unknown argument "nope"`},
		{map[string]any{"id": "a", "x": nil}, ""},
	}
	for _, c := range cases {
		got := checkArgs(raw, c.args)
		if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("checkArgs(%v) = %q, want %q", c.args, got, c.want)
		}
	}
}

func TestMCPResultTruncated(t *testing.T) {
	big, _ := json.Marshal(map[string]string{"s": strings.Repeat("é", MaxText)})
	res := resultOf(big, hint("read"))
	text := res.Content[0].(mcp.TextContent).Text
	if len(text) > MaxText+300 || !strings.Contains(text, "truncated") || !strings.Contains(text, "cursor") {
		t.Fatalf("truncated text: %d bytes, ends %q", len(text), text[len(text)-200:])
	}
	small := resultOf(json.RawMessage(`[1,2]`), "") // compact, as the engine sends it
	if string(small.RawStructuredContent) != `{"result":[1,2]}` || small.Content[0].(mcp.TextContent).Text != "[1,2]" {
		t.Fatalf("small: %s / %v", small.RawStructuredContent, small.Content)
	}
}

// Arguments are checked against the whole schema: items, bounds and
// $defs/$ref, and an explicit null where the schema takes one. The
// messages name the argument and the place in it.
func TestArgumentsAreCheckedAgainstTheWholeSchema(t *testing.T) {
	sch := compileArgs(json.RawMessage(`{
		"type": "object",
		"$defs": {"address": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}},
		"properties": {
			"tags": {"type": "array", "items": {"type": "string"}},
			"limit": {"type": "integer", "minimum": 1, "maximum": 1000},
			"note": {"type": ["string", "null"]},
			"tone": {"type": "string", "enum": ["plain", "playful"]},
			"address": {"$ref": "#/$defs/address"}
		},
		"required": ["tags"],
		"additionalProperties": false
	}`))
	for _, c := range []struct {
		args map[string]any
		want string // "" for no error
	}{
		{map[string]any{"tags": []any{"a", "b"}}, ""},
		{map[string]any{"tags": []any{"a"}, "note": nil, "limit": 1000.0, "tone": "plain", "address": map[string]any{"city": "Porto"}}, ""},
		{map[string]any{"tags": []any{1.0, 2.0}}, `argument "tags" at /0: got number, want string`},
		{map[string]any{"tags": []any{}, "limit": 5000.0}, `argument "limit": maximum: got 5,000, want 1,000`},
		{map[string]any{"tags": []any{}, "tone": "loud"}, `argument "tone": value must be one of 'plain', 'playful'`},
		{map[string]any{"tags": []any{}, "address": map[string]any{}}, `argument "address": missing property 'city'`},
		{map[string]any{}, `missing required argument "tags"`},
		{map[string]any{"tags": []any{}, "extra": 1.0}, `unknown argument "extra"`},
	} {
		got := sch.check(c.args)
		if c.want == "" && got != "" || c.want != "" && !strings.Contains(got, c.want) {
			t.Errorf("check(%v) = %q, want %q", c.args, got, c.want)
		}
	}
}

func TestGuideArgumentsAreSubstitutedAsClaudeCodeDoes(t *testing.T) {
	for _, c := range []struct{ guide, args, want string }{
		{"Fix issue $ARGUMENTS now.", "123 urgently", "Fix issue 123 urgently now."},
		{"Compare $1 with $2.", "a.go b.go", "Compare a.go with b.go."},
		{"Compare $1 with $2.", "a.go", "Compare a.go with ."},
		{"Review the file.", "main.go", "Review the file.\n\nARGUMENTS: main.go"},
		{"Review the file.", "", "Review the file."},
	} {
		if got := substituteArguments(c.guide, c.args); got != c.want {
			t.Errorf("substituteArguments(%q, %q) = %q, want %q", c.guide, c.args, got, c.want)
		}
	}
}
