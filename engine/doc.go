// Package engine owns the daemon: the state directory, the lock that keeps one
// engine per AGENTOS_HOME, the Unix socket with its JSON-RPC 2.0 server and
// method table, and the observer bus. It also holds the only Go client of that
// socket, used by the CLI, the MCP proxy and the bridge. Storage lives in graph,
// shape rules in shapes: the engine wires them, it does not reimplement them.
package engine
