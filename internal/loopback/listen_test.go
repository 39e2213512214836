package loopback

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// serve answers "secret" on a Listen listener until the test ends.
func serve(t *testing.T, opts Options) (*Listener, string) {
	t.Helper()
	ln, err := Listen(context.Background(), "127.0.0.1:0", opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "secret")
	}), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-served; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
	})
	return ln, ln.Addr().String()
}

// get makes one request on a new connection (each one goes through the
// peer check).
func get(addr string) (string, error) {
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	res, err := c.Get("http://" + addr + "/")
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return string(b), err
}

func TestListenRefusesNonLoopbackAddresses(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "192.0.2.1:3456", "[::]:0", "example.com:80", "localhost"} {
		if ln, err := Listen(context.Background(), addr, Options{}); err == nil {
			ln.Close()
			t.Errorf("Listen(%q) accepted a non-loopback address", addr)
		} else if addr != "localhost" && !errors.Is(err, ErrNotLoopback) {
			t.Errorf("Listen(%q): %v, want ErrNotLoopback", addr, err)
		}
	}
	for _, addr := range []string{"127.0.0.1:0", "localhost:0", "127.0.0.2:0"} {
		ln, err := Listen(context.Background(), addr, Options{})
		if err != nil {
			t.Errorf("Listen(%q): %v", addr, err)
			continue
		}
		ln.Close()
	}
}

func TestOwnConnectionsPass(t *testing.T) {
	ln, addr := serve(t, Options{})
	for range 20 {
		if body, err := get(addr); err != nil || body != "secret" {
			t.Fatalf("own request: %q, %v", body, err)
		}
	}
	if n := ln.Refused(); n != 0 {
		t.Fatalf("%d of our own connections refused", n)
	}
}

func TestIPv6LoopbackOwnConnectionsPass(t *testing.T) {
	ln, err := Listen(context.Background(), "[::1]:0", Options{})
	if err != nil {
		t.Skipf("no IPv6 loopback here: %v", err)
	}
	ln.Close()
	ln2, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skip(err)
	}
	l := SameUser(ln2, Options{})
	defer l.Close()
	go func() {
		c, err := net.Dial("tcp", l.Addr().String())
		if err == nil {
			defer c.Close()
			io.WriteString(c, "hi")
			io.Copy(io.Discard, c)
		}
	}()
	c, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 2)
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "hi" {
		t.Fatalf("read %q, %v", buf, err)
	}
}

// Another account's program gets its connection reset, nothing read and
// nothing answered.
func TestOtherUserIsRefused(t *testing.T) {
	ln, addr := serve(t, Options{})
	out, err := asOtherUser(t, "request", addr).Output()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if strings.Contains(string(out), "secret") || !strings.HasPrefix(string(out), "read 0 bytes") {
		t.Fatalf("another user got an answer: %s", out)
	}
	t.Logf("as nobody: %s", strings.TrimSpace(string(out)))
	if ln.Refused() == 0 {
		t.Fatal("no refusal counted")
	}
	if body, err := get(addr); err != nil || body != "secret" {
		t.Fatalf("own request after: %q, %v", body, err)
	}
}

// A flood of another account's connects does not keep the owner from
// being answered (issue 9: thousands of connects used to leave the owner
// with no answers during the flood and for a minute after).
func TestOwnerIsAnsweredDuringAnotherUsersConnectFlood(t *testing.T) {
	ln, addr := serve(t, Options{})
	startFlood(t, addr)
	for i := range 100 {
		if body, err := get(addr); err != nil || body != "secret" {
			t.Fatalf("own request %d during the flood (%d refused so far): %q, %v", i, ln.Refused(), body, err)
		}
	}
	during := ln.Refused()
	if during == 0 {
		t.Fatal("the flood was not refused")
	}
	t.Logf("%d of the other user's connections refused while the owner made 100 requests", during)
}

func TestCloseEndsAccept(t *testing.T) {
	ln, err := Listen(context.Background(), "127.0.0.1:0", Options{})
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { _, err := ln.Accept(); errc <- err }()
	ln.Close()
	if err := <-errc; !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Accept after Close: %v", err)
	}
	if _, err := net.Dial("tcp", ln.Addr().String()); err == nil {
		t.Error(fmt.Errorf("%s still accepts connections after Close", ln.Addr()))
	}
}
