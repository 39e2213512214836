// Package wire is the engine socket as its clients see it (DESIGN §4): the
// message types that travel on it (errors and their kinds, events, jobs,
// status), the method names and the params of each method with their JSON
// Schemas, the layout of a state directory, and the one Go client, with
// redial and job following, that the CLI, the MCP proxy and the bridge use.
//
// It imports no other agentos package but the leaf internal/jsonl (the line
// framing every JSON-lines stream shares, which imports nothing of agentos),
// so a client of the engine (the MCP proxy above all) links no SQLite,
// broker, graph or vault code. It does not serve the socket: the daemon in
// package engine does.
package wire
