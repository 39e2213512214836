package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentos/agentos/broker"
	"github.com/agentos/agentos/engine/wire"
	"github.com/agentos/agentos/internal/testkit"
)

// fetchTools is a hostile skill's tools.py: it fetches what it is told,
// with the headers it is told (a browser's, forged), and reports either the
// response or the op's error.
const fetchTools = `from agentos import tool, http, OpError

@tool
def fetch(url: str, headers: dict = None) -> dict:
    try:
        r = http.get(url, headers=headers or {})
    except OpError as e:
        return {"kind": e.kind, "message": e.message}
    return {"status": r.status, "text": r.text}
`

type fetched struct {
	Kind    string `json:"kind"`
	Message string `json:"message"`
	Status  int    `json:"status"`
	Text    string `json:"text"`
}

// The http op of the real engine, run by skills as an attacker writes
// them, against real listeners on 127.0.0.1: the engine's own bridge and
// its token stay out of reach whatever the skill's allowed-tools say,
// http(*) reaches no loopback or metadata address, a redirect into
// loopback and a name that resolves to loopback are refused, an explicit
// host:port grant reaches that port only, and every refusal is in the
// audit log as not allowed.
func TestTheHTTPOpNeverReachesTheEngineOrLocalAddressesUnlessNamed(t *testing.T) {
	home := testkit.Home(t)
	d, bridgeURL := startDaemonBridge(t, home)
	waitBridge(t, bridgeURL)
	bridgeHP := strings.TrimPrefix(bridgeURL, "http://")
	_, bridgePort, _ := strings.Cut(bridgeHP, ":")
	tok, err := os.ReadFile(home + "/bridge.token")
	if err != nil {
		t.Fatal(err)
	}
	token := strings.TrimSpace(string(tok))

	var insideHits atomic.Int64
	inside := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		insideHits.Add(1)
		fmt.Fprint(w, "the inside service")
	}))
	defer inside.Close()
	insideHP := strings.TrimPrefix(inside.URL, "http://")
	_, insidePort, _ := strings.Cut(insideHP, ":")
	var redirectTo atomic.Value
	allowed := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hop" {
			http.Redirect(w, r, redirectTo.Load().(string), http.StatusFound)
			return
		}
		fmt.Fprint(w, "an allowed page")
	}))
	defer allowed.Close()
	allowedHP := strings.TrimPrefix(allowed.URL, "http://")

	// The thief: http(localhost), and one that names the bridge
	// exactly, by address and by name.
	testkit.AddSkill(t, home, "thief", "http(localhost localhost:"+bridgePort+" "+bridgeHP+")", fetchTools)
	testkit.AddSkill(t, home, "reader", "http(*)", fetchTools)
	testkit.AddSkill(t, home, "granted", "http(* "+allowedHP+")", fetchTools)
	c := d.client(t)
	call(t, c, "skills.reload", nil, nil)

	run := func(t *testing.T, skill, url string, headers map[string]string) fetched {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		var out fetched
		if err := c.Call(ctx, "skills.run", map[string]any{"skill": skill, "tool": "fetch", "params": map[string]any{"url": url, "headers": headers}}, &out); err != nil {
			t.Fatalf("skills.run %s %s: %v", skill, url, err)
		}
		if strings.Contains(out.Text, token) {
			t.Fatalf("%s got the bridge token from %s", skill, url)
		}
		return out
	}
	denied := func(t *testing.T, got fetched, entry string) {
		t.Helper()
		if got.Kind != string(wire.KindDenied) || !strings.Contains(got.Message, entry) || strings.Contains(got.Message, "key=") {
			t.Fatalf("got %+v, want denied naming %s and not the query", got, entry)
		}
	}
	browser := map[string]string{"Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "navigate", "Origin": bridgeURL, "Authorization": "Bearer guess"}

	t.Run("an http(localhost) skill reaches neither the bridge nor its token", func(t *testing.T) {
		for _, u := range []string{
			bridgeURL + "/sdk.js?key=1",
			bridgeURL + "/?key=1",
			"http://localhost:" + bridgePort + "/?key=1",
			"http://LOCALHOST.:" + bridgePort + "/sdk.js?key=1",
			"http://[::ffff:127.0.0.1]:" + bridgePort + "/?key=1",
			"http://0.0.0.0:" + bridgePort + "/?key=1",
		} {
			got := run(t, "thief", u, browser)
			if got.Kind != string(wire.KindDenied) {
				t.Fatalf("%s: %+v, want denied", u, got)
			}
		}
		got := run(t, "thief", bridgeURL+"/", browser)
		if !strings.Contains(got.Message, "the engine's own bridge") {
			t.Fatalf("the bridge named exactly: %+v", got)
		}
		// http(localhost) has no port: it reaches no local service at all.
		denied(t, run(t, "thief", "http://localhost:"+insidePort+"/?key=1", nil), "add http(localhost:"+insidePort+")")
	})

	t.Run("http(*) reaches no loopback or metadata address", func(t *testing.T) {
		denied(t, run(t, "reader", inside.URL+"/?key=1", nil), "add http("+insideHP+")")
		denied(t, run(t, "reader", "http://169.254.169.254/latest/meta-data/?key=1", nil), "add http(169.254.169.254:80)")
		denied(t, run(t, "reader", "http://metadata.google.internal/?key=1", nil), "add http(metadata.google.internal:80)")
		denied(t, run(t, "reader", "http://[::1]:"+insidePort+"/?key=1", nil), "add http([::1]:"+insidePort+")")
	})

	t.Run("a DNS name that resolves to loopback is refused", func(t *testing.T) {
		// localhost.localdomain and ip6-localhost resolve through
		// /etc/hosts where they exist; "localhost" itself always does.
		for _, name := range []string{"localhost", "localhost.localdomain"} {
			got := run(t, "reader", "http://"+name+":"+insidePort+"/?key=1", nil)
			if got.Kind == "" {
				t.Fatalf("%s reached the inside service: %+v", name, got)
			}
			if got.Kind != string(wire.KindDenied) && !strings.Contains(got.Message, "no such host") {
				t.Fatalf("%s: %+v", name, got)
			}
		}
		got := run(t, "reader", "http://localhost:"+insidePort+"/", nil)
		denied(t, got, "add http(localhost:"+insidePort+")")
	})

	t.Run("a redirect from an allowed host into loopback is refused", func(t *testing.T) {
		for _, to := range []struct{ url, entry string }{
			{inside.URL + "/?key=1", "add http(" + insideHP + ")"},
			{"http://localhost:" + insidePort + "/?key=1", "add http(localhost:" + insidePort + ")"},
			{bridgeURL + "/?key=1", "add http(" + bridgeHP + ")"},
			{"http://169.254.169.254/?key=1", "add http(169.254.169.254:80)"},
		} {
			redirectTo.Store(to.url)
			got := run(t, "granted", allowed.URL+"/hop", nil)
			denied(t, got, to.entry)
		}
	})

	t.Run("an explicit host:port grant reaches that port only, and legit http works", func(t *testing.T) {
		got := run(t, "granted", allowed.URL+"/page", nil)
		if got.Kind != "" || got.Status != 200 || got.Text != "an allowed page" {
			t.Fatalf("within scope: %+v", got)
		}
		_, allowedPort, _ := strings.Cut(allowedHP, ":")
		denied(t, run(t, "granted", "http://localhost:"+allowedPort+"/?key=1", nil), "add http(localhost:"+allowedPort+")")
		denied(t, run(t, "granted", inside.URL+"/?key=1", nil), "add http("+insideHP+")")
	})

	if n := insideHits.Load(); n != 0 {
		t.Fatalf("%d requests reached the inside service", n)
	}

	// Every refusal is audited as not allowed, the query never with it.
	f, err := os.Open(wire.PathsFor(home).AuditLog)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var allowedN, deniedN int
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r broker.AuditRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("audit line %q: %v", sc.Text(), err)
		}
		if strings.Contains(sc.Text(), "key=") || strings.Contains(sc.Text(), token) {
			t.Fatalf("the audit log holds a query or the token: %s", sc.Text())
		}
		if r.Op != broker.OpNameHTTPRequest {
			continue
		}
		switch {
		case r.Allowed && r.Error == "":
			allowedN++
		case !r.Allowed && strings.Contains(r.Error, "skill "+r.Skill+" may not "):
			deniedN++
		case r.Allowed && strings.Contains(r.Error, "no such host"): // a name this machine does not know
		default:
			t.Errorf("audit record %+v: a failure audited as allowed, or a denial without its reason", r)
		}
	}
	if allowedN != 1 || deniedN < 20 {
		t.Fatalf("audit: %d allowed, %d denied http ops", allowedN, deniedN)
	}
}

// A running `agentos mcp --http` proxy of this home is as far out of a
// skill's reach as the bridge, even for a skill whose allowed-tools name its
// address exactly: through it a skill would call every tool with the MCP
// client's authority. Once the proxy is gone, its address is an ordinary one.
func TestTheHTTPOpNeverReachesThisHomesMCPProxy(t *testing.T) {
	home := testkit.Home(t)
	d := startDaemon(t, home)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	testkit.AddSkill(t, home, "prober", "http("+addr+")", fetchTools)
	c := d.client(t)
	call(t, c, "skills.reload", nil, nil)

	proxy := exec.Command(binPath, "mcp", "--no-autostart", "--http", addr)
	proxy.Env = append(os.Environ(), "AGENTOS_HOME="+home)
	if err := proxy.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { proxy.Process.Kill(); proxy.Wait() })
	deadline := time.Now().Add(20 * time.Second)
	for len(wire.Listeners(wire.PathsFor(home))) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("agentos mcp --http never announced its listener")
		}
		time.Sleep(50 * time.Millisecond)
	}
	fetch := func() fetched {
		t.Helper()
		var out fetched
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := c.Call(ctx, "skills.run", map[string]any{"skill": "prober", "tool": "fetch", "params": map[string]any{"url": "http://" + addr + "/mcp"}}, &out); err != nil {
			t.Fatalf("skills.run: %v", err)
		}
		return out
	}
	if got := fetch(); got.Kind != string(wire.KindDenied) || !strings.Contains(got.Message, "mcp proxy") {
		t.Fatalf("the MCP proxy's address, named exactly: %+v, want denied naming the mcp proxy", got)
	}

	// Gone (killed, so it could not remove its record): the address is the
	// skill's to reach again, here a plain server the test starts on it.
	proxy.Process.Kill()
	proxy.Wait()
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "someone else") })}
	var ln net.Listener
	for i := 0; i < 100; i++ {
		if ln, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Close()
	if got := fetch(); got.Status != 200 || got.Text != "someone else" {
		t.Fatalf("after the proxy exited: %+v, want the new server's page", got)
	}
	if left := wire.Listeners(wire.PathsFor(home)); len(left) != 0 {
		t.Errorf("the dead proxy's record is still listed: %+v", left)
	}
}
