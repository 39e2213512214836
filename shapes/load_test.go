package shapes

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// loadErrors asserts every error is a *LoadError and returns them typed.
func loadErrors(t *testing.T, errs []error) []*LoadError {
	t.Helper()
	out := make([]*LoadError, 0, len(errs))
	for _, err := range errs {
		var le *LoadError
		if !errors.As(err, &le) {
			t.Fatalf("error %v (%T) is not a *LoadError", err, err)
		}
		out = append(out, le)
	}
	return out
}

func TestLoadSkipsMissingDirs(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "does-not-exist")
	r, errs := Load(missing, "")
	if len(errs) > 0 {
		t.Fatalf("errors for a missing dir: %v", errs)
	}
	if _, ok := r.Get("task"); !ok {
		t.Error("defaults did not load")
	}
}

func TestLoadOverrides(t *testing.T) {
	first := writeFiles(t, map[string]string{"task.yaml": "task:\n  fields:\n    first: string\n"})
	second := writeFiles(t, map[string]string{"task.yaml": "task:\n  fields:\n    second: integer\n"})

	t.Run("a later dir replaces the whole definition", func(t *testing.T) {
		r, errs := Load(first, second)
		if len(errs) > 0 {
			t.Fatal(errs)
		}
		task, _ := r.Get("task")
		if _, ok := task.Fields["second"]; !ok {
			t.Errorf("task lacks the later field: %v", shapeKeyNames(task))
		}
		if _, ok := task.Fields["first"]; ok {
			t.Error("task kept a field of the earlier definition")
		}
		if _, ok := task.Fields["priority"]; ok {
			t.Error("task kept a field of the embedded default")
		}
		if want := filepath.Join(second, "task.yaml"); task.Source != want {
			t.Errorf("Source = %q, want %q", task.Source, want)
		}
	})

	t.Run("order of dirs decides", func(t *testing.T) {
		r, _ := Load(second, first)
		task, _ := r.Get("task")
		if _, ok := task.Fields["first"]; !ok {
			t.Errorf("task lacks the field of the last dir: %v", shapeKeyNames(task))
		}
	})

	t.Run("within a dir the later file name wins", func(t *testing.T) {
		dir := writeFiles(t, map[string]string{
			"a.yaml": "thing:\n  fields:\n    from_a: string\n",
			"b.yml":  "thing:\n  fields:\n    from_b: string\n",
		})
		r, errs := Load(dir)
		if len(errs) > 0 {
			t.Fatal(errs)
		}
		thing, _ := r.Get("thing")
		if _, ok := thing.Fields["from_b"]; !ok {
			t.Errorf("thing = %v, want the definition from b.yml", shapeKeyNames(thing))
		}
	})

	t.Run("an invalid override keeps the earlier definition", func(t *testing.T) {
		bad := writeFiles(t, map[string]string{"task.yaml": "task:\n  fields:\n    x: nonsense\n"})
		r, errs := Load(bad)
		if len(errs) != 1 {
			t.Fatalf("errors = %v, want one", errs)
		}
		task, _ := r.Get("task")
		if task.Source != "embedded:defs/task.yaml" {
			t.Errorf("task.Source = %q, want the embedded default", task.Source)
		}
	})
}

func TestLoadBadYAMLIsReportedAndSkipped(t *testing.T) {
	tests := []struct {
		name     string
		yaml     string
		wantLine int
		wantMsg  string
	}{
		{"unclosed flow list", "broken:\n  fields:\n    a: string\n  also: [unclosed\n", 4,
			"invalid YAML: did not find expected ',' or ']' (in the block that starts on this line); file skipped"},
		{"key out of line", "broken:\n  plural: x\n bad: 1\n", 3, "invalid YAML: did not find expected key"},
		{"stray word", "broken:\n  plural: x\n  fields: {}\n oops\n", 4, "invalid YAML: did not find expected key"},
		{"unclosed quote", "broken:\n  a: b\n  plural: 'x\n", 3, "invalid YAML: found unexpected end of stream; file skipped"},
		{"problem on the first line", "broken: plural: x\n", 1, "invalid YAML: mapping values are not allowed in this context; file skipped"},
		{"tab indentation", "broken:\n\tplural: x\n", 2, "invalid YAML: found character that cannot start any token; file skipped"},
		{"unknown alias has no line", "broken: *nope\n", 0, "invalid YAML: unknown anchor 'nope' referenced; file skipped"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeFiles(t, map[string]string{
				"bad.yaml":  tt.yaml,
				"good.yaml": "fine:\n  fields:\n    a: string\n",
			})
			r, errs := Load(dir)
			les := loadErrors(t, errs)
			if len(les) != 1 {
				t.Fatalf("errors = %v, want one", errs)
			}
			file := filepath.Join(dir, "bad.yaml")
			if les[0].File != file || les[0].Line != tt.wantLine {
				t.Errorf("at %s:%d, want %s:%d (%v)", les[0].File, les[0].Line, file, tt.wantLine, les[0])
			}
			if !strings.HasPrefix(les[0].Err.Error(), tt.wantMsg) {
				t.Errorf("message = %q, want it to start with %q", les[0].Err, tt.wantMsg)
			}
			if want := file + ":" + strconv.Itoa(tt.wantLine) + ": invalid YAML: "; tt.wantLine > 0 && !strings.HasPrefix(les[0].Error(), want) {
				t.Errorf("Error() = %q, want it to start with %q", les[0].Error(), want)
			}
			if _, ok := r.Get("broken"); ok {
				t.Error("a shape from the bad file loaded")
			}
			if _, ok := r.Get("fine"); !ok {
				t.Error("the good file beside the bad one did not load")
			}
		})
	}
}

func TestLoadValidationErrors(t *testing.T) {
	tests := []struct {
		name     string
		yaml     string
		wantLine int
		wantMsg  string
	}{
		{"unknown type", "bad:\n  fields:\n    n: int\n", 3,
			`bad.fields.n: unknown type "int" (did you mean "integer"?); ` + typesHint + `; shape bad skipped`},
		{"unknown array type", "bad:\n  fields:\n    n: strin[]\n", 3,
			`bad.fields.n: unknown type "strin[]" (did you mean "string[]"?)`},
		{"bare enum", "bad:\n  fields:\n    n: enum\n", 3, `bad.fields.n: an enum needs its values, written {enum: [a, b]}`},
		{"empty enum", "bad:\n  fields:\n    n: {enum: []}\n", 3, `bad.fields.n: an enum needs a non-empty list of values`},
		{"field without a type", "bad:\n  fields:\n    n:\n", 3, `bad.fields.n has no type`},
		{"identity naming a missing field", "bad:\n  identity: [title]\n", 2,
			`bad.identity names "title", which is not a field or relation of bad; shape bad skipped`},
		{"identity_any naming a missing field", "bad:\n  fields:\n    email: string\n  identity_any:\n    - email\n    - emial\n", 6,
			`bad.identity_any names "emial", which is not a field or relation of bad (did you mean "email"?)`},
		{"relation to a non-identifier", "bad:\n  relations:\n    owner: Person Thing\n", 3,
			`bad.relations.owner: "Person Thing" is not a shape name`},
		{"unknown top-level key", "bad:\n  feilds:\n    a: string\n", 2,
			`bad: unknown key "feilds" (did you mean "fields"?); a shape may have plural, description, also, identity, identity_any, fields, relations, display, strict; shape bad skipped`},
		{"uppercase shape name", "Bad:\n  fields: {}\n", 1, `shape name "Bad" must be a lowercase identifier`},
		{"shape name with a dash", "my-shape: {}\n", 1, `shape name "my-shape" must be a lowercase identifier`},
		{"shape name starting with a digit", "1st: {}\n", 1, `shape name "1st" must be a lowercase identifier`},
		{"strict that is not a bool", "bad:\n  strict: maybe\n", 2, `bad.strict must be true or false, not "maybe"`},
		{"field and relation with one name", "bad:\n  fields:\n    owner: string\n  relations:\n    owner: person\n", 5,
			`bad: owner is declared both as a field and as a relation; keep one`},
		{"field declared twice", "bad:\n  fields:\n    a: string\n    a: text\n", 4, `bad.fields: a appears twice (first at line 3)`},
		{"definition that is not a mapping", "bad: [a, b]\n", 1, `the definition of shape bad must be a mapping`},
		{"also naming a non-identifier", "bad:\n  also: [Item]\n", 2, `bad.also: "Item" is not a shape name`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A valid sibling in the same file shows a bad shape is skipped alone.
			dir := writeFiles(t, map[string]string{"s.yaml": tt.yaml + "sibling:\n  fields:\n    a: string\n"})
			r, errs := Load(dir)
			les := loadErrors(t, errs)
			if len(les) != 1 {
				t.Fatalf("errors = %v, want exactly one", errs)
			}
			if les[0].Line != tt.wantLine {
				t.Errorf("Line = %d, want %d (%v)", les[0].Line, tt.wantLine, les[0])
			}
			if !strings.Contains(les[0].Err.Error(), tt.wantMsg) {
				t.Errorf("message = %q, want it to contain %q", les[0].Err, tt.wantMsg)
			}
			if _, ok := r.Get("bad"); ok {
				t.Error("the invalid shape loaded")
			}
			if _, ok := r.Get("sibling"); !ok {
				t.Error("the valid sibling shape did not load")
			}
		})
	}
}

func TestLoadFileLevelErrors(t *testing.T) {
	tests := []struct {
		name     string
		yaml     string
		wantLine int
		wantMsg  string
	}{
		{"top level is a list", "- task\n- note\n", 1, "the top level must map shape names to definitions"},
		{"top level is a word", "hello\n", 1, "the top level must map shape names to definitions"},
		{"shape defined twice in one file", "dup: {}\ndup: {}\n", 2, "shape dup is defined twice in this file (first at line 1)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeFiles(t, map[string]string{"f.yaml": tt.yaml})
			_, errs := Load(dir)
			les := loadErrors(t, errs)
			if len(les) != 1 || les[0].Line != tt.wantLine || !strings.Contains(les[0].Err.Error(), tt.wantMsg) {
				t.Errorf("errors = %v, want one at line %d containing %q", errs, tt.wantLine, tt.wantMsg)
			}
		})
	}
}

func TestLoadDanglingReferencesWarnButKeepTheShape(t *testing.T) {
	dir := writeFiles(t, map[string]string{"s.yaml": `gadget:
  also: [itme]
  fields:
    size: integer
  relations:
    maker: compny
  display: {title: titel}
`})
	r, errs := Load(dir)
	les := loadErrors(t, errs)
	file := filepath.Join(dir, "s.yaml")
	want := []string{
		file + `:2: gadget.also names shape "itme", which no loaded file defines (did you mean "item"?); shape gadget kept, without that parent`,
		file + `:6: gadget.relations.maker: shape "compny" is not defined by any loaded file; shape gadget kept, but nested compny objects cannot be stored until it is defined`,
		file + `:7: gadget.display.title names "titel", which is not a field or relation of gadget; shape gadget kept`,
	}
	var got []string
	for _, le := range les {
		got = append(got, le.Error())
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("errors =\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	g, ok := r.Get("gadget")
	if !ok {
		t.Fatal("gadget was not kept")
	}
	if !reflect.DeepEqual(g.Also, []string{"itme"}) || g.Relations["maker"].Shape != "compny" {
		t.Errorf("gadget lost its references: also %v, relations %v", g.Also, g.Relations)
	}
	if got := r.Implied("gadget"); !reflect.DeepEqual(got, []string{"gadget"}) {
		t.Errorf("Implied(gadget) = %v, want only gadget (itme does not exist)", got)
	}
}

func TestLoadDefinitionDetails(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"multi.yaml": `# several shapes, and a second YAML document
box:
  identity: [label, owner]
  fields:
    label: string
    name: string
    sizes: {enum: [s, m, l], array: true}
  relations:
    owner: person
    content: note[]
---
category:
  also: item
  identity: name
`,
		"anchors.yaml": "base: &std\n  fields: &f\n    a: string\n  identity: [a]\nderived: *std\nother:\n  fields: *f\n",
		".hidden.yaml": "hidden: {}\n",
		"notes.txt":    "ignored: {}\n",
		"bare.yaml":    "bare:\n",
	})
	r, errs := Load(dir)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	box, _ := r.Get("box")

	t.Run("identity may name a relation", func(t *testing.T) {
		if !reflect.DeepEqual(box.Identity, []string{"label", "owner"}) {
			t.Errorf("Identity = %v", box.Identity)
		}
	})
	t.Run("standard fields are added", func(t *testing.T) {
		for name, typ := range map[string]Type{"url": TypeURL, "image": TypeURL, "published": TypeDatetime} {
			if f := box.Fields[name]; f.Type != typ {
				t.Errorf("standard field %s = %+v, want type %s", name, f, typ)
			}
		}
	})
	t.Run("a declared standard field keeps its declared type", func(t *testing.T) {
		if box.Fields["name"].Type != TypeString {
			t.Errorf("name = %+v, want string", box.Fields["name"])
		}
	})
	t.Run("a relation suppresses the standard field of its name", func(t *testing.T) {
		if _, ok := box.Fields["content"]; ok {
			t.Error("content is both a field and a relation")
		}
		if rel := box.Relations["content"]; rel.Shape != "note" || !rel.Many {
			t.Errorf("content relation = %+v", rel)
		}
	})
	t.Run("enum arrays", func(t *testing.T) {
		want := Field{Name: "sizes", Type: TypeEnum, Array: true, Enum: []string{"s", "m", "l"}}
		if !reflect.DeepEqual(box.Fields["sizes"], want) {
			t.Errorf("sizes = %+v, want %+v", box.Fields["sizes"], want)
		}
	})
	t.Run("a second document and single names for lists", func(t *testing.T) {
		c, ok := r.Get("category")
		if !ok {
			t.Fatal("category from the second document did not load")
		}
		if !reflect.DeepEqual(c.Also, []string{"item"}) || !reflect.DeepEqual(c.Identity, []string{"name"}) {
			t.Errorf("also %v identity %v", c.Also, c.Identity)
		}
		if c.Plural != "categories" {
			t.Errorf("default plural = %q, want categories", c.Plural)
		}
	})
	t.Run("an empty definition has the standard fields", func(t *testing.T) {
		b, ok := r.Get("bare")
		if !ok || len(b.Fields) != len(standardFields()) {
			t.Errorf("bare = %+v", b)
		}
	})
	t.Run("YAML anchors and aliases are followed", func(t *testing.T) {
		for _, name := range []string{"derived", "other"} {
			if s, ok := r.Get(name); !ok || s.Fields["a"].Type != TypeString {
				t.Errorf("%s = %+v, want field a from the anchor", name, s)
			}
		}
	})
	t.Run("hidden and non-yaml files are ignored", func(t *testing.T) {
		for _, name := range []string{"hidden", "ignored"} {
			if _, ok := r.Get(name); ok {
				t.Errorf("%s loaded", name)
			}
		}
	})
}

func TestLoadErrorFormat(t *testing.T) {
	inner := errors.New("boom")
	tests := []struct {
		name string
		err  *LoadError
		want string
	}{
		{"with a line", &LoadError{File: "a.yaml", Line: 3, Err: inner}, "a.yaml:3: boom"},
		{"without a line", &LoadError{File: "a.yaml", Err: inner}, "a.yaml: boom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
			if !errors.Is(tt.err, inner) {
				t.Error("LoadError does not unwrap to its cause")
			}
		})
	}
}

func TestLoadUnreadableDirIsReported(t *testing.T) {
	file := filepath.Join(t.TempDir(), "not-a-dir")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	r, errs := Load(file)
	les := loadErrors(t, errs)
	if len(les) != 1 || les[0].File != file || !strings.HasSuffix(les[0].Error(), "; folder skipped") {
		t.Errorf("errors = %v, want one for %s ending in folder skipped", errs, file)
	}
	if _, ok := r.Get("task"); !ok {
		t.Error("defaults did not load")
	}
}
