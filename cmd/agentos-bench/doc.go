// Command agentos-bench measures the engine against physical floors taken in
// the same run on the same machine (DESIGN §12) and prints each figure, its
// floor and the ratio. It starts a real engine (this binary, re-executed in
// engine mode) in a temporary AGENTOS_HOME and talks to it over the socket.
//
// It must not assert: it prints figures and their ratios, and the targets are
// read against them (docs/performance.md). Tests never time anything.
package main
