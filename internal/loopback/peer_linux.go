package loopback

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// The kernel is asked who owns the client end of a connection: the socket
// whose local address is the server's remote one and whose remote address
// is the server's local one. NETLINK_SOCK_DIAG answers for that exact
// 4-tuple in O(1); /proc/net/tcp{,6}, read whole, is the fallback where
// netlink is unavailable (some sandboxes). Which one works is found on the
// first connection, by asking for the server's own end of it, which exists.

type method int

const (
	viaNetlink method = iota + 1
	viaProc
	viaNothing
)

// peerLookup finds the owner of the client end of server-side connections,
// by the method its first lookup found to work.
type peerLookup struct {
	once sync.Once
	how  method
	err  error // why neither method works
}

// uid returns the uid owning the client end of the connection whose
// server end is local -> remote.
func (p *peerLookup) uid(local, remote *net.TCPAddr) (int, error) {
	p.once.Do(func() { p.how, p.err = probe(local, remote) })
	switch p.how {
	case viaNetlink:
		return diagUID(remote, local)
	case viaProc:
		return procUID(remote, local)
	}
	return 0, fmt.Errorf("%w: %v", errUnsupported, p.err)
}

// probe finds which lookup works, by looking up our own end (local ->
// remote), which we hold open.
func probe(local, remote *net.TCPAddr) (method, error) {
	uid, nerr := diagUID(local, remote)
	if nerr == nil && uid == os.Getuid() {
		return viaNetlink, nil
	}
	uid, perr := procUID(local, remote)
	if perr == nil && uid == os.Getuid() {
		return viaProc, nil
	}
	// Neither works: on Linux that is refused, not waved through (DESIGN
	// §11), and every connection says why.
	return viaNothing, fmt.Errorf("netlink sock_diag: %v; /proc/net/tcp: %v", nerr, perr)
}

// Layout of struct inet_diag_req_v2 and struct inet_diag_msg
// (linux/inet_diag.h).
const (
	sizeofDiagReq = 56
	sizeofDiagMsg = 72
	diagMsgID     = 4  // struct inet_diag_sockid in inet_diag_msg
	diagMsgUID    = 64 // idiag_uid
	diagMsgInode  = 68 // idiag_inode
	tcpListen     = 10 // TCP_LISTEN
)

// sockID is struct inet_diag_sockid for src -> dst (48 bytes).
func sockID(src, dst *net.TCPAddr, v4 bool) []byte {
	b := make([]byte, 48)
	binary.BigEndian.PutUint16(b[0:], uint16(src.Port))
	binary.BigEndian.PutUint16(b[2:], uint16(dst.Port))
	if v4 {
		copy(b[4:8], src.IP.To4())
		copy(b[20:24], dst.IP.To4())
	} else {
		copy(b[4:20], src.IP.To16())
		copy(b[20:36], dst.IP.To16())
	}
	// idiag_if 0; idiag_cookie INET_DIAG_NOCOOKIE: any socket with that 4-tuple.
	binary.NativeEndian.PutUint32(b[40:], ^uint32(0))
	binary.NativeEndian.PutUint32(b[44:], ^uint32(0))
	return b
}

// diagUID asks NETLINK_SOCK_DIAG for the owner of the TCP socket src -> dst.
func diagUID(src, dst *net.TCPAddr) (int, error) {
	v4 := src.IP.To4() != nil && dst.IP.To4() != nil
	family := uint8(unix.AF_INET6)
	if v4 {
		family = unix.AF_INET
	}
	id := sockID(src, dst, v4)
	req := make([]byte, unix.SizeofNlMsghdr+sizeofDiagReq)
	binary.NativeEndian.PutUint32(req[0:], uint32(len(req)))
	binary.NativeEndian.PutUint16(req[4:], unix.SOCK_DIAG_BY_FAMILY)
	binary.NativeEndian.PutUint16(req[6:], unix.NLM_F_REQUEST)
	binary.NativeEndian.PutUint32(req[8:], 1) // seq
	body := req[unix.SizeofNlMsghdr:]
	body[0], body[1] = family, unix.IPPROTO_TCP
	binary.NativeEndian.PutUint32(body[4:], ^uint32(0)) // every state
	copy(body[8:], id)

	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.NETLINK_SOCK_DIAG)
	if err != nil {
		return 0, fmt.Errorf("netlink socket: %w", err)
	}
	defer unix.Close(fd)
	tv := unix.Timeval{Sec: 2}
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		return 0, fmt.Errorf("netlink timeout: %w", err)
	}
	if err := unix.Sendto(fd, req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return 0, fmt.Errorf("netlink send: %w", err)
	}
	buf := make([]byte, 8192)
	for {
		n, _, err := unix.Recvfrom(fd, buf, 0)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("netlink receive: %w", err)
		}
		msgs, err := syscall.ParseNetlinkMessage(buf[:n])
		if err != nil {
			return 0, fmt.Errorf("netlink reply: %w", err)
		}
		for _, m := range msgs {
			if m.Header.Seq != 1 {
				continue
			}
			switch m.Header.Type {
			case unix.NLMSG_ERROR:
				if len(m.Data) < 4 {
					return 0, errors.New("netlink: short error reply")
				}
				errno := -int32(binary.NativeEndian.Uint32(m.Data))
				if errno == 0 {
					continue // an ack
				}
				if unix.Errno(errno) == unix.ENOENT {
					return 0, fmt.Errorf("no socket %s -> %s: %w", src, dst, errGone)
				}
				return 0, fmt.Errorf("netlink: %w", unix.Errno(errno))
			case unix.SOCK_DIAG_BY_FAMILY:
				d := m.Data
				if len(d) < sizeofDiagMsg {
					return 0, errors.New("netlink: short inet_diag_msg")
				}
				// The kernel falls back to a listener on the address when no
				// connected socket has it; only the exact socket will do.
				if d[1] == tcpListen || !sameSocket(d[0], d[diagMsgID:], src, dst) {
					return 0, fmt.Errorf("no socket %s -> %s: %w", src, dst, errGone)
				}
				if binary.NativeEndian.Uint32(d[diagMsgInode:]) == 0 {
					return 0, fmt.Errorf("socket %s -> %s: %w", src, dst, errGone)
				}
				return int(binary.NativeEndian.Uint32(d[diagMsgUID:])), nil
			case unix.NLMSG_DONE:
				return 0, fmt.Errorf("no socket %s -> %s: %w", src, dst, errGone)
			}
		}
	}
}

// sameSocket reports whether the inet_diag_sockid id of a socket of the
// given family is src -> dst. An IPv6 socket found for an IPv4 4-tuple has
// its addresses in the IPv4-mapped form.
func sameSocket(family byte, id []byte, src, dst *net.TCPAddr) bool {
	addr := func(b []byte) netip.Addr {
		if family == unix.AF_INET {
			return netip.AddrFrom4([4]byte(b[:4]))
		}
		return netip.AddrFrom16([16]byte(b[:16])).Unmap()
	}
	want := func(ip net.IP) netip.Addr {
		a, _ := netip.AddrFromSlice(ip)
		return a.Unmap()
	}
	return int(binary.BigEndian.Uint16(id[0:])) == src.Port && int(binary.BigEndian.Uint16(id[2:])) == dst.Port &&
		addr(id[4:20]) == want(src.IP) && addr(id[20:36]) == want(dst.IP)
}

// procUID finds the owner of the TCP socket src -> dst in /proc/net/tcp
// (both ends IPv4) or /proc/net/tcp6 (IPv6, or IPv4 on an IPv6 socket).
func procUID(src, dst *net.TCPAddr) (int, error) {
	read := false
	var lastErr error
	for _, f := range []struct {
		path string
		v4   bool
	}{{"/proc/net/tcp", true}, {"/proc/net/tcp6", false}} {
		if f.v4 && (src.IP.To4() == nil || dst.IP.To4() == nil) {
			continue
		}
		data, err := os.ReadFile(f.path)
		if err != nil {
			lastErr = err
			continue
		}
		read = true
		if uid, inode, ok := findSocketOwner(string(data), procAddr(src, f.v4), procAddr(dst, f.v4)); ok {
			if inode == 0 {
				return 0, fmt.Errorf("socket %s -> %s: %w", src, dst, errGone)
			}
			return uid, nil
		}
	}
	if !read {
		return 0, fmt.Errorf("read /proc/net/tcp: %w", lastErr)
	}
	return 0, fmt.Errorf("no socket %s -> %s in /proc/net/tcp: %w", src, dst, errGone)
}

// findSocketOwner returns the uid and inode columns of the line of a
// /proc/net/tcp table with the given local and remote addresses.
func findSocketOwner(table, localAddr, remoteAddr string) (uid, inode int, ok bool) {
	for line := range strings.SplitSeq(table, "\n") {
		fields := strings.Fields(line)
		// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode ...
		if len(fields) < 10 || !strings.EqualFold(fields[1], localAddr) || !strings.EqualFold(fields[2], remoteAddr) {
			continue
		}
		uid, err1 := strconv.Atoi(fields[7])
		inode, err2 := strconv.Atoi(fields[9])
		return uid, inode, err1 == nil && err2 == nil
	}
	return 0, 0, false
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
