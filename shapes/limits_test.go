package shapes

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
)

// nested is a JSON value of depth levels: [[[…"x"…]]], decoded the way the
// engine decodes a request (numbers kept as json.Number).
func nested(t *testing.T, depth int) any {
	t.Helper()
	text := strings.Repeat("[", depth) + `"x"` + strings.Repeat("]", depth)
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestCoerceRefusesValuesNestedDeeperThanTheLimit(t *testing.T) {
	r := sampleRegistry(t)
	deep := nested(t, 1001)
	for _, tc := range []struct {
		name   string
		shape  string
		fields map[string]any
	}{
		{"json field", "sample", map[string]any{"j": deep}},
		{"json field of a strict shape", "rigid", map[string]any{"j": deep}},
		{"string field falling back to json", "sample", map[string]any{"s": deep}},
		{"undeclared key", "sample", map[string]any{"extra": deep}},
		{"array element", "sample", map[string]any{"tags": []any{"ok", deep}}},
		{"inside an object", "sample", map[string]any{"j": map[string]any{"a": nested(t, MaxJSONDepth)}}},
		{"just over the limit", "sample", map[string]any{"j": nested(t, MaxJSONDepth+1)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := r.Coerce(tc.shape, tc.fields)
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "nested more than 64 levels") {
				t.Fatalf("Coerce of a value nested too deep: %v, want ErrInvalid naming the limit", err)
			}
			if len(err.Error()) > 1000 {
				t.Fatalf("the message quotes the whole value: %d bytes", len(err.Error()))
			}
		})
	}
	c, err := r.Coerce("sample", map[string]any{"j": nested(t, MaxJSONDepth), "s": nested(t, 3)})
	if err != nil {
		t.Fatalf("a value exactly at the limit is refused: %v", err)
	}
	if raw := c.Scalars["j"].V.(json.RawMessage); bytes.Count(raw, []byte("[")) != MaxJSONDepth {
		t.Fatalf("stored %d levels, want %d", bytes.Count(raw, []byte("[")), MaxJSONDepth)
	}
	if _, err := r.CoerceValue("sample", "j", deep); !errors.Is(err, ErrInvalid) {
		t.Fatalf("CoerceValue of a deep value: %v, want ErrInvalid", err)
	}
}

func TestCoerceRefusesNumbersOutsideFloat64(t *testing.T) {
	r := sampleRegistry(t)
	huge := json.Number("1e400")
	for _, tc := range []struct {
		name   string
		shape  string
		fields map[string]any
	}{
		{"integer field", "sample", map[string]any{"i": huge}},
		{"number field", "sample", map[string]any{"n": huge}},
		{"number field of a strict shape", "rigid", map[string]any{"n": huge}},
		{"negative", "sample", map[string]any{"n": json.Number("-1e400")}},
		{"string field", "sample", map[string]any{"s": huge}},
		{"undeclared key", "sample", map[string]any{"extra": huge}},
		{"integer array", "sample", map[string]any{"nums": []any{json.Number("1"), huge}}},
		{"inside a json field", "sample", map[string]any{"j": map[string]any{"a": []any{json.Number("1"), huge}}}},
		{"raw json", "sample", map[string]any{"j": json.RawMessage(`{"a":1e400}`)}},
		{"NaN", "sample", map[string]any{"n": math.NaN()}},
		{"NaN in a json field", "sample", map[string]any{"j": []any{math.NaN()}}},
		{"infinity", "sample", map[string]any{"i": math.Inf(1)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := r.Coerce(tc.shape, tc.fields); !errors.Is(err, ErrInvalid) {
				t.Fatalf("Coerce(%v): %v, want ErrInvalid", tc.fields, err)
			}
		})
	}
	c, err := r.Coerce("sample", map[string]any{"n": json.Number("1e308"), "j": json.RawMessage(`[1e-300,-0.5]`), "s": "1e400"})
	if err != nil {
		t.Fatalf("numbers inside float64 are refused: %v", err)
	}
	if c.Scalars["n"].V != 1e308 || c.Scalars["s"].V != "1e400" {
		t.Fatalf("coerced %+v", c.Scalars)
	}
	if _, err := r.CoerceValue("sample", "n", huge); !errors.Is(err, ErrInvalid) {
		t.Fatalf("CoerceValue(1e400): %v, want ErrInvalid", err)
	}
}
