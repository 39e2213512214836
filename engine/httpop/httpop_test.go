package httpop

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/agentos/agentos/broker"
)

// target is a real listener on 127.0.0.1 that counts the requests reaching it.
type target struct {
	*httptest.Server
	hits atomic.Int64
}

func newTarget(t *testing.T, h http.HandlerFunc) *target {
	t.Helper()
	tg := &target{}
	tg.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tg.hits.Add(1)
		if h != nil {
			h(w, r)
			return
		}
		w.Write([]byte("secret stuff of " + r.Host))
	}))
	t.Cleanup(tg.Close)
	return tg
}

func (tg *target) hostPort() string { return strings.TrimPrefix(tg.URL, "http://") }

func (tg *target) port() string {
	_, p, _ := net.SplitHostPort(tg.hostPort())
	return p
}

// httpFixture is one call's http op behind the real gate and audit log,
// as the engine builds it for a skill with the given allowed-tools.
type httpFixture struct {
	ops       broker.OpHandler
	net       *Net
	auditPath string
}

func newHTTPFixture(t *testing.T, allowed string, own ...broker.Listener) *httpFixture {
	t.Helper()
	perms, err := broker.ParsePermissions(allowed)
	if err != nil {
		t.Fatal(err)
	}
	sk := &broker.Skill{ID: "attacker", Permissions: perms}
	path := filepath.Join(t.TempDir(), "engine-io.jsonl")
	audit, err := broker.OpenAuditLog(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { audit.Close() })
	n := New(sk, own, "test")
	return &httpFixture{ops: broker.NewGate(audit, nil).Wrap(sk, "steal", "c1", httpOnly{n}), net: n, auditPath: path}
}

// httpOnly answers the http op with n, as the engine's op handler does.
type httpOnly struct{ n *Net }

func (h httpOnly) HandleOp(ctx context.Context, op broker.Op) (json.RawMessage, error) {
	res, err := h.n.Request(ctx, op.Params)
	if err != nil {
		return nil, err
	}
	return json.Marshal(res)
}
func (httpOnly) Progress(float64, float64, string, string) {}
func (httpOnly) Log(string, string)                        {}

func (f *httpFixture) get(t *testing.T, url string) (map[string]any, error) {
	t.Helper()
	b, _ := json.Marshal(map[string]any{"url": url})
	raw, err := f.ops.HandleOp(context.Background(), broker.Op{ID: "o1", Name: broker.OpNameHTTPRequest, Params: b})
	if err != nil {
		return nil, err
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	return out, nil
}

// audit is the audit log's lines.
func (f *httpFixture) audit(t *testing.T) []broker.AuditRecord {
	t.Helper()
	fh, err := os.Open(f.auditPath)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	var out []broker.AuditRecord
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		var r broker.AuditRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

// wantDenied fails unless err is a denial naming entry, and the attempt is
// audited as not allowed, the URL's query in neither.
func (f *httpFixture) wantDenied(t *testing.T, err error, entry string) {
	t.Helper()
	if !errors.Is(err, broker.ErrDenied) {
		t.Fatalf("got %v, want denied", err)
	}
	if !strings.Contains(err.Error(), "add "+entry) || !strings.Contains(err.Error(), " to allowed-tools in its SKILL.md, or grant it in config.yaml under skills.") {
		t.Fatalf("the denial does not name %s: %v", entry, err)
	}
	recs := f.audit(t)
	last := recs[len(recs)-1]
	if last.Allowed || last.Error == "" {
		t.Fatalf("audited as %+v", last)
	}
	b, _ := os.ReadFile(f.auditPath)
	if strings.Contains(err.Error()+string(b), "key=") {
		t.Fatalf("the query leaked: %v\n%s", err, b)
	}
}

// pretendPublic makes name resolve to a public-looking address (TEST-NET-3)
// whose connections land on tg: the only way a test on one machine has a
// "public" host that redirects.
func (f *httpFixture) pretendPublic(name string, tg *target) {
	fake := netip.MustParseAddr("203.0.113.10")
	f.net.lookup = func(ctx context.Context, host string) ([]netip.Addr, error) {
		switch host {
		case name:
			return []netip.Addr{fake}, nil
		case "rebind.example":
			return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
		}
		return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	}
	f.net.dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if ap, err := netip.ParseAddrPort(addr); err == nil && ap.Addr() == fake {
			addr = tg.hostPort()
		}
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}
}

func TestHTTPStarDoesNotReachLoopbackOrMetadata(t *testing.T) {
	inside := newTarget(t, nil)
	f := newHTTPFixture(t, "http(*)")
	for _, u := range []string{
		inside.URL + "/?key=1",
		"http://localhost:" + inside.port() + "/?key=1",
		"http://LOCALHOST.:" + inside.port() + "/?key=1",
		"http://[::ffff:127.0.0.1]:" + inside.port() + "/?key=1",
		"http://0.0.0.0:" + inside.port() + "/?key=1",
		"http://169.254.169.254/latest/meta-data/?key=1",
		"http://metadata.google.internal/computeMetadata/v1/?key=1",
		"http://[fd00:ec2::254]/?key=1",
		"http://100.100.100.200/?key=1",
		"http://10.0.0.1/?key=1",
	} {
		_, err := f.get(t, u)
		if !errors.Is(err, broker.ErrDenied) {
			t.Fatalf("%s: %v, want denied", u, err)
		}
		f.wantDenied(t, err, "http(")
	}
	if n := inside.hits.Load(); n != 0 {
		t.Fatalf("%d requests reached the loopback listener", n)
	}
}

func TestANameResolvingToLoopbackIsDenied(t *testing.T) {
	inside := newTarget(t, nil)
	f := newHTTPFixture(t, "http(*)")
	// A name of the attacker's that resolves (or rebinds) to 127.0.0.1:
	// judged by the address the engine would connect to.
	f.net.lookup = func(ctx context.Context, host string) ([]netip.Addr, error) {
		return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
	}
	_, err := f.get(t, "http://rebind.example:"+inside.port()+"/?key=1")
	f.wantDenied(t, err, "http(rebind.example:"+inside.port()+")")
	if !strings.Contains(err.Error(), "resolves to 127.0.0.1") {
		t.Fatalf("the denial does not say where the name led: %v", err)
	}
	// Several addresses, one of them loopback: only the public one would be
	// dialed; here it does not answer, and the loopback one is never tried.
	f.net.lookup = func(ctx context.Context, host string) ([]netip.Addr, error) {
		return []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1")}, nil
	}
	_, err = f.get(t, "http://rebind.example:"+inside.port()+"/")
	f.wantDenied(t, err, "http(rebind.example:"+inside.port()+")")
	if n := inside.hits.Load(); n != 0 {
		t.Fatalf("%d requests reached the loopback listener", n)
	}
}

func TestARedirectFromAPublicHostIntoLoopbackIsDenied(t *testing.T) {
	inside := newTarget(t, nil)
	var next atomic.Value
	outside := newTarget(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, next.Load().(string), http.StatusFound)
	})
	bridge := newTarget(t, nil)
	own := broker.Listener{Name: "bridge", Addr: netip.MustParseAddrPort(bridge.hostPort())}
	// The bridge named exactly, and still refused.
	f := newHTTPFixture(t, "http(* "+bridge.hostPort()+")", own)
	f.pretendPublic("public.example", outside)
	for _, to := range []struct{ url, entry string }{
		{inside.URL + "/?key=1", "http(" + inside.hostPort() + ")"},
		{"http://localhost:" + inside.port() + "/?key=1", "http(localhost:" + inside.port() + ")"},
		{"http://rebind.example:" + inside.port() + "/?key=1", "http(rebind.example:" + inside.port() + ")"},
		{"http://169.254.169.254/?key=1", "http(169.254.169.254:80)"},
	} {
		next.Store(to.url)
		_, err := f.get(t, "http://public.example/start")
		f.wantDenied(t, err, to.entry)
	}
	next.Store(bridge.URL + "/sdk.js")
	_, err := f.get(t, "http://public.example/start")
	if !errors.Is(err, broker.ErrDenied) || !strings.Contains(err.Error(), "the engine's own bridge") {
		t.Fatalf("redirect into the bridge: %v", err)
	}
	_, err = f.get(t, bridge.URL+"/sdk.js")
	if !errors.Is(err, broker.ErrDenied) || !strings.Contains(err.Error(), "the engine's own bridge") {
		t.Fatalf("the bridge named exactly: %v", err)
	}
	if n := inside.hits.Load() + bridge.hits.Load(); n != 0 {
		t.Fatalf("%d requests reached a loopback listener", n)
	}
	if n := outside.hits.Load(); n != 5 {
		t.Fatalf("the public host answered %d requests, want 5", n)
	}
	// And a "public" host within scope is reached (a call of its own: its
	// connections are not the ones above).
	f = newHTTPFixture(t, "http(*)")
	f.pretendPublic("public.example", newTarget(t, nil))
	res, err := f.get(t, "http://public.example/")
	if err != nil || res["status"] != float64(200) {
		t.Fatalf("legit request: %v %v", res, err)
	}
}

func TestAnExplicitLoopbackGrantReachesThatPortOnly(t *testing.T) {
	allowed := newTarget(t, nil)
	other := newTarget(t, nil)
	f := newHTTPFixture(t, "http("+allowed.hostPort()+" localhost:"+allowed.port()+")")
	for _, u := range []string{allowed.URL + "/x", "http://localhost:" + allowed.port() + "/x"} {
		res, err := f.get(t, u)
		if err != nil || res["status"] != float64(200) || !strings.Contains(res["body"].(string), "secret stuff") {
			t.Fatalf("%s: %v %v", u, res, err)
		}
	}
	_, err := f.get(t, other.URL+"/?key=1")
	f.wantDenied(t, err, "http("+other.hostPort()+")")
	if other.hits.Load() != 0 {
		t.Fatal("the other port was reached")
	}
	if recs := f.audit(t); len(recs) != 3 || !recs[0].Allowed || !recs[1].Allowed || recs[2].Allowed {
		t.Fatalf("audit %+v", recs)
	}
}

// A proxy in the engine's environment would resolve names itself, out of
// the checks' sight: the http op never uses one.
func TestTheHTTPOpIgnoresProxySettings(t *testing.T) {
	proxy := newTarget(t, nil)
	allowed := newTarget(t, nil)
	t.Setenv("HTTP_PROXY", proxy.URL)
	t.Setenv("http_proxy", proxy.URL)
	f := newHTTPFixture(t, "http("+allowed.hostPort()+")")
	if _, err := f.get(t, allowed.URL); err != nil {
		t.Fatal(err)
	}
	if proxy.hits.Load() != 0 || allowed.hits.Load() != 1 {
		t.Fatalf("proxy %d, direct %d", proxy.hits.Load(), allowed.hits.Load())
	}
}
