package shapes

import (
	"encoding/json"
	"reflect"
	"sort"
	"testing"
)

func TestImplied(t *testing.T) {
	dir := writeFiles(t, map[string]string{"s.yaml": `
chain_a: {also: [chain_b]}
chain_b: {also: [chain_c]}
chain_c: {}
cycle_a: {also: [cycle_b]}
cycle_b: {also: [cycle_a]}
selfish: {also: [selfish]}
diamond: {also: [side_z, side_y]}
side_z: {also: [top]}
side_y: {also: [top]}
top: {}
`})
	r, errs := Load(dir)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	tests := []struct {
		name  string
		shape string
		want  []string
	}{
		{"a shape without parents is alone", "chain_c", []string{"chain_c"}},
		{"parents are followed transitively", "chain_a", []string{"chain_a", "chain_b", "chain_c"}},
		{"a cycle ends", "cycle_a", []string{"cycle_a", "cycle_b"}},
		{"the other side of a cycle", "cycle_b", []string{"cycle_b", "cycle_a"}},
		{"a shape naming itself", "selfish", []string{"selfish"}},
		{"a diamond lists each shape once, sorted after the name", "diamond", []string{"diamond", "side_y", "side_z", "top"}},
		{"a default task is also an item", "task", []string{"task", "item"}},
		{"an unknown shape implies nothing", "nope", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := r.Implied(tt.shape); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Implied(%q) = %v, want %v", tt.shape, got, tt.want)
			}
		})
	}

	t.Run("callers cannot change the registry through the result", func(t *testing.T) {
		got := r.Implied("chain_a")
		got[1] = "changed"
		if again := r.Implied("chain_a"); again[1] != "chain_b" {
			t.Errorf("Implied after modification = %v", again)
		}
	})
}

func TestListIsSortedByName(t *testing.T) {
	r, _ := Load(writeFiles(t, map[string]string{"s.yaml": "zebra: {}\naardvark: {}\n"}))
	list := r.List()
	names := make([]string, len(list))
	for i, s := range list {
		names[i] = s.Name
	}
	if !sort.StringsAreSorted(names) || names[0] != "aardvark" || names[len(names)-1] != "zebra" {
		t.Errorf("List names = %v", names)
	}
	for _, s := range list {
		if got, ok := r.Get(s.Name); !ok || got != s {
			t.Errorf("Get(%q) does not return the listed shape", s.Name)
		}
	}
}

func TestFingerprint(t *testing.T) {
	base, _ := Load()
	again, _ := Load(writeFiles(t, nil))
	changed, _ := Load(writeFiles(t, map[string]string{"t.yaml": "task:\n  fields:\n    title: string\n"}))
	added, _ := Load(writeFiles(t, map[string]string{"x.yaml": "extra: {}\n"}))

	tests := []struct {
		name  string
		other *Registry
		same  bool
	}{
		{"the same definitions hash the same", again, true},
		{"a changed shape changes the hash", changed, false},
		{"an added shape changes the hash", added, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if same := base.Fingerprint() == tt.other.Fingerprint(); same != tt.same {
				t.Errorf("fingerprints equal = %v, want %v", same, tt.same)
			}
		})
	}
	if len(base.Fingerprint()) != 64 {
		t.Errorf("Fingerprint() = %q, want a sha256 hex digest", base.Fingerprint())
	}
}

func TestClosest(t *testing.T) {
	candidates := []string{"boolean", "integer", "string", "task", "title"}
	tests := []struct {
		in, want string
	}{
		{"tsk", "task"},
		{"TASK", "task"},
		{"titel", "title"},
		{"integr", "integer"},
		{"int", "integer"},
		{"bool", "boolean"},
		{"zzz", ""},
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in+" suggests "+tt.want, func(t *testing.T) {
			if got := closest(tt.in, candidates); got != tt.want {
				t.Errorf("closest(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// A registry rebuilt from its shapes' JSON (what the bridge gets from the
// engine) behaves like the original: same fingerprint, same also closure,
// same coercion.
func TestFromListRoundTrip(t *testing.T) {
	dir := writeFiles(t, map[string]string{"s.yaml": `
recipe:
  also: [note]
  identity: [url]
  fields: {servings: integer, cuisine: {enum: [thai, french]}}
`})
	orig, errs := Load(dir)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	data, err := json.Marshal(orig.List())
	if err != nil {
		t.Fatal(err)
	}
	var list []*Shape
	if err := json.Unmarshal(data, &list); err != nil {
		t.Fatal(err)
	}
	got := FromList(list)
	if got.Fingerprint() != orig.Fingerprint() {
		t.Errorf("fingerprint %s, want %s", got.Fingerprint(), orig.Fingerprint())
	}
	if !reflect.DeepEqual(got.Implied("recipe"), orig.Implied("recipe")) {
		t.Errorf("implied %v, want %v", got.Implied("recipe"), orig.Implied("recipe"))
	}
	c, err := got.Coerce("recipe", map[string]any{"title": "Pad thai", "servings": "4", "cuisine": "thai"})
	if err != nil {
		t.Fatal(err)
	}
	if v := c.Scalars["servings"]; v.V != int64(4) {
		t.Errorf("servings coerced to %#v, want int64 4", v.V)
	}
}
