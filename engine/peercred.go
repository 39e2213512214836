package engine

import (
	"fmt"
	"net"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// checkPeer enforces DESIGN §11: only the user who owns the engine may use
// it. The socket's mode already says so; the peer credential check keeps it
// true if the mode is loosened by accident. It returns a default caller label.
func checkPeer(nc net.Conn) (string, error) {
	uc, ok := nc.(*net.UnixConn)
	if !ok {
		return "unknown", nil
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return "", fmt.Errorf("peer credentials: %w", err)
	}
	var cred *unix.Ucred
	var cerr error
	if err := raw.Control(func(fd uintptr) {
		cred, cerr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return "", fmt.Errorf("peer credentials: %w", err)
	}
	if cerr != nil {
		return "", fmt.Errorf("peer credentials: %w", cerr)
	}
	if int(cred.Uid) != os.Getuid() {
		return "", fmt.Errorf("peer uid %d is not the engine's uid %d", cred.Uid, os.Getuid())
	}
	return "pid:" + fmt.Sprint(cred.Pid) + procName(int(cred.Pid)), nil
}

func procName(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	if err != nil {
		return ""
	}
	return "(" + strings.TrimSpace(string(b)) + ")"
}
