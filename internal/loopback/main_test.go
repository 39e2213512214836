package loopback

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestMain doubles as the other user's program: with LOOPBACK_TEST_CHILD
// set, the test binary is the attacker (run as uid nobody by asOtherUser)
// and does what that says instead of running tests.
func TestMain(m *testing.M) {
	if mode := os.Getenv("LOOPBACK_TEST_CHILD"); mode != "" {
		os.Exit(child(mode, os.Getenv("LOOPBACK_TEST_ADDR")))
	}
	os.Exit(m.Run())
}

// child: "request" sends an HTTP request and prints what came back;
// "flood" connects and closes from 32 goroutines until stdin closes,
// printing "flooding" once it has started and the count at the end.
func child(mode, addr string) int {
	switch mode {
	case "request":
		c, err := net.DialTimeout("tcp", addr, 10*time.Second)
		if errors.Is(err, syscall.ECONNRESET) { // the reset came before connect returned
			fmt.Printf("read 0 bytes (dial: %v)\n", err)
			return 0
		}
		if err != nil {
			fmt.Println("dial:", err)
			return 2
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		fmt.Fprintf(c, "GET /secret HTTP/1.1\r\nHost: %s\r\n\r\n", addr)
		data, err := io.ReadAll(c)
		fmt.Printf("read %d bytes (%v): %q\n", len(data), err, data)
		return 0
	case "flood":
		var n atomic.Int64
		stop := make(chan struct{})
		go func() { io.Copy(io.Discard, os.Stdin); close(stop) }()
		var wg sync.WaitGroup
		for g := range 32 {
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					c, err := net.DialTimeout("tcp", addr, 5*time.Second)
					if err != nil {
						continue
					}
					if n.Add(1) == 1 {
						fmt.Println("flooding")
					}
					if g%2 == 0 { // half of them ask, and wait to be refused
						c.SetDeadline(time.Now().Add(5 * time.Second))
						fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: %s\r\n\r\n", addr)
						io.Copy(io.Discard, c)
					}
					c.Close()
				}
			})
		}
		wg.Wait()
		fmt.Println("connects", n.Load())
		return 0
	}
	return 3
}

// otherUser is the uid and gid of nobody; tests about other users skip
// unless we are root (and so can run a process as nobody).
func otherUser(t *testing.T) *syscall.Credential {
	t.Helper()
	if os.Getuid() != 0 {
		t.Skip("needs root, to run a process as another user (nobody)")
	}
	u, err := user.Lookup("nobody")
	if err != nil {
		t.Skipf("no user nobody: %v", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
}

// asOtherUser prepares this test binary, copied where nobody can run it,
// to run as nobody in the given child mode against addr.
func asOtherUser(t *testing.T, mode, addr string) *exec.Cmd {
	t.Helper()
	cred := otherUser(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "loopback-child")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	bin := filepath.Join(dir, "child")
	data, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin)
	cmd.Env = []string{"LOOPBACK_TEST_CHILD=" + mode, "LOOPBACK_TEST_ADDR=" + addr}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	cmd.Stderr = os.Stderr
	return cmd
}

// startFlood runs a flood as nobody until the test ends, and returns once
// its first connect is made.
func startFlood(t *testing.T, addr string) {
	t.Helper()
	cmd := asOtherUser(t, "flood", addr)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(stdout)
	if !lines.Scan() || lines.Text() != "flooding" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("the flood did not start: %q", lines.Text())
	}
	t.Cleanup(func() {
		stdin.Close()
		for lines.Scan() {
			if strings.HasPrefix(lines.Text(), "connects") {
				t.Logf("flood as nobody: %s", lines.Text())
			}
		}
		cmd.Wait()
	})
}
