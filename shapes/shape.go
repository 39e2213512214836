package shapes

import "errors"

// Type is the declared type of a field in a shape.
type Type string

// Field types a shape may declare.
const (
	TypeString   Type = "string"
	TypeText     Type = "text"
	TypeInteger  Type = "integer"
	TypeNumber   Type = "number"
	TypeBoolean  Type = "boolean"
	TypeDatetime Type = "datetime"
	TypeURL      Type = "url"
	TypeJSON     Type = "json"
	TypeEnum     Type = "enum"
)

// Field is one declared field of a shape.
type Field struct {
	Name  string   `json:"name"`
	Type  Type     `json:"type"`
	Array bool     `json:"array,omitempty"` // declared as T[]
	Enum  []string `json:"enum,omitempty"`  // allowed values when Type is TypeEnum
}

// Searchable reports whether values of this field feed the full-text index.
func (f Field) Searchable() bool {
	return f.Type == TypeString || f.Type == TypeText || f.Type == TypeEnum
}

// Relation is a declared relation of a shape: a key whose values are other nodes.
type Relation struct {
	Name  string `json:"name"`
	Shape string `json:"shape"`          // shape of the target nodes
	Many  bool   `json:"many,omitempty"` // declared as shape[]
}

// Shape is one loaded shape definition.
type Shape struct {
	Name        string              `json:"name"`
	Plural      string              `json:"plural,omitempty"`
	Description string              `json:"description,omitempty"`
	Also        []string            `json:"also,omitempty"`         // direct parents, as written
	Identity    []string            `json:"identity,omitempty"`     // all must match
	IdentityAny []string            `json:"identity_any,omitempty"` // any one matches, tried in order
	Fields      map[string]Field    `json:"fields"`                 // declared fields plus the standard ones
	Relations   map[string]Relation `json:"relations,omitempty"`
	Display     map[string]string   `json:"display,omitempty"`
	Strict      bool                `json:"strict,omitempty"`
	Source      string              `json:"source"` // "embedded:defs/task.yaml" or a file path
}

// Unit is how a stored value is typed in the graph.
type Unit string

// Units of stored values (DESIGN §5).
const (
	UnitText     Unit = "text"
	UnitInteger  Unit = "integer"
	UnitNumber   Unit = "number"
	UnitBool     Unit = "bool"
	UnitDatetime Unit = "datetime"
	UnitURL      Unit = "url"
	UnitJSON     Unit = "json"
)

// Value is one coerced scalar value.
//
// V holds: int64 for UnitInteger, float64 for UnitNumber, bool for UnitBool,
// string for UnitText and UnitURL, string in RFC 3339 UTC with millisecond
// precision ("2006-01-02T15:04:05.000Z", fixed width so it sorts) for
// UnitDatetime, and json.RawMessage (compact) for UnitJSON.
type Value struct {
	Unit Unit
	V    any
}

// Coerced is the result of coercing caller-supplied fields against a shape.
type Coerced struct {
	Scalars   map[string]Value   // non-array fields
	Arrays    map[string][]Value // fields declared T[] (element values)
	Unset     []string           // keys given as null: remove them
	Relations map[string][]any   // relation keys: each item is a node id (string) or a nested object (map[string]any)
	Warnings  []string           // human-readable notes on every guess made
}

// Errors callers branch on.
var (
	// ErrUnknownShape is returned for a shape name no loaded file defines.
	ErrUnknownShape = errors.New("unknown shape")
	// ErrInvalid wraps a value a strict shape rejected or a value that cannot be stored at all.
	ErrInvalid = errors.New("invalid value")
)
