// Package mcpproxy owns the MCP server that maps MCP onto the engine socket
// through engine/wire's client (DESIGN §10), and must not import the daemon's
// packages (graph, broker, vault): `go list -deps` shows wire and the leaf
// internal packages only. It serves stdio (a transport of its own, stdio.go,
// around mcp-go's MCPServer.HandleMessage, framed by internal/jsonl), or
// Streamable HTTP at /mcp (mcp-go's) behind internal/loopback (connections of
// other uids are reset; a foreign Origin or Host gets 403): fixed data
// tools (read, search, create, update, delete, link, write, invoke, skills, status)
// plus one tool per capability from system.schema, with capability names
// mapped to MCP-safe tool names (web.read → web_read); shapes as resources
// (agentos://shapes/{name}) and nodes as a resource template
// (agentos://nodes/{id}); each valid skill's SKILL.md guide as a prompt.
// It follows the engine's observer events on a second connection and, on
// skills.changed, rebuilds the capability tools (so clients get
// notifications/tools/list_changed), shape resources and prompts.
// invoke and the capability tools run as engine jobs: job.progress events
// become notifications/progress when the call has a progress token, and a
// cancelled call (notifications/cancelled) cancels its job. An engine
// restart during such a call ends it with an isError result saying it was
// interrupted (jobs do not survive the engine; nothing is re-run), and the
// session reconnects for the next call.
// On stdio, the end of input (the client closing our stdin, which is how
// MCP ends a stdio session) ends the session and cancels the calls still
// running, their engine jobs included; so does the end of ServeStdio's ctx
// (SIGINT or SIGTERM for `agentos mcp`), promptly even while the client
// keeps stdin open. Up to 64 requests run at once and 1024 more wait; past
// that a request gets a "server busy" error at once. Notifications and ping
// are handled on the read loop, so a cancel or a ping is never stuck behind
// busy calls. On stdio, calls of the fixed data tools (all but invoke) are
// answered without mcp-go, with the same answer (fastcall.go). write
// (write.go) stores a batch of one shape, reporting bad items apart.
// Skills serve rich content (content.go), prompts and resources
// (skillitems.go); completions, subscriptions on node URIs, and the skills'
// log lines as notifications/message are served too. A skill's
// elicitation and sampling reach the client that made the call (ask.go,
// stdio_requests.go). The Agent Skills extension (skillfiles.go) and MCP
// tasks over engine jobs (tasks.go, task_input.go) are answered ahead of
// mcp-go (intercept.go). docs/mcp.md lists it all.
// logging/setLevel is answered. secrets.* methods are never reachable
// through it.
package mcpproxy
