package shapes

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// invalidError carries a message written for the caller and matches
// ErrInvalid, without prefixing "invalid value:" to every message.
type invalidError struct{ msg string }

func (e *invalidError) Error() string { return e.msg }
func (e *invalidError) Unwrap() error { return ErrInvalid }

func invalidf(format string, args ...any) error {
	return &invalidError{msg: fmt.Sprintf(format, args...)}
}

// Coerce types caller-supplied fields against shape (DESIGN §6): a value
// is coerced to its field's unit when it can be; otherwise a non-strict
// shape keeps it as text (or JSON) with a warning, and a strict shape
// rejects the whole call. Keys are handled in sorted order so warnings come
// out the same way every time.
//
// The error wraps ErrUnknownShape for an unknown shape and ErrInvalid for
// rejected values; an ErrInvalid message lists every rejected key, joined
// by "; ", so one round trip is enough to fix them all. Relation values
// that are neither node ids nor objects are rejected even on non-strict
// shapes: there is nothing sensible to link to.
func (r *Registry) Coerce(shape string, fields map[string]any) (*Coerced, error) {
	s, err := r.lookup(shape)
	if err != nil {
		return nil, err
	}
	c := &coercion{shape: s}
	out := &Coerced{Scalars: make(map[string]Value, len(fields)), Arrays: map[string][]Value{}, Relations: map[string][]any{}}
	for _, key := range slices.Sorted(maps.Keys(fields)) {
		if strings.TrimSpace(key) == "" {
			c.reject("%s: a field name cannot be empty", s.Name)
			continue
		}
		at := place{shape: s.Name, key: key, index: -1}
		v := normalize(fields[key])
		if v == nil {
			out.Unset = append(out.Unset, key)
			continue
		}
		if rel, ok := s.Relations[key]; ok {
			items, err := relationItems(at, rel, v)
			if err != nil {
				c.rejects = append(c.rejects, err.Error())
				continue
			}
			out.Relations[key] = items
			continue
		}
		f, declared := s.Fields[key]
		switch {
		case !declared:
			if val, ok := c.undeclared(at, v); ok {
				out.Scalars[key] = val
			}
		case f.Array:
			out.Arrays[key] = c.array(at, f, v)
		default:
			if val, ok := c.scalar(at, f, v); ok {
				out.Scalars[key] = val
			}
		}
	}
	if len(c.rejects) > 0 {
		return nil, &invalidError{msg: strings.Join(c.rejects, "; ")}
	}
	out.Warnings = c.warnings
	return out, nil
}

// coercion collects the warnings and rejections of one Coerce call.
type coercion struct {
	shape    *Shape
	warnings []string
	rejects  []string
}

func (c *coercion) warn(format string, args ...any) {
	c.warnings = append(c.warnings, fmt.Sprintf(format, args...))
}

func (c *coercion) reject(format string, args ...any) {
	c.rejects = append(c.rejects, fmt.Sprintf(format, args...))
}

// strictNote ends a rejection caused only by the shape being strict, so the
// caller knows a non-strict shape would have taken the value.
func (c *coercion) strictNote() string {
	return fmt.Sprintf("shape %s is strict: fix the value or leave it out", c.shape.Name)
}

// scalar coerces one value (a whole scalar field or one array element).
func (c *coercion) scalar(at place, f Field, v any) (Value, bool) {
	res := convert(f, v)
	switch {
	case res.problem == "":
		if res.note != "" {
			c.warn("%s: %s", at, res.note)
		}
		return res.val, true
	case c.shape.Strict:
		c.reject("%s: %s (%s)", at, res.problem, c.strictNote())
		return Value{}, false
	}
	fb, err := fallback(v)
	if err != nil {
		c.reject("%s: %s cannot be stored: %v", at, describe(v), err)
		return Value{}, false
	}
	c.warn("%s: %s; stored as %s", at, res.problem, fb.Unit)
	return fb, true
}

// array coerces a T[] field. A single value is taken as a list of one,
// since callers often send "tags": "x" for a one-element list.
func (c *coercion) array(at place, f Field, v any) []Value {
	list, isList := v.([]any)
	if !isList {
		val, ok := c.scalar(at, f, v)
		if !ok {
			return []Value{}
		}
		return []Value{val}
	}
	vals := make([]Value, 0, len(list))
	for i, item := range list {
		itemAt := at.at(i)
		item = normalize(item)
		if item == nil {
			if c.shape.Strict {
				c.reject("%s is null (%s)", itemAt, c.strictNote())
			} else {
				c.warn("%s is null; dropped", itemAt)
			}
			continue
		}
		if val, ok := c.scalar(itemAt, f, item); ok {
			vals = append(vals, val)
		}
	}
	return vals
}

// undeclared handles a key the shape does not declare: a non-strict shape
// stores it with a unit inferred from the value, a strict one refuses.
func (c *coercion) undeclared(at place, v any) (Value, bool) {
	s := c.shape
	guess := hint(closest(at.key, shapeKeyNames(s)))
	if s.Strict {
		c.reject("%s is not a field of %s%s (%s; its fields and relations are %s)",
			at, s.Name, guess, c.strictNote(), strings.Join(shapeKeyNames(s), ", "))
		return Value{}, false
	}
	val, err := infer(v)
	if err != nil {
		c.reject("%s: %s cannot be stored: %v", at, describe(v), err)
		return Value{}, false
	}
	c.warn("%s is not a field of %s%s; stored as %s", at, s.Name, guess, val.Unit)
	return val, true
}

// relationItems checks the value under a relation key: a node id, a nested
// object (a child node of the relation's shape), or a list of those.
func relationItems(at place, rel Relation, v any) ([]any, error) {
	list, isList := v.([]any)
	if !isList {
		list = []any{v}
	}
	items := make([]any, 0, len(list))
	for i, item := range list {
		itemAt := at
		if isList {
			itemAt = at.at(i)
		}
		switch x := normalize(item).(type) {
		case string:
			id := strings.TrimSpace(x)
			if id == "" {
				return nil, invalidf("%s: the node id is empty; give the id of a %s node or a %s object", itemAt, rel.Shape, rel.Shape)
			}
			items = append(items, id)
		case map[string]any:
			items = append(items, x)
		default:
			return nil, invalidf("%s: %s is not a node id or a %s object; a relation takes a node id (string), an object, or a list of them",
				itemAt, describe(item), rel.Shape)
		}
	}
	if !rel.Many && len(items) > 1 {
		return nil, invalidf("%s links to one %s, but %d were given; send one (the relation is declared %s, not %s[])",
			at, rel.Shape, len(items), rel.Shape, rel.Shape)
	}
	return items, nil
}

// place names a value in messages ("task.tags[1]"). It is formatted only
// when a message is written, which keeps the common, quiet path cheap.
type place struct {
	shape, key string
	index      int // -1 unless the value is an element of a list
}

func (p place) at(i int) place { return place{shape: p.shape, key: p.key, index: i} }

func (p place) String() string {
	if p.index < 0 {
		return p.shape + "." + p.key
	}
	return fmt.Sprintf("%s.%s[%d]", p.shape, p.key, p.index)
}

// CoerceValue types one value of a where-clause the way Coerce would store
// it under key, so that comparisons meet stored values. An array field
// compares against one element. It never guesses silently: wherever Coerce
// would warn (including an enum value in the wrong case), CoerceValue
// returns an error wrapping ErrInvalid instead. A relation key takes a node
// id, returned as a UnitText value. An undeclared key on a non-strict shape
// gets the unit Coerce would infer for it.
func (r *Registry) CoerceValue(shape, key string, v any) (Value, error) {
	s, err := r.lookup(shape)
	if err != nil {
		return Value{}, err
	}
	label := s.Name + "." + key
	v = normalize(v)
	if v == nil {
		return Value{}, invalidf("%s: null is not a value to compare with; give a value", label)
	}
	if rel, ok := s.Relations[key]; ok {
		if id, ok := v.(string); ok && strings.TrimSpace(id) != "" {
			return Value{Unit: UnitText, V: strings.TrimSpace(id)}, nil
		}
		return Value{}, invalidf("%s is a relation to %s: compare it with a node id, not %s", label, rel.Shape, describe(v))
	}
	f, declared := s.Fields[key]
	if !declared {
		if s.Strict {
			return Value{}, invalidf("%s is not a field of %s%s; its fields and relations are %s",
				label, s.Name, hint(closest(key, shapeKeyNames(s))), strings.Join(shapeKeyNames(s), ", "))
		}
		val, err := infer(v)
		if err != nil {
			return Value{}, invalidf("%s: %s cannot be compared: %v", label, describe(v), err)
		}
		return val, nil
	}
	if _, isList := v.([]any); isList && f.Type != TypeJSON {
		return Value{}, invalidf("%s: compare with one value, not a list", label)
	}
	res := convert(f, v)
	switch {
	case res.problem != "":
		return Value{}, invalidf("%s: %s", label, res.problem)
	case res.note != "":
		return Value{}, invalidf("%s: %s is not one of %s%s", label, describe(v), strings.Join(f.Enum, ", "), hint(fmt.Sprint(res.val.V)))
	}
	return res.val, nil
}
