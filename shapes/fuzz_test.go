package shapes

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"go.yaml.in/yaml/v3"
)

// fuzzRegistry is sampleRegistry for a fuzz target: the defaults plus the
// lenient "sample" and strict "rigid" shapes with one field of every type.
func fuzzRegistry(f *testing.F) *Registry {
	dir := f.TempDir()
	body := "sample:" + sampleFields + "rigid:\n  strict: true" + sampleFields
	if err := os.WriteFile(filepath.Join(dir, "sample.yaml"), []byte(body), 0o600); err != nil {
		f.Fatal(err)
	}
	r, errs := Load(dir)
	if len(errs) > 0 {
		f.Fatal(errs)
	}
	return r
}

// asFields turns a coercion back into fields a caller could send.
func asFields(c *Coerced) map[string]any {
	out := map[string]any{}
	for k, v := range c.Scalars {
		out[k] = v.V
	}
	for k, vs := range c.Arrays {
		list := make([]any, len(vs))
		for i, v := range vs {
			list[i] = v.V
		}
		out[k] = list
	}
	for _, k := range c.Unset {
		out[k] = nil
	}
	for k, items := range c.Relations {
		out[k] = items
	}
	return out
}

// storable checks what the graph relies on: numbers are finite, JSON is
// valid, within MaxJSONDepth and free of numbers outside float64.
func storable(t *testing.T, key string, v Value) {
	switch x := v.V.(type) {
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			t.Fatalf("%s: stored the number %v", key, x)
		}
	case json.RawMessage:
		if !json.Valid(x) {
			t.Fatalf("%s: stored invalid JSON %s", key, x)
		}
		if err := checkJSON(x); err != nil {
			t.Fatalf("%s: stored JSON that cannot be read back: %v", key, err)
		}
	}
}

// FuzzCoerce: any JSON object coerces without panicking, to an error that
// is ErrInvalid or to values the graph can store; coercing the result
// again changes nothing (coercion is idempotent), and a where value
// compares equal to what a clean write stored.
func FuzzCoerce(f *testing.F) {
	r := fuzzRegistry(f)
	for _, seed := range []string{
		`{"s": "hello", "i": "495", "n": 3.5, "b": "yes", "d": "2025-01-02", "u": " https://example.com/x ", "e": "RED"}`,
		`{"i": 1e400, "j": {"a": [1, 2, {"b": null}]}, "tags": ["x", null, 3], "nums": "7"}`,
		`{"j": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}`,
		`{"owner": "01ARZ3NDEKTSV4RRFFQ69G5FAV", "members": [{"name": "Ann"}, " id "], "extra": {"k": -0.0}}`,
		`{"d": 1700000000, "i": 9223372036854775808, "n": "1e308", "s": {"x": "\u2028"}, "": 1}`,
		`{"e": "blue", "b": 2, "u": "not a url", "extra": [1e-400, 123456789012345678901234567890]}`,
	} {
		f.Add(seed, false)
		f.Add(seed, true)
	}
	f.Fuzz(func(t *testing.T, text string, strict bool) {
		dec := json.NewDecoder(bytes.NewReader([]byte(text)))
		dec.UseNumber()
		var fields map[string]any
		if dec.Decode(&fields) != nil {
			return
		}
		shape := "sample"
		if strict {
			shape = "rigid"
		}
		c, err := r.Coerce(shape, fields)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Coerce error is not ErrInvalid: %v", err)
			}
			return
		}
		for k, v := range c.Scalars {
			storable(t, k, v)
		}
		for k, vs := range c.Arrays {
			for _, v := range vs {
				storable(t, k, v)
			}
		}
		again, err := r.Coerce(shape, asFields(c))
		if err != nil {
			t.Fatalf("coercing the coerced fields again fails: %v", err)
		}
		c.Warnings, again.Warnings = nil, nil
		if !reflect.DeepEqual(c, again) {
			t.Fatalf("coercion is not idempotent:\nfirst  %#v\nsecond %#v", c, again)
		}
		for k, v := range c.Scalars {
			got, err := r.CoerceValue(shape, k, v.V)
			if err != nil && !errors.Is(err, ErrInvalid) {
				t.Fatalf("CoerceValue(%s) error is not ErrInvalid: %v", k, err)
			}
			if err == nil && !reflect.DeepEqual(got, v) {
				t.Fatalf("where %s = %#v compares as %#v, but a write stores %#v", k, v.V, got, v)
			}
		}
	})
}

// renderShape writes a loaded shape back as the YAML a user would write.
func renderShape(s *Shape) map[string]any {
	def := map[string]any{"plural": s.Plural, "strict": s.Strict}
	if s.Description != "" {
		def["description"] = s.Description
	}
	for key, list := range map[string][]string{"also": s.Also, "identity": s.Identity, "identity_any": s.IdentityAny} {
		if list != nil {
			def[key] = list
		}
	}
	if s.Display != nil {
		def["display"] = s.Display
	}
	fields := map[string]any{}
	for name, f := range s.Fields {
		switch {
		case f.Type == TypeEnum:
			fields[name] = map[string]any{"enum": f.Enum, "array": f.Array}
		case f.Array:
			fields[name] = string(f.Type) + "[]"
		default:
			fields[name] = string(f.Type)
		}
	}
	def["fields"] = fields
	rels := map[string]any{}
	for name, rel := range s.Relations {
		if rel.Many {
			rels[name] = rel.Shape + "[]"
		} else {
			rels[name] = rel.Shape
		}
	}
	def["relations"] = rels
	return map[string]any{s.Name: def}
}

// FuzzParseShapes: any file parses without panicking; every problem is a
// *LoadError with a message; every shape it defines, written back as YAML,
// parses to the same shape.
func FuzzParseShapes(f *testing.F) {
	entries, err := os.ReadDir("defs")
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join("defs", e.Name()))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(data))
	}
	for _, seed := range []string{
		"sample:" + sampleFields,
		"a:\n  fields: {s: {enum: [x, y], array: true}}\n  identity_any: [s, name]\n  display: {title: s}\n",
		"a: &x {fields: {t: text}}\nb: *x\n",
		"---\n---\nc:\n",
		"d: [1, 2]\n",
		"e:\n  fields:\n    t: strin\n  relations:\n    r: Person\n  bogus: 1\n",
		"f:\n  plural: \"ff \"\n  description: \"multi\\nline: yes\"\n  strict: yes\n",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, text string) {
		parsed, errs := parseFile("fuzz.yaml", []byte(text))
		for _, err := range errs {
			var le *LoadError
			if !errors.As(err, &le) || le.Err == nil || le.File != "fuzz.yaml" || le.Line < 0 || le.Error() == "" {
				t.Fatalf("problem is not a proper *LoadError: %#v", err)
			}
		}
		for _, ps := range parsed {
			out, err := yaml.Marshal(renderShape(ps.shape))
			if err != nil {
				t.Fatalf("render %s: %v", ps.shape.Name, err)
			}
			back, errs := parseFile("fuzz.yaml", out)
			if len(errs) > 0 || len(back) != 1 {
				t.Fatalf("shape %s written back as\n%s\ndoes not parse: %v", ps.shape.Name, out, errs)
			}
			if !reflect.DeepEqual(back[0].shape, ps.shape) {
				t.Fatalf("shape written back as\n%s\nparses to\n%#v\nnot\n%#v", out, back[0].shape, ps.shape)
			}
		}
	})
}
