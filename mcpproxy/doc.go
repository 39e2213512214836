// Package mcpproxy owns the MCP server that maps MCP onto the engine socket
// through the engine client (DESIGN §10). This first slice serves stdio only:
// fixed data tools (read, search, create, update, delete, link, invoke,
// skills, status) plus one tool per capability from system.schema, with
// capability names mapped to MCP-safe tool names (web.read → web_read).
// secrets.* methods are never reachable through it.
package mcpproxy
