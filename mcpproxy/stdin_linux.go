package mcpproxy

import (
	"io"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// pollable returns a reader of the same pipe that the Go runtime can poll,
// and a func that closes it. The stdin an MCP client hands us is a pipe in
// blocking mode, so each read holds an OS thread in a syscall, and the
// request read has to wake another thread to run on. Opening
// /proc/self/fd/0 afresh gives a description of the same pipe of our own,
// set non-blocking without touching the one we were given (another process
// may share it). Anything but a pipe, or any failure, is read as it is.
func pollable(in io.Reader) (io.Reader, func()) {
	f, ok := in.(*os.File)
	if !ok {
		return in, func() {}
	}
	rc, err := f.SyscallConn() // not f.Fd(): that would set f to blocking mode
	if err != nil {
		return in, func() {}
	}
	fd := -1
	rc.Control(func(sysfd uintptr) {
		var st unix.Stat_t
		if unix.Fstat(int(sysfd), &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFIFO {
			return
		}
		if fl, err := unix.FcntlInt(sysfd, unix.F_GETFL, 0); err != nil || fl&unix.O_NONBLOCK != 0 {
			return // already polled by the runtime
		}
		fd, _ = unix.Open("/proc/self/fd/"+strconv.Itoa(int(sysfd)), unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	})
	if fd < 0 {
		return in, func() {}
	}
	nf := os.NewFile(uintptr(fd), f.Name())
	return nf, func() { nf.Close() }
}
