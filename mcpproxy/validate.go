package mcpproxy

import (
	"encoding/json"
	"fmt"
	"sort"
)

// schema is the top level of a tool's input JSON Schema, as far as the proxy
// checks arguments before forwarding them: required keys, the type of each
// known key, and unknown keys when additionalProperties is false.
type schema struct {
	Properties           map[string]json.RawMessage `json:"properties"`
	Required             []string                   `json:"required"`
	AdditionalProperties *bool                      `json:"additionalProperties"`
}

type propType struct {
	Type any `json:"type"`
}

// argSchema is a schema decoded once, when its tool is built, so a call only
// walks its arguments. nil checks nothing (a schema that does not decode).
type argSchema struct {
	required []string
	types    map[string][]string // known key -> allowed JSON types (nil: any)
	names    []string            // known keys, sorted, for the unknown-argument message
	closed   bool                // additionalProperties: false
}

// compileArgs decodes a tool's input schema for checkArgs.
func compileArgs(raw json.RawMessage) *argSchema {
	var s schema
	if len(raw) == 0 || json.Unmarshal(raw, &s) != nil {
		return nil
	}
	a := &argSchema{required: s.Required, types: make(map[string][]string, len(s.Properties)),
		closed: s.AdditionalProperties != nil && !*s.AdditionalProperties}
	for n, p := range s.Properties {
		a.names = append(a.names, n)
		var types []string
		var pt propType
		if json.Unmarshal(p, &pt) == nil {
			switch t := pt.Type.(type) {
			case string:
				types = []string{t}
			case []any:
				for _, x := range t {
					if s, ok := x.(string); ok {
						types = append(types, s)
					}
				}
			}
		}
		a.types[n] = types
	}
	sort.Strings(a.names)
	return a
}

// checkArgs returns a message naming the first bad argument, or "".
func checkArgs(raw json.RawMessage, args map[string]any) string {
	return compileArgs(raw).check(args)
}

// check returns a message naming the first bad argument, or "".
func (a *argSchema) check(args map[string]any) string {
	if a == nil {
		return ""
	}
	for _, r := range a.required {
		if v, ok := args[r]; !ok || v == nil {
			return fmt.Sprintf("missing required argument %q", r)
		}
	}
	keys := make([]string, 0, len(args))
	for k := range args {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		types, ok := a.types[k]
		if !ok {
			if a.closed {
				return fmt.Sprintf("unknown argument %q; expected some of %v", k, a.names)
			}
			continue
		}
		if len(types) == 0 {
			continue
		}
		got := jsonType(args[k])
		match := false
		for _, t := range types {
			if t == got || (t == "number" && got == "integer") {
				match = true
			}
		}
		if !match {
			want := types[0]
			if len(types) > 1 {
				want = fmt.Sprint(types)
			}
			return fmt.Sprintf("argument %q must be %s, not %s", k, article(want), got)
		}
	}
	return ""
}

func article(t string) string {
	switch t {
	case "object", "array", "integer":
		return "an " + t
	}
	return "a " + t
}

// jsonType names the JSON type of a decoded value.
func jsonType(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case bool:
		return "boolean"
	case float64:
		if x == float64(int64(x)) {
			return "integer"
		}
		return "number"
	case json.Number:
		if _, err := x.Int64(); err == nil {
			return "integer"
		}
		return "number"
	case map[string]any:
		return "object"
	case []any:
		return "array"
	}
	return fmt.Sprintf("%T", v)
}
