package graph

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/agentos/agentos/internal/jsonstr"
	"github.com/agentos/agentos/shapes"
)

// The fields document (nodes.fields) is a JSON object, key → value, whose
// values carry their unit without a schema:
//
//	"text"              text
//	42                  integer (no '.' or exponent)
//	4.0, 1e+30          number  (always a '.' or an exponent)
//	true / false        bool
//	{"d": "2025-…Z"}    datetime
//	{"u": "https://…"}  url
//	{"j": <any JSON>}   json
//	[v, v, …]           array of the above (a scalar is never a JSON array)
//
// It stays readable in the sqlite3 shell, and it makes reading a node one
// row instead of one row per value.

func appendDoc(b []byte, vals map[string]fieldVal) []byte {
	b = append(b, '{')
	first := true
	for k, f := range vals {
		if !f.array && len(f.vals) == 0 {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendJSONString(b, k)
		b = append(b, ':')
		if !f.array {
			b = appendDocValue(b, f.vals[0])
			continue
		}
		b = append(b, '[')
		for i, v := range f.vals {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendDocValue(b, v)
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

func appendDocValue(b []byte, v shapes.Value) []byte {
	switch v.Unit {
	case shapes.UnitInteger:
		if i, ok := v.V.(int64); ok {
			return strconv.AppendInt(b, i, 10)
		}
	case shapes.UnitNumber:
		if f, ok := v.V.(float64); ok && !math.IsNaN(f) && !math.IsInf(f, 0) {
			start := len(b)
			b = strconv.AppendFloat(b, f, 'g', -1, 64)
			if !bytes.ContainsAny(b[start:], ".eE") {
				b = append(b, '.', '0')
			}
			return b
		}
	case shapes.UnitBool:
		if x, ok := v.V.(bool); ok {
			return strconv.AppendBool(b, x)
		}
	case shapes.UnitDatetime:
		b = append(b, `{"d":`...)
		return append(appendJSONString(b, textOfValue(v.V)), '}')
	case shapes.UnitURL:
		b = append(b, `{"u":`...)
		return append(appendJSONString(b, textOfValue(v.V)), '}')
	case shapes.UnitJSON:
		raw := rawJSON(v.V)
		b = append(b, `{"j":`...)
		return append(append(b, raw...), '}')
	}
	return appendJSONString(b, textOfValue(v.V))
}

// rawJSON returns compact JSON for a json-unit value, whatever Go form it
// arrived in.
func rawJSON(v any) []byte {
	switch x := v.(type) {
	case json.RawMessage:
		if json.Valid(x) {
			return x
		}
	case string:
		if json.Valid([]byte(x)) {
			return []byte(x)
		}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return []byte("null")
	}
	return b
}

func textOfValue(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.RawMessage:
		return string(x)
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}

// appendJSONString appends s as a JSON string; HTML characters are not
// escaped (the document is stored, not embedded in a page).
func appendJSONString(b []byte, s string) []byte { return jsonstr.Append(b, s, false) }

// parseDoc decodes a fields document into values with units. It is a small
// hand-written parser for the format above: reading nodes is the hot path
// of every query, and encoding/json spent more time here than SQLite did.
func parseDoc(doc string) (map[string]fieldVal, error) {
	p := docParser{s: doc}
	out := map[string]fieldVal{}
	err := p.object(func(key string) error {
		p.space()
		if p.peek() == '[' {
			p.i++
			f := fieldVal{array: true, vals: []shapes.Value{}}
			p.space()
			if p.peek() == ']' {
				p.i++
				out[key] = f
				return nil
			}
			for {
				v, err := p.value()
				if err != nil {
					return err
				}
				f.vals = append(f.vals, v)
				p.space()
				switch p.next() {
				case ',':
					continue
				case ']':
					out[key] = f
					return nil
				}
				return p.fail("expected , or ]")
			}
		}
		v, err := p.value()
		if err != nil {
			return err
		}
		out[key] = fieldVal{vals: []shapes.Value{v}}
		return nil
	})
	if err != nil {
		return nil, corruptDoc(err)
	}
	return out, nil
}

func corruptDoc(err error) error { return fmt.Errorf("graph: corrupt fields document: %w", err) }

// docFields decodes a fields document straight into Node.Fields form.
func docFields(doc string) (map[string]any, error) {
	vals, err := parseDoc(doc)
	if err != nil {
		return nil, err
	}
	out := make(map[string]any, len(vals))
	for k, f := range vals {
		out[k] = f.jsonOut()
	}
	return out, nil
}

type docParser struct {
	s string
	i int
}

func (p *docParser) fail(msg string) error { return fmt.Errorf("%s at byte %d", msg, p.i) }

func (p *docParser) peek() byte {
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

func (p *docParser) next() byte {
	c := p.peek()
	p.i++
	return c
}

func (p *docParser) space() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// object parses {"k": ..., ...}, calling member with the parser positioned
// at each value.
func (p *docParser) object(member func(key string) error) error {
	p.space()
	if p.next() != '{' {
		return p.fail("expected {")
	}
	p.space()
	if p.peek() == '}' {
		p.i++
		return nil
	}
	for {
		p.space()
		key, err := p.str()
		if err != nil {
			return err
		}
		p.space()
		if p.next() != ':' {
			return p.fail("expected :")
		}
		if err := member(key); err != nil {
			return err
		}
		p.space()
		switch p.next() {
		case ',':
			continue
		case '}':
			return nil
		}
		return p.fail("expected , or }")
	}
}

// value parses one scalar of the document format.
func (p *docParser) value() (shapes.Value, error) {
	p.space()
	switch c := p.peek(); {
	case c == '"':
		s, err := p.str()
		return shapes.Value{Unit: shapes.UnitText, V: s}, err
	case c == 't' && strings.HasPrefix(p.s[p.i:], "true"):
		p.i += 4
		return shapes.Value{Unit: shapes.UnitBool, V: true}, nil
	case c == 'f' && strings.HasPrefix(p.s[p.i:], "false"):
		p.i += 5
		return shapes.Value{Unit: shapes.UnitBool, V: false}, nil
	case c == '-' || c >= '0' && c <= '9':
		start := p.i
		isFloat := false
		for p.i < len(p.s) {
			c := p.s[p.i]
			if c >= '0' && c <= '9' || c == '-' || c == '+' {
				p.i++
			} else if c == '.' || c == 'e' || c == 'E' {
				isFloat = true
				p.i++
			} else {
				break
			}
		}
		num := p.s[start:p.i]
		if !isFloat {
			if i, err := strconv.ParseInt(num, 10, 64); err == nil {
				return shapes.Value{Unit: shapes.UnitInteger, V: i}, nil
			}
		}
		f, err := strconv.ParseFloat(num, 64)
		if err != nil {
			return shapes.Value{}, p.fail("bad number")
		}
		return shapes.Value{Unit: shapes.UnitNumber, V: f}, nil
	case c == '{':
		var v shapes.Value
		err := p.object(func(key string) error {
			p.space()
			switch key {
			case "d", "u":
				s, err := p.str()
				if err != nil {
					return err
				}
				v = shapes.Value{Unit: shapes.UnitDatetime, V: s}
				if key == "u" {
					v.Unit = shapes.UnitURL
				}
			case "j":
				start := p.i
				if err := p.skip(); err != nil {
					return err
				}
				v = shapes.Value{Unit: shapes.UnitJSON, V: json.RawMessage(p.s[start:p.i])}
			default:
				return p.fail("unknown wrapper " + key)
			}
			return nil
		})
		if err == nil && v.Unit == "" {
			err = p.fail("empty wrapper")
		}
		return v, err
	}
	return shapes.Value{}, p.fail("unexpected value")
}

// str parses a JSON string.
func (p *docParser) str() (string, error) {
	if p.next() != '"' {
		return "", p.fail("expected string")
	}
	start := p.i
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case '"':
			s := p.s[start:p.i]
			p.i++
			return s, nil
		case '\\':
			// Rare (our encoder escapes only what it must): let
			// encoding/json handle escapes from the opening quote on.
			end := p.i
			for end < len(p.s) {
				if p.s[end] == '\\' {
					end += 2
					continue
				}
				if p.s[end] == '"' {
					break
				}
				end++
			}
			if end >= len(p.s) {
				return "", p.fail("unterminated string")
			}
			var out string
			if err := json.Unmarshal([]byte(p.s[start-1:end+1]), &out); err != nil {
				return "", p.fail("bad string")
			}
			p.i = end + 1
			return out, nil
		}
		p.i++
	}
	return "", p.fail("unterminated string")
}

// skip moves past one JSON value of any kind (for json-unit values).
func (p *docParser) skip() error {
	p.space()
	start := p.i
	depth := 0
	for p.i < len(p.s) {
		switch c := p.s[p.i]; c {
		case '"':
			if _, err := p.str(); err != nil {
				return err
			}
			if depth == 0 {
				return p.valid(start)
			}
			continue
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 {
				return p.valid(start) // the end of the enclosing wrapper
			}
			depth--
			if depth == 0 {
				p.i++
				return p.valid(start)
			}
		case ',', ':':
			if depth == 0 {
				return p.valid(start)
			}
		case ' ', '\t', '\n', '\r':
			if depth == 0 {
				return p.valid(start)
			}
		}
		p.i++
	}
	if depth != 0 {
		return p.fail("unterminated value")
	}
	return p.valid(start)
}

func (p *docParser) valid(start int) error {
	if !json.Valid([]byte(p.s[start:p.i])) {
		return p.fail("invalid JSON value")
	}
	return nil
}
