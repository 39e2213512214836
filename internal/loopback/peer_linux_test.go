package loopback

import (
	"errors"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

// Where netlink is unavailable, /proc/net/tcp refuses another user just
// the same.
func TestOtherUserIsRefusedByTheProcFallback(t *testing.T) {
	viaProcOnly := func(local, remote *net.TCPAddr) (int, error) { return procUID(remote, local) }
	ln, addr := serve(t, Options{lookup: viaProcOnly})
	out, err := asOtherUser(t, "request", addr).Output()
	if err != nil || !strings.HasPrefix(string(out), "read 0 bytes") {
		t.Fatalf("another user got an answer (%v): %s", err, out)
	}
	if body, err := get(addr); err != nil || body != "secret" || ln.Refused() != 1 {
		t.Fatalf("own request: %q, %v (%d refused)", body, err, ln.Refused())
	}
}

// The kernel's two tables agree on who owns a socket, and a socket that is
// gone has no owner.
func TestLookupsAgreeAndAGoneClientHasNoOwner(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	local, remote := server.LocalAddr().(*net.TCPAddr), server.RemoteAddr().(*net.TCPAddr)
	uid, err := new(peerLookup).uid(local, remote)
	if err != nil || uid != os.Getuid() {
		t.Fatalf("peer lookup: %d, %v; want %d", uid, err, os.Getuid())
	}
	for name, lookup := range map[string]func(src, dst *net.TCPAddr) (int, error){"netlink": diagUID, "proc": procUID} {
		if uid, err := lookup(remote, local); err != nil || uid != os.Getuid() {
			t.Errorf("%s: owner of the client end %d, %v; want %d", name, uid, err, os.Getuid())
		}
	}
	// Reset: the client socket is destroyed at once.
	client.(*net.TCPConn).SetLinger(0)
	client.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := diagUID(remote, local)
		if errors.Is(err, errGone) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a reset client still has an owner: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := procUID(remote, local); !errors.Is(err, errGone) {
		t.Errorf("proc: a reset client: %v, want errGone", err)
	}
}

func TestProcAddrMatchesTheKernelsTable(t *testing.T) {
	// Lines of /proc/net/tcp on a little-endian machine: 127.0.0.1:46140 -> 127.0.0.1:3456, uid 1000.
	table := `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:0D80 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 1 1 0000000000000000 100 0 0 10 0
   1: 0100007F:B43C 0100007F:0D80 01 00000000:00000000 00:00000000 00000000  1000        0 2 1 0000000000000000 20 4 30 10 -1`
	client := &net.TCPAddr{IP: net.ParseIP("127.0.0.1"), Port: 46140}
	server := &net.TCPAddr{IP: net.ParseIP("127.0.0.1"), Port: 3456}
	uid, inode, ok := findSocketOwner(table, procAddr(client, true), procAddr(server, true))
	if !ok || uid != 1000 || inode != 2 {
		t.Fatalf("owner of %s: %d %d %v (addresses %s %s)", client, uid, inode, ok, procAddr(client, true), procAddr(server, true))
	}
	if got := procAddr(&net.TCPAddr{IP: net.IPv6loopback, Port: 3456}, false); got != "00000000000000000000000001000000:0D80" {
		t.Errorf("::1 as /proc/net/tcp6 writes it: %s", got)
	}
}
