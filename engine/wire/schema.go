package wire

import (
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// The params of every method are Go structs in this package; their JSON
// Schemas (system.schema, the MCP tools) and the bounds the engine enforces
// are both derived from the struct tags, so the two cannot drift:
//
//	json:"name,omitempty"  the property; without omitempty it is required
//	desc:"..."             its description
//	schema:"k=v;k=v"       constraints: min, max (numbers), minLength, maxLength,
//	                       pattern, rule (what a pattern mismatch says: the
//	                       value is never repeated), enum (values split by |),
//	                       type (override), empty (a required string may be "")
//
// Only the constraints listed are understood; an unknown one panics when the
// schema is first built, which the package's tests do for every method.

// constraint is one property's bounds, as checked by Check.
type constraint struct {
	name                 string // the JSON name
	index                int    // field index in the struct
	required             bool
	allowEmpty           bool // a required string that may be ""
	min, max             *float64
	minLength, maxLength *int
	pattern              *regexp.Regexp
	rule                 string // what a pattern mismatch says, instead of the pattern
	enum                 []string
}

type structInfo struct {
	schema json.RawMessage
	props  []constraint
}

var infos sync.Map // reflect.Type -> *structInfo

func infoOf(t reflect.Type) *structInfo {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if v, ok := infos.Load(t); ok {
		return v.(*structInfo)
	}
	info := build(t)
	v, _ := infos.LoadOrStore(t, info)
	return v.(*structInfo)
}

// Schema is the JSON Schema of a params struct (v may be a value or a
// pointer of it), without the properties named in omit.
func Schema(v any, omit ...string) json.RawMessage {
	info := infoOf(reflect.TypeOf(v))
	if len(omit) == 0 {
		return info.schema
	}
	var s map[string]any
	json.Unmarshal(info.schema, &s)
	props, _ := s["properties"].(map[string]any)
	for _, name := range omit {
		delete(props, name)
	}
	if req, ok := s["required"].([]any); ok {
		kept := req[:0]
		for _, r := range req {
			if !slices.Contains(omit, r.(string)) {
				kept = append(kept, r)
			}
		}
		s["required"] = kept
		if len(kept) == 0 {
			delete(s, "required")
		}
	}
	b, _ := json.Marshal(s)
	return b
}

func build(t reflect.Type) *structInfo {
	if t.Kind() != reflect.Struct {
		panic(fmt.Sprintf("wire: params must be a struct, not %s", t))
	}
	type prop struct {
		name   string
		schema map[string]any
	}
	var props []prop
	info := &structInfo{}
	var required []string
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		c := constraint{name: name, index: i, required: !strings.Contains(opts, "omitempty")}
		s := typeSchema(f.Type)
		if d := f.Tag.Get("desc"); d != "" {
			s["description"] = d
		}
		applyConstraints(t, f, s, &c)
		if c.required {
			required = append(required, name)
		}
		info.props = append(info.props, c)
		props = append(props, prop{name, s})
	}
	// Properties in field order: the order a reader of the schema (and
	// of the struct) expects.
	var b strings.Builder
	b.WriteString(`{"type":"object","properties":{`)
	for i, p := range props {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(p.name)
		v, _ := json.Marshal(p.schema)
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	if len(required) > 0 {
		r, _ := json.Marshal(required)
		b.WriteString(`,"required":`)
		b.Write(r)
	}
	b.WriteString(`,"additionalProperties":false}`)
	info.schema = json.RawMessage(b.String())
	return info
}

var rawMessage = reflect.TypeOf(json.RawMessage(nil))

func typeSchema(t reflect.Type) map[string]any {
	if t == rawMessage {
		return map[string]any{}
	}
	switch t.Kind() {
	case reflect.Pointer:
		return typeSchema(t.Elem())
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Map:
		return map[string]any{"type": "object"}
	case reflect.Slice, reflect.Array:
		return map[string]any{"type": "array", "items": typeSchema(t.Elem())}
	case reflect.Interface:
		return map[string]any{}
	}
	panic(fmt.Sprintf("wire: no JSON Schema for %s", t))
}

func applyConstraints(t reflect.Type, f reflect.StructField, s map[string]any, c *constraint) {
	tag := f.Tag.Get("schema")
	if tag == "" {
		return
	}
	for _, kv := range strings.Split(tag, ";") {
		k, v, _ := strings.Cut(kv, "=")
		bad := func(err error) {
			panic(fmt.Sprintf("wire: %s.%s: schema %q: %v", t.Name(), f.Name, kv, err))
		}
		switch k {
		case "min", "max":
			n, err := strconv.ParseFloat(v, 64)
			if err != nil {
				bad(err)
			}
			if k == "min" {
				c.min, s["minimum"] = &n, n
			} else {
				c.max, s["maximum"] = &n, n
			}
		case "minLength", "maxLength":
			n, err := strconv.Atoi(v)
			if err != nil {
				bad(err)
			}
			if k == "minLength" {
				c.minLength, s["minLength"] = &n, n
			} else {
				c.maxLength, s["maxLength"] = &n, n
			}
		case "pattern":
			re, err := regexp.Compile(v)
			if err != nil {
				bad(err)
			}
			c.pattern, s["pattern"] = re, v
		case "empty":
			c.allowEmpty = true
		case "rule":
			c.rule = v
		case "enum":
			c.enum = strings.Split(v, "|")
			s["enum"] = c.enum
		case "type":
			s["type"] = v
		default:
			bad(fmt.Errorf("unknown constraint"))
		}
	}
}

// Check enforces the tag constraints of a decoded params struct (a pointer
// to it): required strings present, numbers within min/max, lengths,
// patterns and enums. JSON decoding has already checked types and unknown
// keys. The error is an *Error of kind invalid naming the param.
func Check(method string, p any) error {
	v := reflect.ValueOf(p)
	for v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	for _, c := range infoOf(v.Type()).props {
		if err := c.check(v.Field(c.index)); err != "" {
			return Errorf(KindInvalid, "%s: param %q %s", method, c.name, err)
		}
	}
	return nil
}

func (c *constraint) check(f reflect.Value) string {
	for f.Kind() == reflect.Pointer {
		if f.IsNil() {
			return ""
		}
		f = f.Elem()
	}
	switch f.Kind() {
	case reflect.String:
		s := f.String()
		if strings.TrimSpace(s) == "" {
			if c.required && !c.allowEmpty {
				return "is required"
			}
			if s == "" {
				return "" // absent
			}
		}
		n := utf8.RuneCountInString(s)
		switch {
		case c.minLength != nil && n < *c.minLength:
			return fmt.Sprintf("must be at least %d characters", *c.minLength)
		case c.maxLength != nil && n > *c.maxLength:
			return fmt.Sprintf("must be at most %d characters", *c.maxLength)
		case c.pattern != nil && !c.pattern.MatchString(s) && c.rule != "":
			return c.rule
		case c.pattern != nil && !c.pattern.MatchString(s):
			return fmt.Sprintf("must match %s", c.pattern)
		case c.enum != nil && !slices.Contains(c.enum, s):
			return fmt.Sprintf("must be one of %s, not %q", strings.Join(c.enum, ", "), s)
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if n := f.Int(); n != 0 || c.required {
			return c.checkNumber(float64(n))
		}
	case reflect.Float32, reflect.Float64:
		if n := f.Float(); n != 0 || c.required {
			return c.checkNumber(n)
		}
	}
	return ""
}

func (c *constraint) checkNumber(n float64) string {
	switch {
	case c.min != nil && n < *c.min:
		return fmt.Sprintf("must be at least %v, not %v", *c.min, n)
	case c.max != nil && n > *c.max:
		return fmt.Sprintf("must be at most %v, not %v", *c.max, n)
	}
	return ""
}
