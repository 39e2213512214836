// Package broker owns skills: discovering them (SKILL.md and the tools in
// their Python files, found by parsing, never by importing), their
// permissions (allowed-tools), resolution (which provider answers a
// capability, and why: Resolver), the gate (every sideband op checked
// against allowed-tools and audited: Gate) and running one tool call in a
// fresh, limited Python process that speaks the worker protocol
// (docs/worker-protocol.md). It does not serve RPC, know about sockets or
// MCP, or touch the graph or the vault itself: the engine answers the ops
// the gate lets through with an OpHandler, and hands the resolver its
// skills, policies and a "is this secret set" check as functions.
package broker
