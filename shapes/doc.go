// Package shapes loads shape definitions (YAML) from the embedded defaults,
// the user's shapes folder and skills, resolves their `also` closure and
// identity rules, and coerces caller-supplied fields into typed values.
// It must not know about storage: the graph package consumes what it
// produces. It bounds what it accepts (nesting depth, number range) so that
// what it produces can always be stored and read back.
package shapes
