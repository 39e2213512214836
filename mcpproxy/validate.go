package mcpproxy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
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
// The top level is checked by hand, for messages that name the argument
// plainly; then the whole schema (items, bounds, enums, $defs/$ref) by
// jsonschema, whose first leaf error is reported with where it is.
type argSchema struct {
	required []string
	types    map[string][]string // known key -> allowed JSON types (nil: any)
	names    []string            // known keys, sorted, for the unknown-argument message
	closed   bool                // additionalProperties: false
	full     *jsonschema.Schema  // nil when the schema does not compile
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
	if doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw)); err == nil {
		c := jsonschema.NewCompiler()
		if c.AddResource("agentos-tool.json", doc) == nil {
			a.full, _ = c.Compile("agentos-tool.json") // a schema it cannot compile keeps the top-level checks
		}
	}
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
	if a.full != nil {
		if err := a.full.Validate(map[string]any(args)); err != nil {
			return schemaMessage(err)
		}
	}
	return ""
}

var englishPrinter = message.NewPrinter(language.English)

// schemaMessage is the first leaf error of a validation: the argument and
// the place in it, and what is wrong ("argument \"tags\" at /1: got number,
// want string").
func schemaMessage(err error) string {
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return err.Error()
	}
	for len(ve.Causes) > 0 {
		ve = ve.Causes[0]
	}
	what := ve.ErrorKind.LocalizedString(englishPrinter)
	switch loc := ve.InstanceLocation; len(loc) {
	case 0:
		return "arguments: " + what
	case 1:
		return fmt.Sprintf("argument %q: %s", loc[0], what)
	default:
		return fmt.Sprintf("argument %q at /%s: %s", loc[0], strings.Join(loc[1:], "/"), what)
	}
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
