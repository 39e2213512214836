package sandbox

import (
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Mode is config.yaml's sandbox setting.
type Mode string

// Modes: Strict refuses to run a skill when a layer is missing, BestEffort uses the
// layers the kernel has, Off runs workers unconfined.
const (
	Strict     Mode = "strict"
	BestEffort Mode = "best-effort"
	Off        Mode = "off"
)

// ParseMode reads a config value; empty means BestEffort.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(s); m {
	case "":
		return BestEffort, nil
	case Strict, BestEffort, Off:
		return m, nil
	}
	return "", fmt.Errorf("sandbox mode %q: want strict, best-effort or off", s)
}

// Layer names, as system.status reports them.
const (
	LayerNoNewPrivs = "no_new_privs"
	LayerNoCaps     = "no_caps"
	LayerSeccomp    = "seccomp"
	LayerLandlock   = "landlock"
	LayerNetNS      = "netns"
	LayerPIDNS      = "pidns"
	LayerPids       = "pids-cgroup"
)

// AllLayers lists every layer in the order they are reported.
var AllLayers = []string{LayerNoNewPrivs, LayerNoCaps, LayerSeccomp, LayerLandlock, LayerNetNS, LayerPIDNS, LayerPids}

// Rlimit is one resource limit the helper sets on the interpreter.
type Rlimit struct {
	Resource int    `json:"resource"`
	Value    uint64 `json:"value"`
}

// Spec is one sandboxed worker: the interpreter's command and what it may reach.
type Spec struct {
	Path    string   `json:"path"` // absolute interpreter path
	Args    []string `json:"args"` // argv, Args[0] included
	Env     []string `json:"env"`
	Dir     string   `json:"dir"`     // working directory, also read-write
	Read    []string `json:"read"`    // read-only trees (the SDK, the skill, files(read) grants)
	Write   []string `json:"write"`   // read-write trees beyond Dir (files(write) grants)
	Rlimits []Rlimit `json:"rlimits"` // set on the interpreter (soft = hard)
	PidsMax int      `json:"pids_max"`
	// KeepCaps leaves the interpreter its capabilities (no_caps is not
	// applied): only for the fork server's template, which runs no skill code
	// and needs CAP_SYS_ADMIN for each call's PID namespace; every process it
	// forks for a call drops them all.
	KeepCaps bool `json:"keep_caps"`
	// SelfFiltered leaves the seccomp filter to the interpreter: the fork
	// server's template, each of whose calls installs it with a listener of
	// its own (the kernel allows one listener per filter chain), before any
	// skill code runs, and refuses the call if it cannot.
	SelfFiltered bool `json:"self_filtered"`
}

// MaxRefused bounds the refused syscalls kept (and audited) per call: a skill
// that calls socket() in a loop must not grow the engine or its audit log.
const MaxRefused = 100

// KeepRefused adds name to a call's refused syscalls, up to MaxRefused; past
// that one last entry counts what was left out ("3 more").
func KeepRefused(list []string, name string) []string {
	switch {
	case len(list) < MaxRefused:
		return append(list, name)
	case len(list) == MaxRefused:
		return append(list, "1 more")
	}
	n, _ := strconv.Atoi(strings.TrimSuffix(list[MaxRefused], " more"))
	list[MaxRefused] = strconv.Itoa(n+1) + " more"
	return list
}

// Status is the report of the sandbox layers of a program: what runs, what is
// missing and, for a missing layer, why.
type Status struct {
	Mode    Mode
	Layers  []string
	Missing []string
	Why     map[string]string // missing layer → reason
}

// MissingError says which layers a strict sandbox lacks.
type MissingError struct {
	Missing []string
	Why     map[string]string
}

func (e *MissingError) Error() string {
	msg := "sandbox is strict but these layers are missing:"
	for _, l := range e.Missing {
		msg += " " + l
		if w := e.Why[l]; w != "" {
			msg += " (" + w + ")"
		}
	}
	return msg
}

// status builds a Status for mode from what the probe found.
func status(mode Mode, have []string, why map[string]string) Status {
	st := Status{Mode: mode, Why: why}
	for _, l := range AllLayers {
		if mode != Off && slices.Contains(have, l) {
			st.Layers = append(st.Layers, l)
		} else {
			st.Missing = append(st.Missing, l)
		}
	}
	if mode == Off {
		st.Why = map[string]string{}
		for _, l := range st.Missing {
			st.Why[l] = "sandbox is off"
		}
	}
	return st
}

// Check returns a *MissingError when a strict sandbox lacks a layer.
func (st Status) Check() error {
	if st.Mode == Strict && len(st.Missing) > 0 {
		return &MissingError{Missing: st.Missing, Why: st.Why}
	}
	return nil
}

// Active reports whether workers start through the sandbox helper.
func (st Status) Active() bool {
	return st.Mode != Off && len(st.Layers) > 0 && st.has(LayerNoNewPrivs)
}

func (st Status) has(l string) bool { return slices.Contains(st.Layers, l) }

// cleanAll returns the absolute, cleaned paths of ps, without empties and duplicates.
func cleanAll(ps []string) []string {
	var out []string
	for _, p := range ps {
		if p == "" {
			continue
		}
		if abs, err := filepath.Abs(p); err == nil {
			p = abs
		}
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

// InterpreterPaths derives what the interpreter needs from its path: the binary
// (and the file its symlinks name), its prefix's lib/python* folders, the dynamic
// loader's cache and the system's shared-library folders.
func InterpreterPaths(python string) (exec, libs []string) {
	exec = []string{python}
	real, err := filepath.EvalSymlinks(python)
	if err == nil && real != python {
		exec = append(exec, real)
	} else if err != nil {
		real = python
	}
	prefix := filepath.Dir(filepath.Dir(real))
	for _, pattern := range []string{"lib/python3*", "lib64/python3*", "lib/*-linux-gnu*"} {
		m, _ := filepath.Glob(filepath.Join(prefix, pattern))
		libs = append(libs, m...)
	}
	for _, pattern := range []string{"/lib/*-linux-gnu*", "/usr/lib/*-linux-gnu*", "/lib64", "/usr/lib64"} {
		m, _ := filepath.Glob(pattern)
		libs = append(libs, m...)
	}
	libs = append(libs, "/etc/ld.so.cache")
	var out []string
	for _, l := range libs {
		if r, err := filepath.EvalSymlinks(l); err == nil && !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return exec, out
}
