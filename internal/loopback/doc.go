// Package loopback owns the one loopback listener and HTTP guard that every
// TCP listener of agentos (the bridge, `agentos mcp --http`) sits behind
// (DESIGN §11: no listener serves another uid, and no check takes a
// forgeable header as proof of who is asking).
//
//   - Listen opens a loopback address (a name is checked again as it
//     resolved) and returns a listener whose Accept yields only connections
//     made by processes of this process's uid; SameUser wraps a listener
//     opened elsewhere. The owner of the client end is asked of the kernel
//     (NETLINK_SOCK_DIAG with the exact 4-tuple, /proc/net/tcp where netlink
//     is unavailable), for each connection in its own goroutine, a bounded
//     number at once, so a flood of another account's connects cannot stall
//     the owner's. A refused connection is reset before a byte is read.
//   - Guard is the HTTP middleware against DNS rebinding and pages of other
//     sites: Host must be a loopback name or address, Origin (when present)
//     a loopback page; extra names and origins only when configured. It
//     keeps browsers out; the uid check keeps other programs out.
//   - IsLoopbackHost is the one rule for "this name always means this
//     machine": localhost, *.localhost and loopback IP addresses.
//
// It must not know about the bridge, MCP or the engine, nor serve anything
// itself.
package loopback
