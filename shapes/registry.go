package shapes

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Registry is the set of loaded shapes. It never changes after Load, so it
// is safe for concurrent use; a reload builds a new Registry and callers
// swap it in whole (Fingerprint tells whether that is worth doing).
//
// Shapes returned by Get and List are shared: callers must not modify them.
type Registry struct {
	shapes      map[string]*Shape
	names       []string            // sorted
	implied     map[string][]string // name → name + transitive also, only shapes that exist
	fingerprint string
}

// newRegistry freezes the final definitions and reports references that
// point nowhere. Those are warnings: the shape stays usable, the dangling
// name is simply not followed.
func newRegistry(defined map[string]*parsedShape) (*Registry, []error) {
	r := &Registry{shapes: make(map[string]*Shape, len(defined)), implied: make(map[string][]string, len(defined))}
	for name, ps := range defined {
		r.shapes[name] = ps.shape
		r.names = append(r.names, name)
	}
	slices.Sort(r.names)

	var errs []error
	for _, name := range r.names {
		errs = append(errs, r.checkRefs(defined[name])...)
		r.implied[name] = r.closure(name)
	}

	// encoding/json writes map keys sorted, so equal definitions hash equally.
	data, err := json.Marshal(r.List())
	if err != nil {
		// Shapes hold only strings, bools and maps of them: unreachable.
		panic(fmt.Sprintf("shapes: marshal registry for fingerprint: %v", err))
	}
	sum := sha256.Sum256(data)
	r.fingerprint = hex.EncodeToString(sum[:])
	return r, errs
}

func (r *Registry) checkRefs(ps *parsedShape) []error {
	s := ps.shape
	refs := slices.Clone(ps.refs)
	slices.SortStableFunc(refs, func(a, b ref) int { return cmp.Compare(a.line, b.line) })
	var errs []error
	warn := func(line int, format string, args ...any) {
		errs = append(errs, &LoadError{File: s.Source, Line: line, Err: fmt.Errorf(format, args...)})
	}
	for _, rf := range refs {
		switch rf.kind {
		case refAlso:
			if _, ok := r.shapes[rf.target]; !ok {
				warn(rf.line, "%s.also names shape %q, which no loaded file defines%s; shape %s kept, without that parent",
					s.Name, rf.target, hint(closest(rf.target, r.names)), s.Name)
			}
		case refRelation:
			if _, ok := r.shapes[rf.target]; !ok {
				warn(rf.line, "%s.relations.%s: shape %q is not defined by any loaded file%s; shape %s kept, but nested %s objects cannot be stored until it is defined",
					s.Name, rf.key, rf.target, hint(closest(rf.target, r.names)), s.Name, rf.target)
			}
		case refDisplay:
			_, isField := s.Fields[rf.target]
			_, isRelation := s.Relations[rf.target]
			if !isField && !isRelation {
				warn(rf.line, "%s.display.%s names %q, which is not a field or relation of %s%s; shape %s kept",
					s.Name, rf.key, rf.target, s.Name, hint(closest(rf.target, shapeKeyNames(s))), s.Name)
			}
		}
	}
	return errs
}

// closure is name followed by every shape reachable through also, sorted.
// The seen set makes cycles (a also b, b also a) harmless; names no loaded
// file defines are left out, since a node cannot usefully belong to them.
func (r *Registry) closure(name string) []string {
	seen := map[string]bool{name: true}
	stack := []string{name}
	var rest []string
	for len(stack) > 0 {
		cur := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, parent := range r.shapes[cur].Also {
			if seen[parent] || r.shapes[parent] == nil {
				continue
			}
			seen[parent] = true
			rest = append(rest, parent)
			stack = append(stack, parent)
		}
	}
	slices.Sort(rest)
	return append([]string{name}, rest...)
}

// Get returns the shape called name.
func (r *Registry) Get(name string) (*Shape, bool) {
	s, ok := r.shapes[name]
	return s, ok
}

// List returns every shape, sorted by name.
func (r *Registry) List() []*Shape {
	out := make([]*Shape, len(r.names))
	for i, name := range r.names {
		out[i] = r.shapes[name]
	}
	return out
}

// Implied returns the shapes a node of shape name belongs to: name itself
// first, then its transitive also parents sorted by name. It returns nil
// for an unknown shape.
func (r *Registry) Implied(name string) []string {
	names, ok := r.implied[name]
	if !ok {
		return nil
	}
	return append([]string(nil), names...)
}

// Fingerprint is a hash of every loaded definition (including where each
// came from); two registries with the same fingerprint behave the same.
func (r *Registry) Fingerprint() string { return r.fingerprint }

// lookup returns the shape or an ErrUnknownShape error that suggests the
// nearest known name, so a typo costs one round trip, not a search.
func (r *Registry) lookup(name string) (*Shape, error) {
	if s, ok := r.shapes[name]; ok {
		return s, nil
	}
	guess := ""
	for _, n := range r.names {
		if strings.EqualFold(r.shapes[n].Plural, name) {
			guess = n
			break
		}
	}
	if guess == "" {
		guess = closest(name, r.names)
	}
	if guess != "" {
		return nil, fmt.Errorf("%w %q (did you mean %q?)", ErrUnknownShape, name, guess)
	}
	return nil, fmt.Errorf("%w %q; list the known shapes with shapes.list (agentos shapes list)", ErrUnknownShape, name)
}

// hint formats a "did you mean" suffix, or nothing when there is no guess.
func hint(guess string) string {
	if guess == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", guess)
}

// FromList builds a registry from shapes another registry resolved, such
// as the engine's shapes.list answer decoded from JSON: the bridge keeps its
// read-only store typed the way the engine's is without reading shape files
// itself. Source names the file each came from, so the fingerprint of an
// equal set matches the engine's.
func FromList(list []*Shape) *Registry {
	defined := make(map[string]*parsedShape, len(list))
	for _, s := range list {
		if s != nil && s.Name != "" {
			defined[s.Name] = &parsedShape{shape: s}
		}
	}
	r, _ := newRegistry(defined) // no refs recorded: nothing to warn about
	return r
}

// UnknownKey is the warning for a read that filters or sorts shape by key
// when key is none of its fields or relations (with a did-you-mean), as a
// write warns of an undeclared key; "" for a known key, the standard
// node keys, or a shape not loaded.
func (r *Registry) UnknownKey(shape, key string) string {
	s, ok := r.Get(shape)
	if !ok {
		return ""
	}
	if _, ok := s.Fields[key]; ok {
		return ""
	}
	if _, ok := s.Relations[key]; ok {
		return ""
	}
	switch key {
	case "id", "created_at", "updated_at", "deleted_at":
		return ""
	}
	return fmt.Sprintf("%s.%s is not a field of %s%s: it matches only nodes that were given it anyway", shape, key, shape, hint(closest(key, shapeKeyNames(s))))
}
