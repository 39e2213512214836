package bridge

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
)

// sameUserListener accepts only connections made by processes of the
// bridge's own user. Loopback TCP is open to every account on the machine,
// unlike the engine's 0600 socket; without this, another user could read
// the graph, and fetch the token from /sdk.js by sending the headers a
// browser would (DESIGN §11: whoever holds the user's uid may use the
// engine, and no one else). Linux tells who owns the other end of a
// loopback connection in /proc/net/tcp{,6}; where that is not available the
// check is skipped, once logged.
type sameUserListener struct {
	net.Listener
	uid       int
	log       *slog.Logger
	unchecked sync.Once
}

func (l *sameUserListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		local, lok := c.LocalAddr().(*net.TCPAddr)
		remote, rok := c.RemoteAddr().(*net.TCPAddr)
		if !lok || !rok {
			return c, nil
		}
		uid, err := peerUID(local, remote)
		switch {
		case errors.Is(err, errNoProcNet):
			l.unchecked.Do(func() {
				l.log.Warn("cannot tell which user connects to the bridge on this system; any local account can reach it", "err", err)
			})
			return c, nil
		case err != nil:
			l.log.Warn("bridge connection refused: its owner is unknown", "remote", remote.String(), "err", err)
			c.Close()
		case uid != l.uid:
			l.log.Warn("bridge connection refused: made by another user", "remote", remote.String(), "uid", uid)
			c.Close()
		default:
			return c, nil
		}
	}
}

var errNoProcNet = errors.New("no /proc/net/tcp")

// peerUID finds the owner of the client end of the connection local<->remote
// (as the server sees it): the socket whose local address is remote and
// whose remote address is local.
func peerUID(local, remote *net.TCPAddr) (int, error) {
	found := false
	for _, f := range []struct {
		path string
		v4   bool
	}{{"/proc/net/tcp", true}, {"/proc/net/tcp6", false}} {
		if f.v4 && (local.IP.To4() == nil || remote.IP.To4() == nil) {
			continue
		}
		data, err := os.ReadFile(f.path)
		if err != nil {
			continue
		}
		found = true
		if uid, ok := findSocketOwner(string(data), procAddr(remote, f.v4), procAddr(local, f.v4)); ok {
			return uid, nil
		}
	}
	if !found {
		return 0, errNoProcNet
	}
	return 0, fmt.Errorf("no socket %s -> %s in /proc/net/tcp", remote, local)
}

// findSocketOwner returns the uid column of the line of a /proc/net/tcp
// table with the given local and remote addresses.
func findSocketOwner(table, localAddr, remoteAddr string) (int, bool) {
	for _, line := range strings.Split(table, "\n") {
		fields := strings.Fields(line)
		// sl local_address rem_address st tx:rx tr:when retrnsmt uid ...
		if len(fields) < 8 || !strings.EqualFold(fields[1], localAddr) || !strings.EqualFold(fields[2], remoteAddr) {
			continue
		}
		uid, err := strconv.Atoi(fields[7])
		return uid, err == nil
	}
	return 0, false
}

// procAddr writes addr as /proc/net/tcp does: the address as 32-bit words
// in the host's byte order, hex, then ":" and the port in hex.
func procAddr(addr *net.TCPAddr, v4 bool) string {
	ip := addr.IP.To16()
	if v4 {
		ip = addr.IP.To4()
	}
	buf := make([]byte, len(ip))
	for i := 0; i+4 <= len(ip); i += 4 {
		binary.NativeEndian.PutUint32(buf[i:], binary.BigEndian.Uint32(ip[i:]))
	}
	return strings.ToUpper(hex.EncodeToString(buf)) + fmt.Sprintf(":%04X", addr.Port)
}
