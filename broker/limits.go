package broker

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"github.com/agentos/agentos/broker/sandbox"
)

// Limits bound what one worker process may consume. Zero fields take the defaults.
type Limits struct {
	CPUSeconds  int           // RLIMIT_CPU (default 60)
	MemoryBytes int64         // RLIMIT_AS (default 2 GiB)
	OpenFiles   int           // RLIMIT_NOFILE (default 256)
	MaxOutput   int64         // bytes the worker may write to stdout in one call, so also one protocol line's max (default 64 MiB)
	StderrTail  int           // bytes of stderr kept for error messages (default 8 KiB)
	Grace       time.Duration // SIGTERM → SIGKILL grace (default 2 s)
	Processes   int           // processes and threads one call may have at once, by a pids cgroup when the sandbox has one (default 256)
}

// Default limits, used for every zero field of Limits.
const (
	DefaultCPUSeconds  = 60
	DefaultMemoryBytes = 2 << 30
	DefaultOpenFiles   = 256
	DefaultMaxOutput   = 64 << 20
	DefaultStderrTail  = 8 << 10
	DefaultGrace       = 2 * time.Second
	DefaultProcesses   = 256
)

// withDefaults fills every zero or negative field with its default.
func (l Limits) withDefaults() Limits {
	if l.CPUSeconds <= 0 {
		l.CPUSeconds = DefaultCPUSeconds
	}
	if l.MemoryBytes <= 0 {
		l.MemoryBytes = DefaultMemoryBytes
	}
	if l.OpenFiles <= 0 {
		l.OpenFiles = DefaultOpenFiles
	}
	if l.MaxOutput <= 0 {
		l.MaxOutput = DefaultMaxOutput
	}
	if l.StderrTail <= 0 {
		l.StderrTail = DefaultStderrTail
	}
	if l.Grace <= 0 {
		l.Grace = DefaultGrace
	}
	if l.Processes <= 0 {
		l.Processes = DefaultProcesses
	}
	return l
}

// workerArgs are the limit flags of the worker command line; the shim applies them
// with setrlimit before any skill code is imported.
func (l Limits) workerArgs() []string {
	return []string{
		"--cpu-seconds", strconv.Itoa(l.CPUSeconds),
		"--memory-bytes", strconv.FormatInt(l.MemoryBytes, 10),
		"--open-files", strconv.Itoa(l.OpenFiles),
	}
}

// rlimits are the limits the sandbox helper sets on the interpreter it starts.
func (l Limits) rlimits() []sandbox.Rlimit {
	return []sandbox.Rlimit{
		{Resource: unix.RLIMIT_CPU, Value: uint64(l.CPUSeconds)},
		{Resource: unix.RLIMIT_AS, Value: uint64(l.MemoryBytes)},
		{Resource: unix.RLIMIT_NOFILE, Value: uint64(l.OpenFiles)},
	}
}

// applyTo sets the rlimits on a started process with prlimit(2). The shim sets them
// too; doing it from here as well means a shim that forgets, or skill code that runs
// before the shim gets to it, is still bounded. Soft = hard so the worker cannot
// raise them again.
func (l Limits) applyTo(pid int) error {
	set := []struct {
		name     string
		resource int
		value    uint64
	}{
		{"cpu", unix.RLIMIT_CPU, uint64(l.CPUSeconds)},
		{"memory", unix.RLIMIT_AS, uint64(l.MemoryBytes)},
		{"open files", unix.RLIMIT_NOFILE, uint64(l.OpenFiles)},
	}
	var errs []error
	for _, s := range set {
		lim := unix.Rlimit{Cur: s.value, Max: s.value}
		if err := unix.Prlimit(pid, s.resource, &lim, nil); err != nil {
			errs = append(errs, fmt.Errorf("prlimit %s of pid %d: %w", s.name, pid, err))
		}
	}
	return errors.Join(errs...)
}

// cpuExhausted reports whether a worker that died by signal was killed for its CPU
// limit. The kernel sends SIGXCPU at the soft limit and SIGKILL at the hard one; with
// soft = hard it sends SIGKILL straight away, so a SIGKILL we did not send counts if
// the process burnt a good part of its CPU time. Half, not all: rusage is sampled
// and was seen 20% short of the limit the kernel enforced on a loaded machine.
func (l Limits) cpuExhausted(sig unix.Signal, used time.Duration) bool {
	switch sig {
	case unix.SIGXCPU:
		return true
	case unix.SIGKILL:
		return used >= time.Duration(l.CPUSeconds)*time.Second/2
	}
	return false
}

// formatLimitBytes renders a byte count the way people set limits: 512 MiB, 2 GiB.
func formatLimitBytes(n int64) string {
	const unit = 1024
	switch {
	case n >= unit*unit*unit && n%(unit*unit*unit) == 0:
		return fmt.Sprintf("%d GiB", n/(unit*unit*unit))
	case n >= unit*unit && n%(unit*unit) == 0:
		return fmt.Sprintf("%d MiB", n/(unit*unit))
	case n >= unit && n%unit == 0:
		return fmt.Sprintf("%d KiB", n/unit)
	}
	return fmt.Sprintf("%d bytes", n)
}
