package broker

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
)

// Runner kinds, config.yaml's `runner:` (DESIGN §7.1 "Fork server").
const (
	RunnerSpawn = "spawn" // one sandbox helper and one interpreter exec per call
	RunnerFork  = "fork"  // a pre-imported template per skill root forks each call (the default)
)

// ParseRunnerKind reads a config value; empty means fork.
func ParseRunnerKind(s string) (string, error) {
	switch s {
	case "":
		return RunnerFork, nil
	case RunnerSpawn, RunnerFork:
		return s, nil
	}
	return "", fmt.Errorf("runner %q: want fork or spawn", s)
}

// forkServerScript starts the template; argv[1] is its forkConfig as JSON.
const forkServerScript = "import sys; sys.path.insert(0, sys.argv[2]); from agentos._forkserver import main; main()"

// forkConfig is what the template needs to narrow each call's Landlock layer.
type forkConfig struct {
	Exec []string `json:"exec"`
	Libs []string `json:"libs"`
	// Seccomp is the sandbox's filter (sandbox.SeccompProgram), which each
	// call's process installs with a listener the template answers; empty
	// without the seccomp layer.
	Seccomp [][4]uint32 `json:"seccomp"`
}

// forkRequest is one call for the template (agentos/_forkserver.py).
type forkRequest struct {
	Argv    []string   `json:"argv"`
	Env     []string   `json:"env"`
	Dir     string     `json:"dir"`
	Read    []string   `json:"read"`
	Write   []string   `json:"write"`
	Rlimits [][2]int64 `json:"rlimits"`
}

// forkReply is a message on a call's reply socket: first the worker's ready (its
// pid and pidfd) or a setup error, later its wait status and CPU time from the
// template.
type forkReply struct {
	Ready      bool   `json:"ready"`
	PIDNS      bool   `json:"pidns"`
	PID        int    `json:"pid"`
	Status     *int   `json:"status"`
	CPUNanos   int64  `json:"cpu_ns"`
	SetupError string `json:"setup_error"`
	// DeniedNr is a syscall the call's seccomp filter refused (its number and
	// first argument), which its template answered with EPERM.
	DeniedNr *int   `json:"denied_nr"`
	Arg0     uint64 `json:"arg0"`
}

// forkable reports whether c may run on a fork server: the runner asked for
// one and the sandbox helper can start it.
func (r *Runner) forkable(Call) bool {
	return r.kind == RunnerFork && r.sandbox.Active()
}

// templateKey says which template runs c: one per skills folder and set of
// files grants. A template's Landlock ruleset holds the SDK, the folder (the
// skill's parent, so one template serves every skill in it), the temp dir and
// the grants; each call narrows it to its own skill and dir. A call with
// grants so runs on a template made for exactly those grants, never on one
// that could reach more.
type templateKey struct {
	root          string
	reads, writes []string // the grants' paths, sorted
}

func templateFor(c Call) templateKey {
	return templateKey{root: filepath.Dir(c.SkillDir), reads: slices.Sorted(slices.Values(c.ReadPaths)),
		writes: slices.Sorted(slices.Values(c.WritePaths))}
}

// id is the key as a map key and for logs.
func (k templateKey) id() string {
	return k.root + "\x00r" + strings.Join(k.reads, "\x00") + "\x00w" + strings.Join(k.writes, "\x00")
}
