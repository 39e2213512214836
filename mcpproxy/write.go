package mcpproxy

import (
	"encoding/json"
	"sort"
)

// The write tool: a batch of nodes of one shape in one call (data.write
// with partial), so an agent stores a list of entities at once. Its input
// schema follows the shapes: one alternative per shape, whose items have
// that shape's fields and relations.

// writeDesc is the write tool's description.
const writeDesc = "Create or update many nodes of one shape in one call: `items` is a list of field objects (what `create` takes as fields), each upserted by the shape's identity. " +
	"An item that does not fit the shape is left out and reported in `errors` with its index; the others are written all the same, in one transaction. " +
	"The result has the nodes' `ids` in the items' order (\"\" for an item in errors). Prefer this to calling create once per node."

// shapeDef is what the write tool's schema needs of a shape (shapes.list).
type shapeDef struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Fields      map[string]struct {
		Type  string   `json:"type"`
		Array bool     `json:"array"`
		Enum  []string `json:"enum"`
	} `json:"fields"`
	Relations map[string]struct {
		Shape string `json:"shape"`
		Many  bool   `json:"many"`
	} `json:"relations"`
}

// fieldSchema is the JSON Schema of a value of a field type, as the
// graph's coercion takes it (lenient: a number may come as a string, so
// only the type a model should send is given).
func fieldSchema(typ string, enum []string) map[string]any {
	switch typ {
	case "integer":
		return map[string]any{"type": "integer"}
	case "number":
		return map[string]any{"type": "number"}
	case "boolean":
		return map[string]any{"type": "boolean"}
	case "datetime":
		return map[string]any{"type": "string", "description": "a date (2027-04-15) or a time (RFC 3339)"}
	case "url":
		return map[string]any{"type": "string", "format": "uri"}
	case "json":
		return map[string]any{}
	case "enum":
		return map[string]any{"type": "string", "enum": enum}
	}
	return map[string]any{"type": "string"}
}

// writeSchema is the write tool's input schema for these shapes: {shape,
// items} with one alternative per shape (anyOf), each naming its shape and
// describing its items' fields. Without shapes, items are plain objects.
func writeSchema(defs []shapeDef) json.RawMessage {
	names := make([]string, 0, len(defs))
	var alts []any
	sort.Slice(defs, func(i, j int) bool { return defs[i].Name < defs[j].Name })
	for _, d := range defs {
		names = append(names, d.Name)
		props := map[string]any{}
		for name, f := range d.Fields {
			v := fieldSchema(f.Type, f.Enum)
			if f.Array {
				v = map[string]any{"type": "array", "items": v}
			}
			props[name] = v
		}
		for name, r := range d.Relations {
			one := map[string]any{"anyOf": []any{
				map[string]any{"type": "string", "description": "the id of a " + r.Shape},
				map[string]any{"type": "object", "description": "a " + r.Shape + " to create or match by its identity"},
			}}
			if r.Many {
				props[name] = map[string]any{"type": "array", "items": one}
			} else {
				props[name] = one
			}
		}
		alts = append(alts, map[string]any{
			"properties": map[string]any{
				"shape": map[string]any{"const": d.Name},
				"items": map[string]any{"type": "array", "items": map[string]any{"type": "object", "properties": props, "description": d.Description}},
			},
		})
	}
	shape := map[string]any{"type": "string", "description": "shape name, e.g. task"}
	if len(names) > 0 {
		shape["enum"] = names
	}
	s := map[string]any{
		"type":     "object",
		"required": []string{"shape", "items"},
		"properties": map[string]any{
			"shape": shape,
			"items": map[string]any{"type": "array", "minItems": 1, "maxItems": 1000, "items": map[string]any{"type": "object"},
				"description": "the nodes' fields, one object each (at most 1000 a call)"},
		},
	}
	if len(alts) > 0 {
		s["anyOf"] = alts
	}
	b, _ := json.Marshal(s)
	return b
}
