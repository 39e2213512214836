//go:build linux && (amd64 || arm64)

package sandbox

import (
	"os"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The filter, hand-written (a few rules need no builder library): a foreign
// architecture or the x32 ABI is killed; socket(2) and io_uring_setup(2) (whose
// IORING_OP_SOCKET could create one) fail with EPERM, as do ptrace(2) and
// process_vm_readv/writev(2); socketpair(2) fails with
// EPERM unless it is AF_UNIX: an unnamed connected pair reaches nothing outside the
// process tree, and asyncio's event loop needs one for its self-pipe.
func seccompProgram() []unix.SockFilter {
	const (
		ldW   = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS
		jeq   = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
		jge   = unix.BPF_JMP | unix.BPF_JGE | unix.BPF_K
		ret   = unix.BPF_RET | unix.BPF_K
		eperm = unix.SECCOMP_RET_ERRNO | uint32(unix.EPERM)
	)
	// Offsets in struct seccomp_data: nr 0, arch 4, args[0] 16 (low word on little endian).
	stmt := func(code uint16, k uint32) unix.SockFilter { return unix.SockFilter{Code: code, K: k} }
	jump := func(code uint16, k uint32, jt, jf uint8) unix.SockFilter {
		return unix.SockFilter{Code: code, K: k, Jt: jt, Jf: jf}
	}
	return []unix.SockFilter{
		stmt(ldW, 4),
		jump(jeq, seccompArch, 1, 0),
		stmt(ret, unix.SECCOMP_RET_KILL_PROCESS),
		stmt(ldW, 0),
		jump(jge, 0x40000000, 0, 1), // x32 syscall numbers
		stmt(ret, unix.SECCOMP_RET_KILL_PROCESS),
		jump(jeq, uint32(unix.SYS_SOCKET), 0, 1),
		stmt(ret, eperm),
		jump(jeq, uint32(unix.SYS_IO_URING_SETUP), 0, 1),
		stmt(ret, eperm),
		// Another process's memory: ptrace and process_vm_*, which the PID
		// namespace already keeps the engine out of reach of; a second lock.
		jump(jeq, uint32(unix.SYS_PTRACE), 0, 1),
		stmt(ret, eperm),
		jump(jeq, uint32(unix.SYS_PROCESS_VM_READV), 0, 1),
		stmt(ret, eperm),
		jump(jeq, uint32(unix.SYS_PROCESS_VM_WRITEV), 0, 1),
		stmt(ret, eperm),
		jump(jeq, uint32(unix.SYS_SOCKETPAIR), 0, 3),
		stmt(ldW, 16),
		jump(jeq, unix.AF_UNIX, 1, 0),
		stmt(ret, eperm),
		stmt(ret, unix.SECCOMP_RET_ALLOW),
	}
}

// applySeccomp installs the filter on the calling thread (no_new_privs is set).
func applySeccomp() error {
	prog := seccompProgram()
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	return unix.Prctl(unix.PR_SET_SECCOMP, unix.SECCOMP_MODE_FILTER, uintptr(unsafe.Pointer(&fprog)), 0, 0)
}

// seccompAvailable reports whether the kernel has seccomp filters.
func seccompAvailable() bool {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return false
	}
	return strings.Contains(string(b), "\nSeccomp:")
}
