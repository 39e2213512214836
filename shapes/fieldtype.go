package shapes

import (
	"maps"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// scalarTypes are the type names a field may declare, in the order the hint lists them.
var scalarTypes = []string{"string", "text", "integer", "number", "boolean", "datetime", "url", "json"}

// typeAliases are spellings from other languages that authors reach for;
// they only feed the "did you mean" hint and are never accepted silently.
var typeAliases = map[string]string{
	"str": "string", "int": "integer", "int64": "integer", "float": "number", "double": "number",
	"decimal": "number", "bool": "boolean", "date": "datetime", "time": "datetime",
	"timestamp": "datetime", "uri": "url", "link": "url", "object": "json", "map": "json", "any": "json",
}

const typesHint = "types are string, text, integer, number, boolean, datetime, url, json, T[] for a list of T, and {enum: [a, b]}"

// standardFields are on every shape (DESIGN §6) unless the shape declares a
// field or relation of the same name, so any node can carry a name, a link,
// a picture, a date and a body.
func standardFields() []Field {
	return []Field{
		{Name: "name", Type: TypeText},
		{Name: "url", Type: TypeURL},
		{Name: "image", Type: TypeURL},
		{Name: "published", Type: TypeDatetime},
		{Name: "content", Type: TypeText},
	}
}

// field parses one entry of fields: "title: string", "tags: string[]" or
// "status: {enum: [todo, done]}" (optionally with "array: true").
func (p *shapeParser) field(k, v *yaml.Node) (Field, bool) {
	f := Field{Name: k.Value}
	if !keyNameRe.MatchString(f.Name) {
		p.fail(k, "%s.fields: %q is not a valid field name (letters, digits and _, not starting with a digit)", p.name, f.Name)
		return f, false
	}
	switch {
	case isNull(v):
		p.fail(k, "%s.fields.%s has no type; %s", p.name, f.Name, typesHint)
		return f, false
	case v.Kind == yaml.ScalarNode:
		return p.scalarType(f, v)
	case v.Kind == yaml.MappingNode:
		return p.enumType(f, v)
	}
	p.fail(v, "%s.fields.%s: a type is a name like string or integer[], or {enum: [a, b]}", p.name, f.Name)
	return f, false
}

func (p *shapeParser) scalarType(f Field, v *yaml.Node) (Field, bool) {
	spelled := strings.TrimSpace(v.Value)
	base, isArray := strings.CutSuffix(spelled, "[]")
	for _, t := range scalarTypes {
		if base == t {
			f.Type, f.Array = Type(t), isArray
			return f, true
		}
	}
	if base == string(TypeEnum) {
		p.fail(v, "%s.fields.%s: an enum needs its values, written {enum: [a, b]}", p.name, f.Name)
		return f, false
	}
	guess := typeAliases[strings.ToLower(base)]
	if guess == "" {
		guess = closest(base, scalarTypes)
	}
	if guess != "" && isArray {
		guess += "[]"
	}
	p.fail(v, "%s.fields.%s: unknown type %q%s; %s", p.name, f.Name, spelled, hint(guess), typesHint)
	return f, false
}

func (p *shapeParser) enumType(f Field, v *yaml.Node) (Field, bool) {
	f.Type = TypeEnum
	ok := true
	var values *yaml.Node
	p.eachPair("fields."+f.Name, v, func(k, val *yaml.Node) {
		switch k.Value {
		case "enum":
			values = val
		case "array":
			if err := val.Decode(&f.Array); err != nil {
				p.fail(val, "%s.fields.%s.array must be true or false", p.name, f.Name)
				ok = false
			}
		default:
			p.fail(k, "%s.fields.%s: unknown key %q; write {enum: [a, b]}, optionally with array: true", p.name, f.Name, k.Value)
			ok = false
		}
	})
	if values == nil || values.Kind != yaml.SequenceNode || len(values.Content) == 0 {
		p.fail(v, "%s.fields.%s: an enum needs a non-empty list of values, written {enum: [a, b]}", p.name, f.Name)
		return f, false
	}
	seen := map[string]bool{}
	for _, n := range values.Content {
		n = deref(n)
		if n.Kind != yaml.ScalarNode || isNull(n) {
			p.fail(n, "%s.fields.%s: enum values must be plain words", p.name, f.Name)
			ok = false
			continue
		}
		if seen[n.Value] {
			p.fail(n, "%s.fields.%s: enum value %q is listed twice", p.name, f.Name, n.Value)
			ok = false
			continue
		}
		seen[n.Value] = true
		f.Enum = append(f.Enum, n.Value)
	}
	return f, ok
}

// relation parses one entry of relations: "project: project" or "assignees: person[]".
func (p *shapeParser) relation(k, v *yaml.Node) (Relation, bool) {
	r := Relation{Name: k.Value}
	if !keyNameRe.MatchString(r.Name) {
		p.fail(k, "%s.relations: %q is not a valid relation name (letters, digits and _, not starting with a digit)", p.name, r.Name)
		return r, false
	}
	if v.Kind != yaml.ScalarNode || isNull(v) {
		p.fail(v, "%s.relations.%s must name a shape, like person or person[] for several", p.name, r.Name)
		return r, false
	}
	target, many := strings.CutSuffix(strings.TrimSpace(v.Value), "[]")
	if !shapeNameRe.MatchString(target) {
		p.fail(v, "%s.relations.%s: %q is not a shape name; write a lowercase shape name, like person or person[] for several", p.name, r.Name, v.Value)
		return r, false
	}
	r.Shape, r.Many = target, many
	return r, true
}

// shapeKeyNames lists a shape's fields and relations, sorted, for hints.
func shapeKeyNames(s *Shape) []string {
	names := slices.AppendSeq(slices.Collect(maps.Keys(s.Fields)), maps.Keys(s.Relations))
	slices.Sort(names)
	return names
}
