package wire

import (
	"encoding/json"
	"strings"
	"testing"
)

// Every params struct yields a JSON Schema (an unknown tag constraint would
// panic here), closed to unknown keys, with the non-omitempty fields
// required.
func TestEveryParamsStructHasASchema(t *testing.T) {
	for _, p := range []any{NoParams{}, HelloParams{}, CreateParams{}, WriteParams{}, ReadParams{}, UpdateParams{},
		IDParams{}, LinkParams{}, SearchParams{}, NeighborsParams{}, ShapeGetParams{}, EventHistoryParams{},
		SubscribeParams{}, SkillGetParams{}, SkillRunParams{}, InvokeParams{}, PreferParams{}, SecretSetParams{}, SecretNameParams{}} {
		var s struct {
			Type       string                     `json:"type"`
			Properties map[string]json.RawMessage `json:"properties"`
			Required   []string                   `json:"required"`
			Additional *bool                      `json:"additionalProperties"`
		}
		raw := Schema(p)
		if err := json.Unmarshal(raw, &s); err != nil {
			t.Fatalf("%T: %v in %s", p, err, raw)
		}
		if s.Type != "object" || s.Additional == nil || *s.Additional {
			t.Errorf("%T: %s is not a closed object schema", p, raw)
		}
		for _, r := range s.Required {
			if _, ok := s.Properties[r]; !ok {
				t.Errorf("%T: required %q is not a property", p, r)
			}
		}
	}
}

func TestSchemaCarriesTagBounds(t *testing.T) {
	var s struct {
		Properties map[string]map[string]any `json:"properties"`
		Required   []string                  `json:"required"`
	}
	json.Unmarshal(Schema(SearchParams{}), &s)
	if lim := s.Properties["limit"]; lim["maximum"] != 1000.0 || lim["minimum"] != 1.0 || lim["type"] != "integer" {
		t.Errorf("search limit schema = %v", lim)
	}
	if len(s.Required) != 1 || s.Required[0] != "query" {
		t.Errorf("search required = %v", s.Required)
	}
	json.Unmarshal(Schema(NeighborsParams{}), &s)
	if enum, _ := s.Properties["direction"]["enum"].([]any); len(enum) != 3 {
		t.Errorf("direction enum = %v", s.Properties["direction"])
	}
}

func TestSchemaOmit(t *testing.T) {
	raw := string(Schema(InvokeParams{}, "async"))
	if strings.Contains(raw, "async") || !strings.Contains(raw, `"required":["capability"]`) {
		t.Errorf("omit async: %s", raw)
	}
	if !strings.Contains(string(Schema(InvokeParams{})), "async") {
		t.Error("omit changed the cached schema")
	}
}

// Check enforces what the schema says, with errors of kind invalid that
// name the param.
func TestCheckEnforcesTheSchema(t *testing.T) {
	since := int64(-1)
	for _, tc := range []struct {
		method string
		p      any
		want   string // "" = accepted
	}{
		{MethodSearch, &SearchParams{Query: "x", Limit: 5000}, `param "limit" must be at most 1000`},
		{MethodSearch, &SearchParams{Query: "x", Limit: -1}, `param "limit" must be at least 1`},
		{MethodSearch, &SearchParams{Query: "  "}, `param "query" is required`},
		{MethodSearch, &SearchParams{Query: "x", Limit: 1000}, ""},
		{MethodSearch, &SearchParams{Query: "x"}, ""}, // limit absent: the default
		{MethodNeighbors, &NeighborsParams{ID: "n", Direction: "sideways"}, `must be one of out, in, both, not "sideways"`},
		{MethodNeighbors, &NeighborsParams{ID: "n", Depth: 6}, `param "depth" must be at most 5`},
		{MethodLink, &LinkParams{From: "a", To: "b"}, `param "label" is required`},
		{MethodPrefer, &PreferParams{Capability: "llm"}, ""}, // empty skill clears the pin
		{MethodEventHistory, &EventHistoryParams{Since: &since, Limit: 4097}, "at most 4096"},
		{MethodSecretsSet, &SecretSetParams{Name: "bad name", Value: "v"}, "is not a valid secret name"},
		{MethodSecretsSet, &SecretSetParams{Name: "openai", Value: ""}, `param "value" is required`},
	} {
		err := Check(tc.method, tc.p)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s %+v: %v", tc.method, tc.p, err)
		case tc.want != "" && (err == nil || !IsKind(err, KindInvalid) || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s %+v: %v, want invalid %q", tc.method, tc.p, err, tc.want)
		}
	}
}

// A rejected secret name is never repeated: it may be a value pasted into
// the wrong param.
func TestCheckDoesNotEchoARejectedSecretName(t *testing.T) {
	err := Check(MethodSecretsDelete, &SecretNameParams{Name: "sk-live-123 456"})
	if err == nil || strings.Contains(err.Error(), "sk-live") {
		t.Fatalf("err = %v", err)
	}
}
