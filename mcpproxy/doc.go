// Package mcpproxy owns the MCP server (stdio and Streamable HTTP) that maps MCP onto
// the engine socket through the engine client (DESIGN §10). Not built yet: see the MCP
// proxy issue.
package mcpproxy
