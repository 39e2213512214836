package shapes

import (
	"fmt"
	"net/url"
	"strings"
	"time"
)

// converted is the result of coercing one scalar against a field type.
// Exactly one of these holds: problem is set (the value does not fit the
// type; val is empty), note is set (it fits, but only by a guess the caller
// should hear about), or neither (a clean fit).
type converted struct {
	val     Value
	problem string // "\"high\" is not an integer"
	note    string // "\"Done\" taken as \"done\""
}

// convert coerces one normalized, non-nil scalar to the unit of field f
// (the element type, for an array field).
func convert(f Field, v any) converted {
	switch f.Type {
	case TypeString, TypeText:
		if s, ok := textOf(v); ok {
			return converted{val: Value{Unit: UnitText, V: s}}
		}
		noun := "a string"
		if f.Type == TypeText {
			noun = "text"
		}
		return converted{problem: describe(v) + " is not " + noun}
	case TypeEnum:
		return convertEnum(f, v)
	case TypeInteger:
		return convertInteger(v)
	case TypeNumber:
		n, ok := asNumber(v)
		if s, isText := v.(string); isText {
			n, ok = parseNumber(s)
		}
		if !ok {
			return converted{problem: describe(v) + " is not a number"}
		}
		return converted{val: Value{Unit: UnitNumber, V: n.f}}
	case TypeBoolean:
		return convertBool(v)
	case TypeDatetime:
		s, problem := toDatetime(v)
		if problem != "" {
			return converted{problem: problem}
		}
		return converted{val: Value{Unit: UnitDatetime, V: s}}
	case TypeURL:
		return convertURL(v)
	case TypeJSON:
		raw, err := jsonOf(v)
		if err != nil {
			return converted{problem: fmt.Sprintf("%s cannot be encoded as JSON: %v", describe(v), err)}
		}
		return converted{val: Value{Unit: UnitJSON, V: raw}}
	}
	// Load accepts no other type; reaching here is a bug in this package.
	return converted{problem: fmt.Sprintf("field type %q is not supported", f.Type)}
}

func convertInteger(v any) converted {
	n, ok := asNumber(v)
	if s, isText := v.(string); isText {
		n, ok = parseNumber(s)
	}
	switch {
	case !ok || !n.integral():
		return converted{problem: describe(v) + " is not an integer"}
	case !n.isInt:
		return converted{problem: describe(v) + " is out of range for an integer"}
	}
	return converted{val: Value{Unit: UnitInteger, V: n.i}}
}

// convertBool accepts the spellings people and config files use; anything
// else is a problem rather than a guess ("maybe" is not false).
func convertBool(v any) converted {
	switch x := v.(type) {
	case bool:
		return converted{val: Value{Unit: UnitBool, V: x}}
	case string:
		switch strings.ToLower(strings.TrimSpace(x)) {
		case "true", "yes", "y", "on", "1":
			return converted{val: Value{Unit: UnitBool, V: true}}
		case "false", "no", "n", "off", "0":
			return converted{val: Value{Unit: UnitBool, V: false}}
		}
	default:
		if n, ok := asNumber(v); ok && (n.f == 0 || n.f == 1) {
			return converted{val: Value{Unit: UnitBool, V: n.f == 1}}
		}
	}
	return converted{problem: describe(v) + " is not a boolean (use true/false, yes/no, on/off or 1/0)"}
}

// convertEnum keeps the declared spelling: a value that differs only in case
// is stored as declared, with a note, so queries see one spelling.
func convertEnum(f Field, v any) converted {
	s, ok := textOf(v)
	if !ok {
		return converted{problem: describe(v) + " is not one of " + strings.Join(f.Enum, ", ")}
	}
	for _, allowed := range f.Enum {
		if s == allowed {
			return converted{val: Value{Unit: UnitText, V: s}}
		}
	}
	trimmed := strings.TrimSpace(s)
	for _, allowed := range f.Enum {
		if strings.EqualFold(trimmed, allowed) {
			return converted{val: Value{Unit: UnitText, V: allowed}, note: fmt.Sprintf("%s taken as %q", describe(v), allowed)}
		}
	}
	return converted{problem: describe(v) + " is not one of " + strings.Join(f.Enum, ", ")}
}

func convertURL(v any) converted {
	s, isText := v.(string)
	if isText {
		s = strings.TrimSpace(s)
		if u, err := url.Parse(s); err == nil && u.Scheme != "" && u.Host != "" {
			return converted{val: Value{Unit: UnitURL, V: s}}
		}
	}
	return converted{problem: describe(v) + " is not a URL with a scheme and host (like https://example.com)"}
}

// fallback is how a value that does not fit its field is kept on a
// non-strict shape: scalars as their text, lists and objects as JSON.
func fallback(v any) (Value, error) {
	if s, ok := textOf(v); ok {
		return Value{Unit: UnitText, V: s}, nil
	}
	raw, err := jsonOf(v)
	if err != nil {
		return Value{}, err
	}
	return Value{Unit: UnitJSON, V: raw}, nil
}

// infer types a value under a key the shape does not declare, from the
// value alone: the same rule for writes and for where-clauses, so a query
// finds what a write stored.
func infer(v any) (Value, error) {
	switch x := v.(type) {
	case string:
		return Value{Unit: UnitText, V: x}, nil
	case bool:
		return Value{Unit: UnitBool, V: x}, nil
	case time.Time:
		if s, problem := toDatetime(x); problem == "" {
			return Value{Unit: UnitDatetime, V: s}, nil
		}
	}
	if n, ok := asNumber(v); ok {
		if n.isInt {
			return Value{Unit: UnitInteger, V: n.i}, nil
		}
		return Value{Unit: UnitNumber, V: n.f}, nil
	}
	raw, err := jsonOf(v)
	if err != nil {
		return Value{}, err
	}
	return Value{Unit: UnitJSON, V: raw}, nil
}
