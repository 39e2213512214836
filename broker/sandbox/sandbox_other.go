//go:build !linux

package sandbox

import (
	"errors"
	"os/exec"
	"strconv"
	"syscall"
	"time"
)

// MaybeRunChild does nothing outside Linux: there is no helper to become.
func MaybeRunChild() {}

// Probe reports every layer missing: only Linux has them.
func Probe(mode Mode) Status {
	why := map[string]string{}
	for _, l := range AllLayers {
		why[l] = "only Linux has this layer"
	}
	return status(mode, nil, why)
}

// Launch is never made outside Linux.
type Launch struct{ Cmd *exec.Cmd }

// Result mirrors the Linux type.
type Result struct {
	Status     syscall.WaitStatus
	CPU        time.Duration
	SetupError string
}

// Prepare always fails outside Linux.
func (st Status) Prepare(Spec) (*Launch, error) { return nil, errors.New("no sandbox outside Linux") }

func (l *Launch) Start() error           { return errors.New("no sandbox outside Linux") }
func (l *Launch) Result() (Result, bool) { return Result{}, false }
func (l *Launch) Close()                 {}

// SweepCgroups has nothing to sweep outside Linux.
func SweepCgroups() int { return 0 }

// SeccompProgram is empty outside Linux.
func SeccompProgram() [][4]uint32 { return nil }

// RefusedSyscall names syscall nr: no filter refuses any outside Linux.
func RefusedSyscall(nr int, _ uint64) string { return "syscall " + strconv.Itoa(nr) }
