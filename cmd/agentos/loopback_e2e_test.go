package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/agentos/agentos/internal/testkit"
	"github.com/mark3labs/mcp-go/mcp"
)

// End-to-end tests of the loopback listeners (internal/loopback) as another
// account on the machine would attack them: uid nobody, with a Python
// program (stdlib only) doing what any local program can.

// nobody is the credential of another account; these tests run only as
// root, which can start a process as another user.
func nobody(t *testing.T) *syscall.Credential {
	t.Helper()
	if os.Getuid() != 0 {
		t.Skip("needs root, to run a program as another user (nobody)")
	}
	if _, err := os.Stat("/usr/bin/python3"); err != nil {
		t.Skip("needs /usr/bin/python3 for the other user's program")
	}
	return &syscall.Credential{Uid: 65534, Gid: 65534}
}

// rawExchange sends the request on stdin as it is to host:port and writes
// back every byte of the answer; a reset or closed connection writes none.
const rawExchange = `
import socket, sys
host, port = sys.argv[1], int(sys.argv[2])
req = sys.stdin.buffer.read()
data = b""
try:
    s = socket.create_connection((host, port), timeout=10)
    s.sendall(req)
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
except OSError as e:
    sys.stderr.write("connection: %s\n" % e)
sys.stdout.buffer.write(data)
`

// connectFlood connects from 32 threads until stdin closes; half of them
// send a request and wait for the answer. It prints "flooding" once
// connects go through, and at the end how many were made and answered.
const connectFlood = `
import socket, sys, threading
host, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
req = ("GET %s HTTP/1.1\r\nHost: %s:%d\r\n\r\n" % (path, host, port)).encode()
stop, started, lock = threading.Event(), threading.Event(), threading.Lock()
counts = {"connects": 0, "answered": 0}
def run(i):
    while not stop.is_set():
        try:
            s = socket.create_connection((host, port), timeout=5)
        except OSError:
            continue
        with lock:
            counts["connects"] += 1
        started.set()
        try:
            if i % 2 == 0:
                s.sendall(req)
                if s.recv(65536):
                    with lock:
                        counts["answered"] += 1
        except OSError:
            pass
        s.close()
threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(32)]
for th in threads:
    th.start()
started.wait(30)
print("flooding", flush=True)
sys.stdin.read()
stop.set()
for th in threads:
    th.join(10)
print("connects %d answered %d" % (counts["connects"], counts["answered"]), flush=True)
`

// python runs script with args, as cred (nil: as ourselves).
func python(cred *syscall.Credential, script string, args ...string) *exec.Cmd {
	cmd := exec.Command("/usr/bin/python3", append([]string{"-I", "-c", script}, args...)...)
	cmd.Env = []string{"PATH=/usr/bin:/bin"}
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	return cmd
}

// exchange sends a raw HTTP request to u's host as cred and returns the
// answer's bytes (none when the connection was refused) and stderr.
func exchange(t *testing.T, cred *syscall.Credential, u *url.URL, req []byte) ([]byte, string) {
	t.Helper()
	cmd := python(cred, rawExchange, u.Hostname(), u.Port())
	cmd.Stdin = bytes.NewReader(req)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("exchange as %v: %v\n%s", cred, err, stderr.String())
	}
	return out, stderr.String()
}

// sessionProtocol is the MCP revision these raw requests speak: one with
// sessions, whose requests need no per-request metadata.
const sessionProtocol = mcp.ProtocolVersion20250618

// mcpPost is a Streamable HTTP request carrying one JSON-RPC message.
func mcpPost(u *url.URL, session, body string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\n", u.Path, u.Host)
	if session != "" {
		fmt.Fprintf(&b, "Mcp-Session-Id: %s\r\nMcp-Protocol-Version: %s\r\n", session, sessionProtocol)
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\nConnection: close\r\n\r\n%s", len(body), body)
	return []byte(b.String())
}

func parseAnswer(t *testing.T, raw []byte) (*http.Response, string) {
	t.Helper()
	res, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(raw)), nil)
	if err != nil {
		t.Fatalf("answer: %v\n%.500s", err, raw)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res, string(body)
}

// Another account cannot use `agentos mcp --http` at all: not initialize,
// and not call read on a session of the owner's whose id it learned. The
// owner's same requests, from the same program, work. (Issue 9: uid nobody
// called tools/call read.)
func TestLoopbackMCPHTTPRefusesAnotherUser(t *testing.T) {
	other := nobody(t)
	home := testkit.Home(t)
	d := startDaemon(t, home)
	call(t, d.client(t), "data.create", map[string]any{"shape": "note", "fields": map[string]any{"title": "owner-only-secret"}}, nil)
	raw, logs := mcpHTTP(t, home)
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	initBody := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"` + sessionProtocol + `","capabilities":{},"clientInfo":{"name":"t","version":"0"}}}`
	readBody := `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"read","arguments":{"shape":"note"}}}`

	out, stderr := exchange(t, other, u, mcpPost(u, "", initBody))
	if len(out) != 0 {
		t.Fatalf("another user's initialize was answered:\n%.500s", out)
	}
	t.Logf("initialize as nobody: %s", strings.TrimSpace(stderr))

	out, _ = exchange(t, nil, u, mcpPost(u, "", initBody))
	res, body := parseAnswer(t, out)
	session := res.Header.Get("Mcp-Session-Id")
	if res.StatusCode != http.StatusOK || session == "" || !strings.Contains(body, "serverInfo") {
		t.Fatalf("the owner's initialize: %d session %q\n%s\nmcp logs:\n%s", res.StatusCode, session, body, logs())
	}
	exchange(t, nil, u, mcpPost(u, session, `{"jsonrpc":"2.0","method":"notifications/initialized"}`))

	out, _ = exchange(t, other, u, mcpPost(u, session, readBody))
	if len(out) != 0 || bytes.Contains(out, []byte("owner-only-secret")) {
		t.Fatalf("another user's tools/call read on the owner's session was answered:\n%.500s", out)
	}
	out, _ = exchange(t, nil, u, mcpPost(u, session, readBody))
	if res, body := parseAnswer(t, out); res.StatusCode != http.StatusOK || !strings.Contains(body, "owner-only-secret") {
		t.Fatalf("the owner's tools/call read: %d\n%s\nmcp logs:\n%s", res.StatusCode, body, logs())
	}
	if !strings.Contains(logs(), "connection refused: not made by this user") {
		t.Errorf("mcp did not log the refusal:\n%s", logs())
	}
}

// startConnectFlood runs connectFlood as another user against u until the
// test ends, when it checks that none of its requests was answered.
func startConnectFlood(t *testing.T, cred *syscall.Credential, u *url.URL, path string) {
	t.Helper()
	cmd := python(cred, connectFlood, u.Hostname(), u.Port(), path)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
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
		var connects, answered int
		for lines.Scan() {
			fmt.Sscanf(lines.Text(), "connects %d answered %d", &connects, &answered)
		}
		cmd.Wait()
		t.Logf("flood as nobody: %d connects, %d answered", connects, answered)
		if connects == 0 || answered != 0 {
			t.Errorf("flood: %d connects, %d answered; want some connects and no answer", connects, answered)
		}
	})
}

// The owner is answered while another account floods the listener with
// connects (issue 9: 4,509 connects in 15 s left the owner with no answers
// during the flood and for 87 s after). Every request uses a new
// connection, so each one goes through the peer check behind the flood's.
func TestLoopbackOwnerAnsweredDuringAnotherUsersConnectFlood(t *testing.T) {
	other := nobody(t)
	home := testkit.Home(t)
	d, bridgeURL := startDaemonBridge(t, home)
	call(t, d.client(t), "data.create", map[string]any{"shape": "note", "fields": map[string]any{"title": "flood"}}, nil)
	mcpURL, _ := mcpHTTP(t, home)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

	t.Run("bridge", func(t *testing.T) {
		u, _ := url.Parse(bridgeURL)
		startConnectFlood(t, other, u, "/api/nodes?shape=note")
		for i := range 100 {
			res, err := client.Get(bridgeURL + "/api/nodes?shape=note")
			if err != nil {
				t.Fatalf("owner's request %d during the flood: %v", i, err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusOK || !strings.Contains(string(body), "flood") {
				t.Fatalf("owner's request %d during the flood: %d %.300s", i, res.StatusCode, body)
			}
		}
	})
	t.Run("mcp", func(t *testing.T) {
		u, _ := url.Parse(mcpURL)
		startConnectFlood(t, other, u, u.Path)
		initBody := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"` + mcp.LATEST_PROTOCOL_VERSION + `","capabilities":{},"clientInfo":{"name":"t","version":"0"}}}`
		for i := range 100 {
			req, _ := http.NewRequest(http.MethodPost, mcpURL, strings.NewReader(initBody))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/json, text/event-stream")
			res, err := client.Do(req)
			if err != nil {
				t.Fatalf("owner's initialize %d during the flood: %v", i, err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusOK || !strings.Contains(string(body), "serverInfo") {
				t.Fatalf("owner's initialize %d during the flood: %d %.300s", i, res.StatusCode, body)
			}
		}
	})
}
