package shapes

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// normalize reduces whatever a caller passes to the few forms the coercion
// rules are written for: nil, string, bool, int64, uint64, float64,
// json.Number, time.Time, []any and map[string]any. Values arrive from
// encoding/json (float64 or json.Number) but also from Go code ([]string,
// int, named string types), and each rule should not have to know them all.
// Anything else (a struct, say) goes through JSON, as it would on the wire.
func normalize(v any) any {
	switch x := v.(type) {
	case nil, string, bool, int64, uint64, float64, json.Number, time.Time, []any, map[string]any:
		return v
	case json.RawMessage:
		return decodeJSON(x)
	case []byte:
		return string(x)
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			return nil
		}
		return normalize(rv.Elem().Interface())
	case reflect.String:
		return rv.String()
	case reflect.Bool:
		return rv.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return rv.Uint()
	case reflect.Float32, reflect.Float64:
		return rv.Float()
	case reflect.Slice, reflect.Array:
		if rv.Kind() == reflect.Slice && rv.IsNil() {
			return nil
		}
		out := make([]any, rv.Len())
		for i := range out {
			out[i] = rv.Index(i).Interface()
		}
		return out
	case reflect.Map:
		if rv.Type().Key().Kind() == reflect.String {
			if rv.IsNil() {
				return nil
			}
			out := make(map[string]any, rv.Len())
			for it := rv.MapRange(); it.Next(); {
				out[it.Key().String()] = it.Value().Interface()
			}
			return out
		}
	}
	data, err := json.Marshal(v)
	if err != nil {
		return v // left as is: the caller reports it as a value that cannot be stored
	}
	return decodeJSON(data)
}

// decodeJSON decodes keeping numbers exact (json.Number); text that is not
// JSON is kept as the text it is.
func decodeJSON(data []byte) any {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var out any
	if err := dec.Decode(&out); err != nil {
		return string(data)
	}
	return out
}

// number is a numeric value with both readings kept: i is exact when isInt,
// f is always set, and text is how it reads back (for messages and for
// storing a number as text).
type number struct {
	i     int64
	f     float64
	isInt bool
	text  string
}

// looksNumeric reports whether s is written like a JSON number (a sign
// aside), so that strconv's extras (hex, "Inf", "NaN", underscores) are
// not taken for numbers by accident. Hand-written because it runs on every
// datetime string and a regexp would dominate a write's cost.
func looksNumeric(s string) bool {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits := func() int {
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		return i - start
	}
	mantissa := digits()
	if i < len(s) && s[i] == '.' {
		i++
		mantissa += digits()
	}
	if mantissa == 0 {
		return false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(s)
}

// asNumber reads a normalized Go or JSON number; strings are not numbers here.
func asNumber(v any) (number, bool) {
	switch x := v.(type) {
	case int64:
		return number{i: x, f: float64(x), isInt: true, text: strconv.FormatInt(x, 10)}, true
	case uint64:
		if x > math.MaxInt64 {
			return number{f: float64(x), text: strconv.FormatUint(x, 10)}, true
		}
		return number{i: int64(x), f: float64(x), isInt: true, text: strconv.FormatUint(x, 10)}, true
	case float64:
		return fromFloat(x)
	case json.Number:
		return parseNumber(string(x))
	}
	return number{}, false
}

// parseNumber reads a number written as text, such as "495" or " 3.5 ".
func parseNumber(s string) (number, bool) {
	s = strings.TrimSpace(s)
	if !looksNumeric(s) {
		return number{}, false
	}
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return number{i: i, f: float64(i), isInt: true, text: s}, true
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return number{}, false // out of float64 range
	}
	n, ok := fromFloat(f)
	n.text = s
	return n, ok
}

func fromFloat(f float64) (number, bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return number{}, false
	}
	n := number{f: f, text: formatFloat(f)}
	// 2^63 itself does not fit in an int64, hence the strict upper bound.
	if f == math.Trunc(f) && f >= math.MinInt64 && f < math.MaxInt64 {
		n.i, n.isInt = int64(f), true
	}
	return n, true
}

// integral reports whether the number has no fraction, whatever its size.
func (n number) integral() bool { return n.isInt || n.f == math.Trunc(n.f) }

// formatFloat writes a float the way encoding/json does: plain digits for
// ordinary magnitudes, an exponent only for very large or small ones.
func formatFloat(f float64) string {
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// textOf is the text form of a scalar, for text fields and for the text
// fallback; ok is false for lists, objects and anything else without one.
func textOf(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case bool:
		return strconv.FormatBool(x), true
	case time.Time:
		return x.Format(time.RFC3339Nano), true
	}
	if n, ok := asNumber(v); ok {
		return n.text, true
	}
	return "", false
}

// MaxJSONDepth bounds how deeply objects and arrays may nest in one value
// (a json field, or a list or object kept as JSON). The graph stores a
// node's fields as one JSON document, a value two or three levels inside
// it, and SQLite's JSON functions refuse a document nested 1000 deep: one
// such value would break every ordered read of its shapes. No real
// document needs more than a few levels; 64 leaves room to spare.
const MaxJSONDepth = 64

// jsonOf encodes any value as compact JSON, refusing what could be encoded
// but not stored and read back: nesting deeper than MaxJSONDepth, or a
// number outside float64 (1e400 is valid JSON that no reader can decode).
func jsonOf(v any) (json.RawMessage, error) {
	raw, err := encodeJSON(v)
	if err != nil {
		return nil, err
	}
	if err := checkJSON(raw); err != nil {
		return nil, err
	}
	return raw, nil
}

// encodeJSON encodes any value as compact JSON. HTML escaping is off
// because the text is stored, not embedded in a page.
func encodeJSON(v any) (json.RawMessage, error) {
	if raw, ok := v.(json.RawMessage); ok {
		v = decodeJSON(raw)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return json.RawMessage(bytes.TrimRight(buf.Bytes(), "\n")), nil
}

// checkJSON scans JSON that encoding/json wrote (so well-formed) for
// nesting deeper than MaxJSONDepth and numbers outside float64.
func checkJSON(raw []byte) error {
	depth := 0
	for i := 0; i < len(raw); i++ {
		switch c := raw[i]; {
		case c == '"':
			for i++; i < len(raw) && raw[i] != '"'; i++ {
				if raw[i] == '\\' {
					i++
				}
			}
		case c == '{' || c == '[':
			if depth++; depth > MaxJSONDepth {
				return fmt.Errorf("objects and lists nested more than %d levels deep (the most a value may have)", MaxJSONDepth)
			}
		case c == '}' || c == ']':
			depth--
		case c == '-' || c >= '0' && c <= '9':
			start := i
			for i+1 < len(raw) && strings.IndexByte("0123456789+-.eE", raw[i+1]) >= 0 {
				i++
			}
			if _, err := strconv.ParseFloat(string(raw[start:i+1]), 64); err != nil {
				return fmt.Errorf("the number %.40s is out of range (numbers must fit a 64-bit float)", raw[start:i+1])
			}
		}
	}
	return nil
}

// describe renders a value for a message: strings quoted, anything else as
// JSON, both cut short so one huge value cannot swamp the message.
func describe(v any) string {
	const max = 60
	if s, ok := v.(string); ok {
		if utf8.RuneCountInString(s) > max {
			s = string([]rune(s)[:max]) + "…"
		}
		return strconv.Quote(s)
	}
	var s string
	if raw, err := encodeJSON(v); err == nil {
		s = string(raw)
	} else {
		s = strings.TrimSpace(reflect.TypeOf(v).String() + " value")
	}
	if utf8.RuneCountInString(s) > max {
		s = string([]rune(s)[:max]) + "…"
	}
	return s
}
