package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/agentos/agentos/internal/testkit"

	"github.com/agentos/agentos/bridge"
	"github.com/agentos/agentos/graph"
)

func httpGet(t *testing.T, url string) (int, []byte) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, body
}

// agentos engine serves the bridge: a write made with the CLI reads back
// over HTTP, an app call with the token lands in the graph, the status
// names the URL, and stopping the engine closes the port.
func TestEngineServesTheBridge(t *testing.T) {
	home := testkit.Home(t)
	d, url := startDaemonBridge(t, home)
	if r := agentos(t, home, "status"); !strings.Contains(r.stdout, url) {
		t.Errorf("agentos status does not name the bridge %s:\n%s", url, r.stdout)
	}
	r := agentos(t, home, "call", "data.create", `{"shape":"note","fields":{"title":"made by the CLI"}}`, "--json")
	var created graph.Node
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &created) != nil {
		t.Fatalf("create: %+v", r)
	}
	status, body := httpGet(t, url+"/api/nodes/"+created.ID)
	if status != 200 || !strings.Contains(string(body), "made by the CLI") {
		t.Fatalf("GET node: %d %s", status, body)
	}
	status, body = httpGet(t, url+"/")
	if status != 200 || !strings.Contains(string(body), "<html") {
		t.Errorf("GET /: %d %.200s", status, body)
	}

	tok, err := os.ReadFile(bridge.TokenPath(home))
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", url+"/api/call", strings.NewReader(`{"method":"data.create","params":{"shape":"task","fields":{"title":"made by an app"}}}`))
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(tok)))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("app call: %d", res.StatusCode)
	}
	if r := agentos(t, home, "read", "task", "--json"); !strings.Contains(r.stdout, "made by an app") {
		t.Errorf("the app's task is not in the graph: %+v", r)
	}

	d.stop()
	if c, err := net.DialTimeout("tcp", strings.TrimPrefix(url, "http://"), time.Second); err == nil {
		c.Close()
		t.Error("the bridge port is still open after the engine stopped")
	}
}

// A taken bridge port costs the web UI, not the engine.
func TestEngineRunsWhenTheBridgePortIsTaken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	home := testkit.Home(t)
	d := startDaemonArgs(t, home, "--bridge-addr", ln.Addr().String())
	// status says the bridge is not served, and why, rather than leaving it out.
	if r := agentos(t, home, "status"); r.code != 0 || !strings.Contains(r.stdout, "not serving: ") || !strings.Contains(r.stdout, "address already in use") {
		t.Errorf("status with no bridge: %+v", r)
	}
	d.stop()
	if logs := d.logs.String(); !strings.Contains(logs, "runs without its bridge") {
		t.Errorf("no warning about the bridge port:\n%s", logs)
	}
}

// agentos bridge serves an engine started without one, and refuses to
// listen beyond loopback.
func TestStandaloneBridge(t *testing.T) {
	home := testkit.Home(t)
	startDaemon(t, home)
	if r := agentos(t, home, "bridge", "--addr", "0.0.0.0:0"); r.code != 1 || !strings.Contains(r.stderr, "not loopback") {
		t.Errorf("non-loopback address: %+v", r)
	}
	cmd := exec.Command(binPath, "bridge", "--addr", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "AGENTOS_HOME="+home)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	lines := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(out).ReadString('\n')
		lines <- line
	}()
	var url string
	select {
	case line := <-lines:
		_, rest, _ := strings.Cut(line, "http://")
		url = "http://" + strings.Fields(rest)[0]
	case <-time.After(20 * time.Second):
		t.Fatal("agentos bridge printed no address")
	}
	status, body := httpGet(t, url+"/healthz")
	if status != 200 || !strings.Contains(string(body), `"engine":true`) {
		t.Fatalf("healthz: %d %s", status, body)
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("agentos bridge exit on SIGTERM: %v", err)
		}
	case <-ctx.Done():
		t.Fatal("agentos bridge did not stop on SIGTERM")
	}
}

// A token file the bridge would refuse is found before the engine starts:
// the engine runs without a bridge and says why, rather than naming a URL
// where nothing answers.
func TestEngineWithAnUnsafeTokenRunsWithoutItsBridge(t *testing.T) {
	home := testkit.Home(t)
	if err := os.WriteFile(bridge.TokenPath(home), []byte(strings.Repeat("a", 64)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	d := startDaemonArgs(t, home, "--bridge-addr", "127.0.0.1:0")
	// status names no URL, but says the bridge is not served and why.
	if r := agentos(t, home, "status"); r.code != 0 || strings.Contains(r.stdout, "http://") || !strings.Contains(r.stdout, "not serving: ") ||
		!strings.Contains(r.stdout, "readable by other users") {
		t.Errorf("status with a bridge that cannot start: %+v", r)
	}
	d.stop()
	if logs := d.logs.String(); !strings.Contains(logs, "readable by other users") || !strings.Contains(logs, "without its bridge") {
		t.Errorf("no warning about the token:\n%s", logs)
	}
}
