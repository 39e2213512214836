// Package testkit holds what tests of several packages need to run against
// real parts: a short temporary AGENTOS_HOME, a real engine in the test's
// process (real socket, real SQLite file, real skill processes), test
// skills written to disk, and waits on the processes a skill starts.
// Only tests import it; it must not fake a part (no stand-in engine, store
// or interpreter): what it starts is the real thing.
package testkit
