// Package agents owns agents (DESIGN §15): Markdown files that name a
// model, the capabilities an agent may call and its system prompt; their
// validation; the loop that runs one (llm, then the tool calls it asks for,
// until an answer or max_turns); the record of a run; and the schedule of
// missions.
//
// It reaches capabilities, the graph and the observer only through Env,
// which the engine implements: it must not know about sockets, MCP or skill
// processes, and it never checks a skill's permissions (each tool call is a
// normal capability call, with its provider's own).
package agents
