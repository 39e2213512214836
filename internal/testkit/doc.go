// Package testkit holds what tests of several packages need to run against
// real parts: a short temporary AGENTOS_HOME, a real engine in the test's
// process (real socket, real SQLite file, real skill processes), test
// skills written to disk, and waits on the processes a skill starts.
// Only tests import it.
package testkit
