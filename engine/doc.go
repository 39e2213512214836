// Package engine owns the daemon: the state directory, the lock that keeps one
// engine per AGENTOS_HOME, the Unix socket with its JSON-RPC 2.0 server (built
// complete in one call), the method table (each method's params and their
// JSON Schema come from engine/wire), the observer bus and the job table.
//
// It wires the other packages and must not do their jobs: storage and search
// are graph's, shape rules shapes', and which provider runs a capability, and
// whether a skill may make an op, are the broker's (its Resolver and Gate).
// Clients of the socket do not import it: they use engine/wire.
package engine
