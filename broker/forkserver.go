package broker

import (
	"fmt"
	"path/filepath"
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
}

// forkRequest is one call for the template (agentos/_forkserver.py).
type forkRequest struct {
	Argv    []string   `json:"argv"`
	Env     []string   `json:"env"`
	Dir     string     `json:"dir"`
	Read    []string   `json:"read"`
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
}

// forkable reports whether c may run on a fork server: the runner asked for one,
// the sandbox helper can start it, and the call has no files grants (the
// template's Landlock ruleset holds only the SDK, the skill roots and the temp
// dir; a call with grants is spawned).
func (r *Runner) forkable(c Call) bool {
	return r.kind == RunnerFork && r.sandbox.Active() && len(c.ReadPaths) == 0 && len(c.WritePaths) == 0
}

// forkRoot is the folder the template for c's skill may read: the skill's parent,
// so one template serves every skill of a skills folder.
func forkRoot(c Call) string { return filepath.Dir(c.SkillDir) }
