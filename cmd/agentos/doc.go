// Command agentos is the agentos CLI, daemon and MCP proxy entry point.
// It only wires flags to packages; the logic lives in engine, graph and shapes.
//
// It must not hold logic of its own beyond flags, output and exit codes: a
// behaviour a user relies on belongs in a package that tests can reach
// without the binary.
package main
