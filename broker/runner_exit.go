package broker

import (
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

// describeExit explains a worker that went away without a final message, from its
// exit status, its CPU use and its stderr: a limit it hit, a crash, or a plain exit.
func (l Limits) describeExit(state exitState, stderr string) *RunError {
	if !state.known {
		return skillFailed("worker ended without sending a result")
	}
	if state.setupErr != "" {
		return &RunError{Kind: KindUnavailable, Message: "worker could not start: " + state.setupErr}
	}
	ws := state.ws
	outOfMemory := mentionsMemory(stderr)
	if ws.Signaled() {
		sig := ws.Signal()
		name := unix.SignalName(sig)
		switch {
		case l.cpuExhausted(sig, state.cpu):
			return skillFailed(fmt.Sprintf("worker exceeded its CPU time limit of %ds and was killed (%s)", l.CPUSeconds, name))
		case outOfMemory:
			return skillFailed(fmt.Sprintf("worker ran out of memory (limit %s) and was killed by %s", formatLimitBytes(l.MemoryBytes), name))
		}
		return skillFailed(fmt.Sprintf("worker crashed: killed by %s (%s) without sending a result", name, sig))
	}
	if outOfMemory {
		return skillFailed(fmt.Sprintf("worker ran out of memory (limit %s) and exited with status %d without sending a result",
			formatLimitBytes(l.MemoryBytes), ws.ExitStatus()))
	}
	return skillFailed(fmt.Sprintf("worker exited with status %d without sending a result", ws.ExitStatus()))
}

// mentionsMemory reports whether stderr says an allocation failed: Python's
// MemoryError, or libc's ENOMEM text from an extension.
func mentionsMemory(stderr string) bool {
	for _, s := range []string{"MemoryError", "Cannot allocate memory", "out of memory"} {
		if strings.Contains(stderr, s) {
			return true
		}
	}
	return false
}
