// Package bridge is the HTTP side of agentos (DESIGN §9, docs/bridge.md): a
// read-only JSON API over its own mode=ro SQLite connection, the observer
// stream as server-sent events, POST /api/call forwarded to the engine
// socket behind a bearer token, /metrics, the embedded web UI and the
// JavaScript app SDK (/sdk.js, from sdk/js).
//
// Its listener serves only the owner's uid (internal/loopback resets other
// accounts' connections before a byte is read), and every request passes the
// guard first: Host and Origin must be loopback or configured (DNS-rebinding
// protection), CORS only for configured origins.
// The bridge never writes to the graph itself and never exposes secrets.*.
package bridge
