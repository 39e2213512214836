package shapes

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func text(s string) Value          { return Value{Unit: UnitText, V: s} }
func integer(i int64) Value        { return Value{Unit: UnitInteger, V: i} }
func num(f float64) Value          { return Value{Unit: UnitNumber, V: f} }
func boolean(b bool) Value         { return Value{Unit: UnitBool, V: b} }
func datetime(s string) Value      { return Value{Unit: UnitDatetime, V: s} }
func link(s string) Value          { return Value{Unit: UnitURL, V: s} }
func jsonValue(s string) Value     { return Value{Unit: UnitJSON, V: json.RawMessage(s)} }
func sameValue(a, b Value) bool    { return reflect.DeepEqual(a, b) }
func oneWarning(w string) []string { return []string{w} }

func TestCoerceScalarFields(t *testing.T) {
	r := sampleRegistry(t)
	tests := []struct {
		name     string
		key      string
		in       any
		want     Value
		warnings []string
	}{
		{"string stays text", "s", "hello", text("hello"), nil},
		{"number in a string field becomes its text", "s", 42.0, text("42"), nil},
		{"bool in a text field becomes its text", "t", true, text("true"), nil},
		{"object in a string field is kept as json with a warning", "s", map[string]any{"a": 1.0}, jsonValue(`{"a":1}`),
			oneWarning(`sample.s: {"a":1} is not a string; stored as json`)},

		{"integer from float64", "i", 495.0, integer(495), nil},
		{"integer from numeric string", "i", "495", integer(495), nil},
		{"integer from string with spaces", "i", " 495 ", integer(495), nil},
		{"integer from integral decimal string", "i", "495.0", integer(495), nil},
		{"integer from json.Number", "i", json.Number("495"), integer(495), nil},
		{"integer from int", "i", 7, integer(7), nil},
		{"integer from int64 beyond float precision", "i", int64(1<<62 + 1), integer(1<<62 + 1), nil},
		{"integer from uint8", "i", uint8(3), integer(3), nil},
		{"non-integral string is kept as text", "i", "4.5", text("4.5"),
			oneWarning(`sample.i: "4.5" is not an integer; stored as text`)},
		{"non-integral float is kept as text", "i", 4.5, text("4.5"),
			oneWarning(`sample.i: 4.5 is not an integer; stored as text`)},
		{"word is kept as text", "i", "high", text("high"),
			oneWarning(`sample.i: "high" is not an integer; stored as text`)},
		{"huge integer is out of range", "i", "1e30", text("1e30"),
			oneWarning(`sample.i: "1e30" is out of range for an integer; stored as text`)},
		{"hex is not an integer", "i", "0x10", text("0x10"),
			oneWarning(`sample.i: "0x10" is not an integer; stored as text`)},
		{"bool is not an integer", "i", true, text("true"),
			oneWarning(`sample.i: true is not an integer; stored as text`)},

		{"number from string", "n", "3.5", num(3.5), nil},
		{"number from float64", "n", 3.5, num(3.5), nil},
		{"number from json.Number", "n", json.Number("-2.25"), num(-2.25), nil},
		{"number from int", "n", 3, num(3), nil},
		{"NaN string is not a number", "n", "NaN", text("NaN"),
			oneWarning(`sample.n: "NaN" is not a number; stored as text`)},
		{"word is not a number", "n", "lots", text("lots"),
			oneWarning(`sample.n: "lots" is not a number; stored as text`)},

		{"bool from bool", "b", true, boolean(true), nil},
		{"bool from yes", "b", "yes", boolean(true), nil},
		{"bool from No in any case", "b", "No", boolean(false), nil},
		{"bool from TRUE", "b", "TRUE", boolean(true), nil},
		{"bool from false", "b", "false", boolean(false), nil},
		{"bool from 1", "b", "1", boolean(true), nil},
		{"bool from 0", "b", "0", boolean(false), nil},
		{"bool from on", "b", "on", boolean(true), nil},
		{"bool from off", "b", "OFF", boolean(false), nil},
		{"bool from y", "b", "y", boolean(true), nil},
		{"bool from n", "b", "n", boolean(false), nil},
		{"bool from number 1", "b", 1.0, boolean(true), nil},
		{"bool from number 0", "b", json.Number("0"), boolean(false), nil},
		{"number 2 is not a bool", "b", 2.0, text("2"),
			oneWarning(`sample.b: 2 is not a boolean (use true/false, yes/no, on/off or 1/0); stored as text`)},
		{"maybe is not a bool", "b", "maybe", text("maybe"),
			oneWarning(`sample.b: "maybe" is not a boolean (use true/false, yes/no, on/off or 1/0); stored as text`)},

		{"datetime from RFC 3339 UTC", "d", "2024-05-01T09:30:00Z", datetime("2024-05-01T09:30:00.000Z"), nil},
		{"datetime is not guessed from words", "d", "next tuesday", text("next tuesday"),
			oneWarning(`sample.d: "next tuesday" is not a date or time (` + datetimeHint + `); stored as text`)},

		{"url with scheme and host", "u", "https://example.com/a?b=c", link("https://example.com/a?b=c"), nil},
		{"url without scheme is kept as text", "u", "example.com", text("example.com"),
			oneWarning(`sample.u: "example.com" is not a URL with a scheme and host (like https://example.com); stored as text`)},
		{"mailto has no host so is kept as text", "u", "mailto:a@b.c", text("mailto:a@b.c"),
			oneWarning(`sample.u: "mailto:a@b.c" is not a URL with a scheme and host (like https://example.com); stored as text`)},

		{"json from object, compact", "j", map[string]any{"b": []any{1.0, "x"}, "a": nil}, jsonValue(`{"a":null,"b":[1,"x"]}`), nil},
		{"json from string", "j", "plain", jsonValue(`"plain"`), nil},
		{"json from raw message is compacted", "j", json.RawMessage(`{ "a" : 1 }`), jsonValue(`{"a":1}`), nil},
		{"json keeps html characters", "j", "<b>&</b>", jsonValue(`"<b>&</b>"`), nil},
		{"json number keeps its digits", "j", json.Number("12345678901234567890"), jsonValue(`12345678901234567890`), nil},

		{"enum value in list", "e", "red", text("red"), nil},
		{"enum value in other case takes the declared spelling", "e", "Green", text("green"),
			oneWarning(`sample.e: "Green" taken as "green"`)},
		{"enum value not in list is kept as text", "e", "blue", text("blue"),
			oneWarning(`sample.e: "blue" is not one of red, green; stored as text`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := r.Coerce("sample", map[string]any{tt.key: tt.in})
			if err != nil {
				t.Fatalf("Coerce: %v", err)
			}
			if v, ok := got.Scalars[tt.key]; !ok || !sameValue(v, tt.want) {
				t.Errorf("Scalars[%q] = %#v, want %#v", tt.key, v, tt.want)
			}
			if !reflect.DeepEqual(got.Warnings, tt.warnings) {
				t.Errorf("warnings = %q, want %q", got.Warnings, tt.warnings)
			}
		})
	}
}

func TestCoerceDatetimeFormats(t *testing.T) {
	r := sampleRegistry(t)
	tests := []struct {
		name string
		in   any
		want string
	}{
		{"RFC 3339 with Z", "2024-05-01T09:30:00Z", "2024-05-01T09:30:00.000Z"},
		{"RFC 3339 with fractional seconds", "2024-05-01T09:30:00.123456Z", "2024-05-01T09:30:00.123Z"},
		{"RFC 3339 with offset is converted to UTC", "2024-05-01T09:30:00+02:00", "2024-05-01T07:30:00.000Z"},
		{"RFC 3339 with fraction and offset", "2024-05-01T09:30:00.5-01:00", "2024-05-01T10:30:00.500Z"},
		{"RFC 3339 in lowercase", "2024-05-01t09:30:00z", "2024-05-01T09:30:00.000Z"},
		{"offset without colon", "2024-05-01T09:30:00+0200", "2024-05-01T07:30:00.000Z"},
		{"no offset is read as UTC", "2024-05-01T09:30:00", "2024-05-01T09:30:00.000Z"},
		{"date only is midnight UTC", "2024-05-01", "2024-05-01T00:00:00.000Z"},
		{"date and minutes with a space", "2024-05-01 09:30", "2024-05-01T09:30:00.000Z"},
		{"date and seconds with a space", "2024-05-01 09:30:15", "2024-05-01T09:30:15.000Z"},
		{"mail date with offset", "Wed, 1 May 2024 09:30:00 +0200", "2024-05-01T07:30:00.000Z"},
		{"mail date in GMT", "Wed, 01 May 2024 09:30:00 GMT", "2024-05-01T09:30:00.000Z"},
		{"unix seconds as float64", 1714555800.0, "2024-05-01T09:30:00.000Z"},
		{"unix seconds as string", "1714555800", "2024-05-01T09:30:00.000Z"},
		{"unix seconds as json.Number", json.Number("1714555800"), "2024-05-01T09:30:00.000Z"},
		{"unix seconds with a fraction", 1714555800.25, "2024-05-01T09:30:00.250Z"},
		{"unix milliseconds as number", 1714555800123.0, "2024-05-01T09:30:00.123Z"},
		{"unix milliseconds as string", "1714555800123", "2024-05-01T09:30:00.123Z"},
		{"unix milliseconds as int64", int64(1714555800123), "2024-05-01T09:30:00.123Z"},
		{"zero is the epoch", 0, "1970-01-01T00:00:00.000Z"},
		{"time.Time from Go callers", time.Date(2024, 5, 1, 11, 30, 0, 0, time.FixedZone("x", 7200)), "2024-05-01T09:30:00.000Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := r.Coerce("sample", map[string]any{"d": tt.in})
			if err != nil {
				t.Fatalf("Coerce: %v", err)
			}
			if want := datetime(tt.want); !sameValue(got.Scalars["d"], want) || len(got.Warnings) > 0 {
				t.Errorf("got %#v (warnings %q), want %#v", got.Scalars["d"], got.Warnings, want)
			}
		})
	}

	rejected := []struct {
		name string
		in   any
	}{
		{"words", "yesterday"},
		{"impossible date", "2024-13-45"},
		{"unknown zone abbreviation", "Wed, 01 May 2024 09:30:00 IST"},
		{"bool", true},
		{"year beyond 9999", 1e15 * 1000},
	}
	for _, tt := range rejected {
		t.Run("rejects "+tt.name, func(t *testing.T) {
			if _, err := r.CoerceValue("sample", "d", tt.in); !errors.Is(err, ErrInvalid) {
				t.Errorf("CoerceValue(%v) error = %v, want ErrInvalid", tt.in, err)
			}
		})
	}
}

func TestCoerceArrayFields(t *testing.T) {
	r := sampleRegistry(t)
	tests := []struct {
		name     string
		key      string
		in       any
		want     []Value
		warnings []string
	}{
		{"list of strings", "tags", []any{"a", "b"}, []Value{text("a"), text("b")}, nil},
		{"Go []string", "tags", []string{"a"}, []Value{text("a")}, nil},
		{"single value is wrapped", "tags", "solo", []Value{text("solo")}, nil},
		{"empty list stays empty", "tags", []any{}, []Value{}, nil},
		{"each element is coerced", "nums", []any{"1", 2.0, json.Number("3")}, []Value{integer(1), integer(2), integer(3)}, nil},
		{"bad element is kept as text with its index", "nums", []any{1.0, "two"}, []Value{integer(1), text("two")},
			oneWarning(`sample.nums[1]: "two" is not an integer; stored as text`)},
		{"bad single value is named without an index", "nums", "two", []Value{text("two")},
			oneWarning(`sample.nums: "two" is not an integer; stored as text`)},
		{"null element is dropped", "tags", []any{"a", nil}, []Value{text("a")},
			oneWarning(`sample.tags[1] is null; dropped`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := r.Coerce("sample", map[string]any{tt.key: tt.in})
			if err != nil {
				t.Fatalf("Coerce: %v", err)
			}
			if !reflect.DeepEqual(got.Arrays[tt.key], tt.want) {
				t.Errorf("Arrays[%q] = %#v, want %#v", tt.key, got.Arrays[tt.key], tt.want)
			}
			if _, inScalars := got.Scalars[tt.key]; inScalars {
				t.Errorf("array field %q also appears in Scalars", tt.key)
			}
			if !reflect.DeepEqual(got.Warnings, tt.warnings) {
				t.Errorf("warnings = %q, want %q", got.Warnings, tt.warnings)
			}
		})
	}
}

func TestCoerceUndeclaredKeys(t *testing.T) {
	r := sampleRegistry(t)
	tests := []struct {
		name    string
		in      any
		want    Value
		warning string
	}{
		{"string is inferred as text", "blue", text("blue"), "sample.colour is not a field of sample; stored as text"},
		{"integral number is inferred as integer", 3.0, integer(3), "sample.colour is not a field of sample; stored as integer"},
		{"json.Number integer is inferred as integer", json.Number("3"), integer(3), "sample.colour is not a field of sample; stored as integer"},
		{"fractional number is inferred as number", 3.5, num(3.5), "sample.colour is not a field of sample; stored as number"},
		{"bool is inferred as bool", false, boolean(false), "sample.colour is not a field of sample; stored as bool"},
		{"object is inferred as json", map[string]any{"r": 1.0}, jsonValue(`{"r":1}`), "sample.colour is not a field of sample; stored as json"},
		{"list is inferred as json", []any{"a"}, jsonValue(`["a"]`), "sample.colour is not a field of sample; stored as json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := r.Coerce("sample", map[string]any{"colour": tt.in})
			if err != nil {
				t.Fatalf("Coerce: %v", err)
			}
			if !sameValue(got.Scalars["colour"], tt.want) {
				t.Errorf("Scalars[colour] = %#v, want %#v", got.Scalars["colour"], tt.want)
			}
			if !reflect.DeepEqual(got.Warnings, []string{tt.warning}) {
				t.Errorf("warnings = %q, want %q", got.Warnings, tt.warning)
			}
		})
	}

	t.Run("a near miss suggests the declared field", func(t *testing.T) {
		got, err := r.Coerce("task", map[string]any{"titel": "x"})
		if err != nil {
			t.Fatal(err)
		}
		want := `task.titel is not a field of task (did you mean "title"?); stored as text`
		if !reflect.DeepEqual(got.Warnings, []string{want}) {
			t.Errorf("warnings = %q, want %q", got.Warnings, want)
		}
	})
}

func TestCoerceTaskExamples(t *testing.T) {
	r, errs := Load()
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	got, err := r.Coerce("task", map[string]any{
		"title":    "Write report",
		"priority": "high",
		"colour":   "red",
		"done":     "yes",
		"due":      "2024-05-01",
		"tags":     "work",
		"status":   "doing",
		"project":  "n_123",
		"content":  nil,
	})
	if err != nil {
		t.Fatal(err)
	}
	wantWarnings := []string{
		`task.colour is not a field of task; stored as text`,
		`task.priority: "high" is not an integer; stored as text`,
	}
	if !reflect.DeepEqual(got.Warnings, wantWarnings) {
		t.Errorf("warnings = %q, want %q (sorted by key)", got.Warnings, wantWarnings)
	}
	wantScalars := map[string]Value{
		"title": text("Write report"), "priority": text("high"), "colour": text("red"),
		"done": boolean(true), "due": datetime("2024-05-01T00:00:00.000Z"), "status": text("doing"),
	}
	if !reflect.DeepEqual(got.Scalars, wantScalars) {
		t.Errorf("Scalars = %#v, want %#v", got.Scalars, wantScalars)
	}
	if !reflect.DeepEqual(got.Arrays, map[string][]Value{"tags": {text("work")}}) {
		t.Errorf("Arrays = %#v", got.Arrays)
	}
	if !reflect.DeepEqual(got.Relations, map[string][]any{"project": {"n_123"}}) {
		t.Errorf("Relations = %#v", got.Relations)
	}
	if !reflect.DeepEqual(got.Unset, []string{"content"}) {
		t.Errorf("Unset = %q, want [content]", got.Unset)
	}
}

func TestCoerceNullUnsets(t *testing.T) {
	r := sampleRegistry(t)
	for _, shape := range []string{"sample", "rigid"} {
		t.Run(shape, func(t *testing.T) {
			var nilPtr *string
			got, err := r.Coerce(shape, map[string]any{"i": nil, "owner": nil, "undeclared": nil, "tags": nilPtr})
			if err != nil {
				t.Fatal(err)
			}
			want := []string{"i", "owner", "tags", "undeclared"}
			if !reflect.DeepEqual(got.Unset, want) {
				t.Errorf("Unset = %q, want %q", got.Unset, want)
			}
			if len(got.Scalars)+len(got.Arrays)+len(got.Relations)+len(got.Warnings) != 0 {
				t.Errorf("null values produced output: %+v", got)
			}
		})
	}
}

func TestCoerceRelations(t *testing.T) {
	r := sampleRegistry(t)
	nested := map[string]any{"name": "Ada", "email": "ada@example.com"}
	tests := []struct {
		name string
		key  string
		in   any
		want []any
	}{
		{"single id", "owner", "n_1", []any{"n_1"}},
		{"id is trimmed", "owner", " n_1 ", []any{"n_1"}},
		{"single nested object", "owner", nested, []any{nested}},
		{"list with one item for a single relation", "owner", []any{"n_1"}, []any{"n_1"}},
		{"list of ids and objects", "members", []any{"n_1", nested}, []any{"n_1", nested}},
		{"single item for a many relation", "members", "n_2", []any{"n_2"}},
		{"Go []string", "members", []string{"n_1", "n_2"}, []any{"n_1", "n_2"}},
		{"empty list clears", "members", []any{}, []any{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := r.Coerce("sample", map[string]any{tt.key: tt.in})
			if err != nil {
				t.Fatalf("Coerce: %v", err)
			}
			if !reflect.DeepEqual(got.Relations[tt.key], tt.want) {
				t.Errorf("Relations[%q] = %#v, want %#v", tt.key, got.Relations[tt.key], tt.want)
			}
			if len(got.Warnings) > 0 {
				t.Errorf("unexpected warnings %q", got.Warnings)
			}
		})
	}

	rejected := []struct {
		name    string
		key     string
		in      any
		wantMsg string
	}{
		{"number", "owner", 42.0, `sample.owner: 42 is not a node id or a person object; a relation takes a node id (string), an object, or a list of them`},
		{"bool in a list", "members", []any{"n_1", true}, `sample.members[1]: true is not a node id or a person object`},
		{"nested list", "members", []any{[]any{"n_1"}}, `sample.members[0]: ["n_1"] is not a node id or a person object`},
		{"empty id", "owner", "  ", `sample.owner: the node id is empty; give the id of a person node or a person object`},
		{"two items for a single relation", "owner", []any{"n_1", "n_2"}, `sample.owner links to one person, but 2 were given`},
	}
	for _, tt := range rejected {
		t.Run("rejects "+tt.name+" even when not strict", func(t *testing.T) {
			_, err := r.Coerce("sample", map[string]any{tt.key: tt.in})
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error = %v, want ErrInvalid", err)
			}
			if !strings.HasPrefix(err.Error(), tt.wantMsg) {
				t.Errorf("error = %q, want it to start with %q", err, tt.wantMsg)
			}
		})
	}
}

func TestCoerceStrictRejects(t *testing.T) {
	r := sampleRegistry(t)
	const note = " (shape rigid is strict: fix the value or leave it out)"
	tests := []struct {
		name    string
		fields  map[string]any
		wantMsg string
	}{
		{"non-integer", map[string]any{"i": "high"}, `rigid.i: "high" is not an integer` + note},
		{"non-integral integer", map[string]any{"i": "4.5"}, `rigid.i: "4.5" is not an integer` + note},
		{"bad boolean", map[string]any{"b": "maybe"}, `rigid.b: "maybe" is not a boolean (use true/false, yes/no, on/off or 1/0)` + note},
		{"bad datetime", map[string]any{"d": "soon"}, `rigid.d: "soon" is not a date or time (` + datetimeHint + `)` + note},
		{"bad url", map[string]any{"u": "nope"}, `rigid.u: "nope" is not a URL with a scheme and host (like https://example.com)` + note},
		{"enum value not in list", map[string]any{"e": "blue"}, `rigid.e: "blue" is not one of red, green` + note},
		{"object in a string field", map[string]any{"s": map[string]any{}}, `rigid.s: {} is not a string` + note},
		{"bad array element", map[string]any{"nums": []any{1.0, "x"}}, `rigid.nums[1]: "x" is not an integer` + note},
		{"null array element", map[string]any{"tags": []any{nil}}, `rigid.tags[0] is null` + note},
		{"undeclared key", map[string]any{"colour": "red"},
			`rigid.colour is not a field of rigid (shape rigid is strict: fix the value or leave it out; its fields and relations are b, content, d, e, i, image, j, members, n, name, nums, owner, published, s, t, tags, u, url)`},
		{"every problem at once, sorted by key", map[string]any{"i": "x", "b": "x"},
			`rigid.b: "x" is not a boolean (use true/false, yes/no, on/off or 1/0)` + note + `; rigid.i: "x" is not an integer` + note},
	}
	for _, tt := range tests {
		t.Run("rejects "+tt.name, func(t *testing.T) {
			got, err := r.Coerce("rigid", tt.fields)
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Coerce = %+v, %v; want ErrInvalid", got, err)
			}
			if err.Error() != tt.wantMsg {
				t.Errorf("error =\n  %s\nwant\n  %s", err, tt.wantMsg)
			}
		})
	}

	t.Run("accepts values that coerce cleanly", func(t *testing.T) {
		got, err := r.Coerce("rigid", map[string]any{"i": "495", "b": "yes", "d": "2024-05-01", "e": "Red"})
		if err != nil {
			t.Fatal(err)
		}
		if !sameValue(got.Scalars["i"], integer(495)) || !sameValue(got.Scalars["e"], text("red")) {
			t.Errorf("Scalars = %#v", got.Scalars)
		}
		if want := []string{`rigid.e: "Red" taken as "red"`}; !reflect.DeepEqual(got.Warnings, want) {
			t.Errorf("warnings = %q, want %q", got.Warnings, want)
		}
	})
}

func TestCoerceUnknownShape(t *testing.T) {
	r, _ := Load()
	tests := []struct {
		name, shape, want string
	}{
		{"typo suggests the closest shape", "tsk", `unknown shape "tsk" (did you mean "task"?)`},
		{"plural suggests the shape", "people", `unknown shape "people" (did you mean "person"?)`},
		{"nothing close gives a way to list shapes", "zzzzzz", `unknown shape "zzzzzz"; list the known shapes with shapes.list (agentos shapes list)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := r.Coerce(tt.shape, map[string]any{"name": "x"})
			if !errors.Is(err, ErrUnknownShape) || err.Error() != tt.want {
				t.Errorf("Coerce error = %v, want %q wrapping ErrUnknownShape", err, tt.want)
			}
			if _, err := r.CoerceValue(tt.shape, "name", "x"); !errors.Is(err, ErrUnknownShape) {
				t.Errorf("CoerceValue error = %v, want ErrUnknownShape", err)
			}
		})
	}
}

func TestCoerceValue(t *testing.T) {
	r := sampleRegistry(t)
	tests := []struct {
		name  string
		shape string
		key   string
		in    any
		want  Value
	}{
		{"integer from string", "sample", "i", "495", integer(495)},
		{"datetime from date", "sample", "d", "2024-05-01", datetime("2024-05-01T00:00:00.000Z")},
		{"bool from yes", "sample", "b", "yes", boolean(true)},
		{"array field compares one element", "sample", "nums", "7", integer(7)},
		{"string array element", "sample", "tags", "work", text("work")},
		{"enum value", "sample", "e", "red", text("red")},
		{"json field takes an object", "sample", "j", map[string]any{"a": 1.0}, jsonValue(`{"a":1}`)},
		{"relation takes a node id", "sample", "owner", "n_1", text("n_1")},
		{"undeclared key infers like a write", "sample", "colour", 3.0, integer(3)},
		{"standard field", "task", "url", "https://x.org", link("https://x.org")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := r.CoerceValue(tt.shape, tt.key, tt.in)
			if err != nil {
				t.Fatalf("CoerceValue: %v", err)
			}
			if !sameValue(got, tt.want) {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
		})
	}

	rejected := []struct {
		name    string
		shape   string
		key     string
		in      any
		wantMsg string
	}{
		{"value that would be stored as text", "sample", "i", "high", `sample.i: "high" is not an integer`},
		{"enum in the wrong case", "sample", "e", "Red", `sample.e: "Red" is not one of red, green (did you mean "red"?)`},
		{"enum not in list", "sample", "e", "blue", `sample.e: "blue" is not one of red, green`},
		{"bad url", "sample", "u", "x", `sample.u: "x" is not a URL with a scheme and host (like https://example.com)`},
		{"list for an array field", "sample", "tags", []any{"a", "b"}, `sample.tags: compare with one value, not a list`},
		{"null", "sample", "i", nil, `sample.i: null is not a value to compare with; give a value`},
		{"object for a relation", "sample", "owner", map[string]any{}, `sample.owner is a relation to person: compare it with a node id, not {}`},
		{"undeclared key on a strict shape", "rigid", "colour", "red", `rigid.colour is not a field of rigid; its fields and relations are`},
	}
	for _, tt := range rejected {
		t.Run("rejects "+tt.name, func(t *testing.T) {
			_, err := r.CoerceValue(tt.shape, tt.key, tt.in)
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error = %v, want ErrInvalid", err)
			}
			if !strings.HasPrefix(err.Error(), tt.wantMsg) {
				t.Errorf("error = %q, want it to start with %q", err, tt.wantMsg)
			}
		})
	}
}
