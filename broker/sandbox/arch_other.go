//go:build linux && !amd64 && !arm64

package sandbox

import (
	"errors"
	"strconv"
)

var errNoSeccomp = errors.New("no seccomp filter for this architecture")

// seccompArch zero: no filter is built for this architecture.
const seccompArch = 0

func applySeccomp() (int, error) { return -1, errNoSeccomp }

func superviseSeccomp(int, func(string)) {}

// SeccompProgram is empty: no filter for this architecture.
func SeccompProgram() [][4]uint32 { return nil }

func seccompAvailable() bool { return false }

// RefusedSyscall names syscall nr: no filter refuses any here.
func RefusedSyscall(nr int, _ uint64) string { return "syscall " + strconv.Itoa(nr) }
