//go:build linux && (amd64 || arm64)

package sandbox

import (
	"os"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The filter, hand-written (a few rules need no builder library): a foreign
// architecture or the x32 ABI is killed; socket(2) and io_uring_setup(2) (whose
// IORING_OP_SOCKET could create one) are refused, as are ptrace(2) and
// process_vm_readv/writev(2); socketpair(2) is refused unless it is AF_UNIX: an
// unnamed connected pair reaches nothing outside the process tree, and asyncio's
// event loop needs one for its self-pipe. A refused syscall goes to the
// filter's supervisor (SECCOMP_RET_USER_NOTIF), which answers EPERM and reports
// it; with no supervisor left the kernel fails it with ENOSYS.
func seccompProgram() []unix.SockFilter {
	const (
		ldW   = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS
		jeq   = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
		jge   = unix.BPF_JMP | unix.BPF_JGE | unix.BPF_K
		ret   = unix.BPF_RET | unix.BPF_K
		eperm = unix.SECCOMP_RET_USER_NOTIF
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

// applySeccomp installs the filter on the calling thread (no_new_privs is set)
// and returns its listener: the fd its supervisor answers refused syscalls on.
func applySeccomp() (int, error) {
	prog := seccompProgram()
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	fd, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER,
		unix.SECCOMP_FILTER_FLAG_NEW_LISTENER, uintptr(unsafe.Pointer(&fprog)))
	if errno != 0 {
		return -1, errno
	}
	return int(fd), nil
}

// SeccompProgram is the filter as (code, jt, jf, k) rows, for the fork server's
// template, which installs it in each call's process with a listener of its own.
func SeccompProgram() [][4]uint32 {
	var rows [][4]uint32
	for _, f := range seccompProgram() {
		rows = append(rows, [4]uint32{uint32(f.Code), uint32(f.Jt), uint32(f.Jf), f.K})
	}
	return rows
}

// seccompNotif and seccompResp are struct seccomp_notif and seccomp_notif_resp.
type seccompNotif struct {
	ID    uint64
	PID   uint32
	Flags uint32
	Nr    int32
	Arch  uint32
	IP    uint64
	Args  [6]uint64
}

type seccompResp struct {
	ID    uint64
	Val   int64
	Error int32
	Flags uint32
}

// superviseSeccomp answers every refused syscall on the listener fd with EPERM
// and reports it by name, until no process uses the filter any more.
func superviseSeccomp(fd int, report func(string)) {
	defer unix.Close(fd)
	for {
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		if _, err := unix.Poll(pfd, -1); err != nil {
			if err == unix.EINTR {
				continue
			}
			return
		}
		if pfd[0].Revents&unix.POLLIN == 0 {
			return // POLLHUP: the last process with the filter is gone
		}
		var n seccompNotif
		if _, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SECCOMP_IOCTL_NOTIF_RECV, uintptr(unsafe.Pointer(&n))); errno != 0 {
			if errno == unix.EINTR || errno == unix.ENOENT {
				continue // the caller died before we read it
			}
			return
		}
		// Reported before it is answered: the caller waits, so the report is
		// out before the call can end (and the helper with it).
		report(RefusedSyscall(int(n.Nr), n.Args[0]))
		resp := seccompResp{ID: n.ID, Error: -int32(unix.EPERM)}
		_, _, _ = unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SECCOMP_IOCTL_NOTIF_SEND, uintptr(unsafe.Pointer(&resp)))
	}
}

// RefusedSyscall names a syscall the filter refuses, for the audit log:
// "socket(AF_INET)", "ptrace".
func RefusedSyscall(nr int, arg0 uint64) string {
	switch nr {
	case unix.SYS_SOCKET, unix.SYS_SOCKETPAIR:
		name := "socket"
		if nr == unix.SYS_SOCKETPAIR {
			name = "socketpair"
		}
		if fam, ok := socketFamilies[int(arg0)]; ok {
			return name + "(" + fam + ")"
		}
		return name + "(family " + strconv.FormatUint(arg0, 10) + ")"
	case unix.SYS_IO_URING_SETUP:
		return "io_uring_setup"
	case unix.SYS_PTRACE:
		return "ptrace"
	case unix.SYS_PROCESS_VM_READV:
		return "process_vm_readv"
	case unix.SYS_PROCESS_VM_WRITEV:
		return "process_vm_writev"
	}
	return "syscall " + strconv.Itoa(nr)
}

var socketFamilies = map[int]string{unix.AF_UNIX: "AF_UNIX", unix.AF_INET: "AF_INET", unix.AF_INET6: "AF_INET6",
	unix.AF_NETLINK: "AF_NETLINK", unix.AF_PACKET: "AF_PACKET", unix.AF_VSOCK: "AF_VSOCK"}

// seccompAvailable reports whether the kernel has seccomp filters.
func seccompAvailable() bool {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return false
	}
	return strings.Contains(string(b), "\nSeccomp:")
}
