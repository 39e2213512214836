// Package shapes loads shape definitions (YAML) from the embedded defaults,
// the user's shapes folder and skills, resolves their `also` closure and
// identity rules, and coerces caller-supplied fields into typed values.
// It knows nothing of storage: the graph package consumes what it produces.
package shapes
