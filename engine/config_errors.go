package engine

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/agentos/agentos/shapes"
)

var (
	unknownField = regexp.MustCompile(`^(line \d+): field (\S+) not found in type (\S+)$`)
	wrongKind    = regexp.MustCompile(`^(line \d+): cannot unmarshal !!(\w+)(?: .*)? into (\S+)$`)
)

// explainConfigError says what is wrong with config.yaml in its own terms:
// an unknown key with the keys allowed there and the one most likely meant,
// a list where a value goes as such, never a Go type's name.
func explainConfigError(err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return err
	}
	keys := configKeys()
	var lines []string
	for _, msg := range te.Errors {
		if m := unknownField.FindStringSubmatch(msg); m != nil {
			allowed := keys[m[3]]
			hint := ""
			if guess := shapes.Closest(m[2], allowed); guess != "" {
				hint = fmt.Sprintf(" (did you mean %q?)", guess)
			}
			lines = append(lines, fmt.Sprintf("%s: unknown key %q%s; the keys here are %s", m[1], m[2], hint, strings.Join(allowed, ", ")))
			continue
		}
		if m := wrongKind.FindStringSubmatch(msg); m != nil {
			given := map[string]string{"seq": "a list", "map": "a map", "str": "text", "int": "a number", "float": "a number", "bool": "true/false"}[m[2]]
			if given == "" {
				given = "a " + m[2]
			}
			lines = append(lines, fmt.Sprintf("%s: %s is given here, but this key takes %s", m[1], given, describeGoType(m[3])))
			continue
		}
		lines = append(lines, msg)
	}
	return errors.New(strings.Join(lines, "; "))
}

// describeGoType names what a Go type holds, as a config.yaml user says it.
func describeGoType(t string) string {
	switch {
	case t == "string":
		return "one text value"
	case strings.HasPrefix(t, "[]"):
		return "a list"
	case strings.HasPrefix(t, "map["):
		return "a map of keys to values"
	case t == "bool":
		return "true or false"
	case strings.HasPrefix(t, "int") || strings.HasPrefix(t, "float"):
		return "a number"
	}
	return "a map of its own keys"
}

// configKeys maps each struct type under FileConfig (as the YAML decoder
// names it: engine.BridgeConfig) to the yaml keys it takes, sorted.
func configKeys() map[string][]string {
	out := map[string][]string{}
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || out[t.String()] != nil {
			return
		}
		var keys []string
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if name == "-" || !f.IsExported() {
				continue
			}
			if name == "" {
				name = strings.ToLower(f.Name)
			}
			keys = append(keys, name)
		}
		slices.Sort(keys)
		out[t.String()] = keys
		for i := range t.NumField() {
			walk(t.Field(i).Type)
		}
	}
	walk(reflect.TypeOf(FileConfig{}))
	return out
}
