package shapes

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

var (
	// Shape names end up in node_shapes, URLs and MCP resource names, so
	// they are kept to one spelling: lowercase identifiers.
	shapeNameRe = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	// Field and relation keys appear in where-clauses and JSON, so they are
	// identifiers too, but callers' data may well be camelCase.
	keyNameRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	// yaml.v3 puts the line into the message text of syntax errors.
	yamlLineRe = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)
)

// shapeKeys are the keys a shape definition may have, in the order the
// "known keys" hint lists them.
var shapeKeys = []string{"plural", "description", "also", "identity", "identity_any", "fields", "relations", "display", "strict"}

// parsedShape is a shape plus what can only be checked once every file is
// loaded: the names it refers to, with their lines for error messages.
type parsedShape struct {
	shape *Shape
	refs  []ref
}

type refKind int

const (
	refAlso     refKind = iota // target is a shape named in also
	refRelation                // target is the shape of relation key
	refDisplay                 // target is a field or relation named in display[key]
)

type ref struct {
	kind   refKind
	key    string // relation name or display slot
	target string
	line   int
}

// parseFile parses one YAML file that may define several shapes (and may hold
// several YAML documents). A syntax error skips the whole file; a shape that
// does not validate is skipped alone, with every problem in it reported.
func parseFile(source string, data []byte) ([]*parsedShape, []error) {
	docs, err := decodeYAML(data)
	if err != nil {
		return nil, []error{syntaxError(source, err)}
	}
	var (
		out  []*parsedShape
		errs []error
		seen = map[string]int{} // shape name → line of its first definition
	)
	for _, doc := range docs {
		root := doc
		if root.Kind == yaml.DocumentNode {
			if len(root.Content) == 0 {
				continue
			}
			root = root.Content[0]
		}
		root = deref(root)
		if isNull(root) {
			continue // an empty document defines nothing
		}
		if root.Kind != yaml.MappingNode {
			return nil, append(errs, &LoadError{File: source, Line: root.Line,
				Err: errors.New("the top level must map shape names to definitions (task: {fields: {title: string}}); file skipped")})
		}
		for i := 0; i+1 < len(root.Content); i += 2 {
			key, def := deref(root.Content[i]), deref(root.Content[i+1])
			name := key.Value
			if key.Kind != yaml.ScalarNode || !shapeNameRe.MatchString(name) {
				errs = append(errs, &LoadError{File: source, Line: key.Line,
					Err: fmt.Errorf("shape name %q must be a lowercase identifier (a-z, 0-9 and _, starting with a letter); shape skipped", name)})
				continue
			}
			if first, dup := seen[name]; dup {
				errs = append(errs, &LoadError{File: source, Line: key.Line,
					Err: fmt.Errorf("shape %s is defined twice in this file (first at line %d); the second definition is skipped", name, first)})
				continue
			}
			seen[name] = key.Line
			p := &shapeParser{source: source, name: name}
			ps := p.parse(def)
			if len(p.errs) > 0 {
				errs = append(errs, p.errs...)
				continue
			}
			ps.shape.Source = source
			out = append(out, ps)
		}
	}
	return out, errs
}

func decodeYAML(data []byte) ([]*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []*yaml.Node
	for {
		var n yaml.Node
		if err := dec.Decode(&n); err != nil {
			if errors.Is(err, io.EOF) {
				return docs, nil
			}
			return nil, err
		}
		docs = append(docs, &n)
	}
}

// parserProblems are the yaml.v3 messages raised by its parser (not its
// scanner). For those, yaml.v3 reports the 0-based line where the enclosing
// block or flow collection starts, so the 1-based line is one more; for
// scanner messages it already reports the 1-based line.
var parserProblems = []string{
	"did not find expected key", "did not find expected node content", "did not find expected '-' indicator",
	"did not find expected ','", "did not find expected <", "found undefined tag handle",
	"found duplicate %", "found incompatible YAML document",
}

// syntaxError turns a yaml.v3 error into a LoadError with the line in
// LoadError.Line, so that it reads "file:3: invalid YAML: ...", not
// "file: yaml: line 3: ...".
func syntaxError(source string, err error) *LoadError {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if m := yamlLineRe.FindStringSubmatch(err.Error()); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	}
	isParser := false
	for _, p := range parserProblems {
		if strings.HasPrefix(msg, p) {
			isParser = true
			break
		}
	}
	switch {
	case isParser:
		line++
		msg += " (in the block that starts on this line)"
	case line == 0 && !strings.Contains(msg, "anchor") && !strings.Contains(msg, "aliasing"):
		// yaml.v3 leaves the line out when the problem is on the first one.
		line = 1
	}
	return &LoadError{File: source, Line: line, Err: fmt.Errorf("invalid YAML: %s; file skipped", msg)}
}

// shapeParser turns one shape's YAML node into a Shape, collecting every
// problem so the author can fix them all in one go.
type shapeParser struct {
	source string
	name   string
	errs   []error
}

func (p *shapeParser) fail(n *yaml.Node, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	p.errs = append(p.errs, &LoadError{File: p.source, Line: n.Line, Err: errors.New(msg + "; shape " + p.name + " skipped")})
}

func (p *shapeParser) parse(def *yaml.Node) *parsedShape {
	s := &Shape{Name: p.name, Fields: map[string]Field{}, Relations: map[string]Relation{}}
	ps := &parsedShape{shape: s}
	if isNull(def) {
		def = &yaml.Node{Kind: yaml.MappingNode, Line: def.Line} // "tag:" alone: standard fields only
	}
	if def.Kind != yaml.MappingNode {
		p.fail(def, "the definition of shape %s must be a mapping with keys such as fields, relations and identity", p.name)
		return ps
	}

	var identity, identityAny []*yaml.Node
	seen := map[string]int{}
	for i := 0; i+1 < len(def.Content); i += 2 {
		key, val := deref(def.Content[i]), deref(def.Content[i+1])
		if first, dup := seen[key.Value]; dup {
			p.fail(key, "%s: key %s appears twice (first at line %d)", p.name, key.Value, first)
			continue
		}
		seen[key.Value] = key.Line
		if isNull(val) {
			continue
		}
		switch key.Value {
		case "plural":
			s.Plural = p.scalar(key.Value, val)
		case "description":
			s.Description = p.scalar(key.Value, val)
		case "strict":
			if err := val.Decode(&s.Strict); err != nil {
				p.fail(val, "%s.strict must be true or false, not %q", p.name, val.Value)
			}
		case "also":
			for _, n := range p.list(key.Value, val) {
				if !shapeNameRe.MatchString(n.Value) {
					p.fail(n, "%s.also: %q is not a shape name (shape names are lowercase identifiers)", p.name, n.Value)
					continue
				}
				s.Also = append(s.Also, n.Value)
				ps.refs = append(ps.refs, ref{kind: refAlso, target: n.Value, line: n.Line})
			}
		case "identity":
			identity = p.list(key.Value, val)
		case "identity_any":
			identityAny = p.list(key.Value, val)
		case "fields":
			p.eachPair(key.Value, val, func(k, v *yaml.Node) {
				if f, ok := p.field(k, v); ok {
					s.Fields[f.Name] = f
				}
			})
		case "relations":
			p.eachPair(key.Value, val, func(k, v *yaml.Node) {
				if r, ok := p.relation(k, v); ok {
					s.Relations[r.Name] = r
					ps.refs = append(ps.refs, ref{kind: refRelation, key: r.Name, target: r.Shape, line: v.Line})
				}
			})
		case "display":
			s.Display = map[string]string{}
			p.eachPair(key.Value, val, func(k, v *yaml.Node) {
				if v.Kind != yaml.ScalarNode || isNull(v) {
					p.fail(v, "%s.display.%s must name a field, such as title", p.name, k.Value)
					return
				}
				s.Display[k.Value] = v.Value
				ps.refs = append(ps.refs, ref{kind: refDisplay, key: k.Value, target: v.Value, line: v.Line})
			})
		default:
			p.fail(key, "%s: unknown key %q%s; a shape may have %s",
				p.name, key.Value, hint(closest(key.Value, shapeKeys)), strings.Join(shapeKeys, ", "))
		}
	}

	for _, rf := range ps.refs {
		if _, clash := s.Fields[rf.key]; rf.kind == refRelation && clash {
			p.fail(&yaml.Node{Line: rf.line}, "%s: %s is declared both as a field and as a relation; keep one", p.name, rf.key)
		}
	}
	for _, f := range standardFields() {
		_, isField := s.Fields[f.Name]
		_, isRelation := s.Relations[f.Name]
		if !isField && !isRelation {
			s.Fields[f.Name] = f
		}
	}
	s.Identity = p.identity("identity", identity, s)
	s.IdentityAny = p.identity("identity_any", identityAny, s)
	if s.Plural == "" {
		s.Plural = plural(s.Name)
	}
	return ps
}

// identity checks that every key an identity rule names is a field or a
// relation of the shape (task identity [title, project] names a relation).
func (p *shapeParser) identity(what string, nodes []*yaml.Node, s *Shape) []string {
	var keys []string
	for _, n := range nodes {
		_, isField := s.Fields[n.Value]
		_, isRelation := s.Relations[n.Value]
		if !isField && !isRelation {
			p.fail(n, "%s.%s names %q, which is not a field or relation of %s%s",
				p.name, what, n.Value, p.name, hint(closest(n.Value, shapeKeyNames(s))))
			continue
		}
		keys = append(keys, n.Value)
	}
	return keys
}

// scalar reads a text value such as plural or description.
func (p *shapeParser) scalar(what string, n *yaml.Node) string {
	if n.Kind != yaml.ScalarNode {
		p.fail(n, "%s.%s must be text", p.name, what)
		return ""
	}
	return n.Value
}

// list reads a list of names; a single name is accepted as a list of one,
// since "also: item" is an easy thing to write.
func (p *shapeParser) list(what string, n *yaml.Node) []*yaml.Node {
	if n.Kind == yaml.ScalarNode {
		return []*yaml.Node{n}
	}
	if n.Kind != yaml.SequenceNode {
		p.fail(n, "%s.%s must be a list of names, like [a, b]", p.name, what)
		return nil
	}
	var out []*yaml.Node
	for _, item := range n.Content {
		item = deref(item)
		if item.Kind != yaml.ScalarNode || isNull(item) {
			p.fail(item, "%s.%s must be a list of names, like [a, b]", p.name, what)
			continue
		}
		out = append(out, item)
	}
	return out
}

// eachPair walks a mapping such as fields or relations, rejecting a key
// written twice: YAML would otherwise keep one silently.
func (p *shapeParser) eachPair(what string, n *yaml.Node, fn func(k, v *yaml.Node)) {
	if n.Kind != yaml.MappingNode {
		p.fail(n, "%s.%s must be a mapping of names to definitions", p.name, what)
		return
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), deref(n.Content[i+1])
		if k.Kind != yaml.ScalarNode {
			p.fail(k, "%s.%s: keys must be names", p.name, what)
			continue
		}
		if first, dup := seen[k.Value]; dup {
			p.fail(k, "%s.%s: %s appears twice (first at line %d)", p.name, what, k.Value, first)
			continue
		}
		seen[k.Value] = k.Line
		fn(k, v)
	}
}

// deref follows YAML aliases (*anchor) to the node they stand for.
func deref(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == 0 || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null")
}

// plural is the default for a shape that does not say: good enough for
// most English nouns, and any shape can spell out its own.
func plural(name string) string {
	switch {
	case strings.HasSuffix(name, "s"), strings.HasSuffix(name, "x"), strings.HasSuffix(name, "ch"), strings.HasSuffix(name, "sh"):
		return name + "es"
	case strings.HasSuffix(name, "y") && len(name) > 1 && !strings.ContainsRune("aeiou", rune(name[len(name)-2])):
		return name[:len(name)-1] + "ies"
	}
	return name + "s"
}
