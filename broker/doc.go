// Package broker owns skills: discovering them (SKILL.md and the tools in
// their Python files, found by parsing, never by importing), their
// permissions (allowed-tools), and running one tool call in a fresh, limited
// Python process that speaks the worker protocol (docs/worker-protocol.md).
// It does not serve RPC or touch the graph or the vault itself: the engine
// answers a running skill's sideband ops through an OpHandler.
package broker
