// Package skills holds the skills that ship inside the agentos binary, one
// folder each, so a user who installs just the binary has them. The engine
// extracts them at start and discovers them first: a skill of the same id in
// $AGENTOS_HOME/skills replaces a bundled one.
//
// It must not special-case a bundled skill: each is an ordinary skill folder,
// run, permitted and sandboxed like one the user installed.
package skills
