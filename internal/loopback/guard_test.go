package loopback

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
)

func TestIsLoopbackHost(t *testing.T) {
	for host, want := range map[string]bool{
		"localhost": true, "LocalHost.": true, "app.localhost": true, "a.b.localhost": true,
		"127.0.0.1": true, "127.1.2.3": true, "::1": true, "::ffff:127.0.0.1": true,
		"": false, "localhost.evil.example": false, "evillocalhost": false, ".localhost": false,
		"a..localhost": false, "127.0.0.1.evil.example": false, "127.1": false, "0x7f.0.0.1": false,
		"0.0.0.0": false, "::": false, "192.168.1.1": false, "[::1]": false, "::1%lo": false,
		"evil.example": false, "127.0.0.1:80": false, "a b.localhost": false,
	} {
		if got := IsLoopbackHost(host); got != want {
			t.Errorf("IsLoopbackHost(%q) = %v, want %v", host, got, want)
		}
	}
}

func TestSplitHost(t *testing.T) {
	for in, want := range map[string]string{
		"localhost": "localhost", "localhost:80": "localhost", "127.0.0.1:3456": "127.0.0.1",
		"[::1]": "::1", "[::1]:8080": "::1", "evil.example:1": "evil.example",
		"": "", ":80": "", "localhost:": "", "::1": "", "[::1]:": "", "[::1]x": "", "[127.0.0.1]": "",
		"[evil.example]": "", "a:b:c": "", "localhost:http": "", "localhost:123456": "", "[::1": "",
	} {
		got, ok := SplitHost(in)
		if ok != (want != "") || got != want {
			t.Errorf("SplitHost(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}

// The cases of both former copies (the bridge's and mcp --http's).
func TestGuardRefusesForeignHostsAndOrigins(t *testing.T) {
	var refused *RefusedError
	h := Guard(GuardOptions{
		Hosts:   []string{"AgentOS.test."},
		Origins: []string{"HTTPS://App.Example:443/"},
		Refuse: func(w http.ResponseWriter, r *http.Request, err *RefusedError) {
			refused = err
			w.WriteHeader(http.StatusForbidden)
		},
	})(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	for _, c := range []struct {
		origin, host string
		refused      string // header refused, "" for none
	}{
		{"", "127.0.0.1:8080", ""},
		{"", "localhost", ""},
		{"", "[::1]:80", ""},
		{"", "agentos.test", ""},
		{"", "agentos.test:3456", ""},
		{"http://localhost:3000", "localhost:8080", ""},
		{"http://127.0.0.1", "127.0.0.1:8080", ""},
		{"http://[::1]:9", "127.0.0.1:8080", ""},
		{"https://localhost", "127.0.0.1:8080", ""},
		{"http://localhost/", "127.0.0.1:8080", ""},
		{"https://app.example", "127.0.0.1", ""},
		{"http://evil.example", "127.0.0.1:8080", "Origin"},
		{"http://localhost.evil.example", "127.0.0.1:8080", "Origin"},
		{"http://127.0.0.1@evil.example", "127.0.0.1:8080", "Origin"},
		{"http://evil.example#@127.0.0.1", "127.0.0.1:8080", "Origin"},
		{"http://localhost/path", "127.0.0.1:8080", "Origin"},
		{"http://app.example", "127.0.0.1:8080", "Origin"}, // configured with https only
		{"ftp://localhost", "127.0.0.1:8080", "Origin"},
		{"null", "127.0.0.1:8080", "Origin"},
		{"https://evil.example", "localhost", "Origin"},
		{"", "evil.example", "Host"},
		{"", "evil.example:8080", "Host"},
		{"", "127.0.0.1.evil.example", "Host"},
		{"", "", "Host"},
		{"", "::1", "Host"},
		{"http://localhost", "evil.example", "Host"},
	} {
		refused = nil
		r := httptest.NewRequest(http.MethodPost, "/mcp", nil)
		r.Host = c.host
		if c.origin != "" {
			r.Header.Set("Origin", c.origin)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		got := ""
		if refused != nil {
			got = refused.Header
		}
		if got != c.refused || (w.Code == http.StatusForbidden) != (c.refused != "") {
			t.Errorf("Origin %q Host %q: %d, refused %q; want refused %q", c.origin, c.host, w.Code, got, c.refused)
		}
	}
}

func TestGuardDefaultRefusalIs403WithTheReason(t *testing.T) {
	h := Guard(GuardOptions{})(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Host = "evil.example"
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), `Host "evil.example" is not allowed`) {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
}

// oracleLoopback is an independent statement of "loopback": the literal
// name, a name under .localhost, or an address netip calls loopback.
func oracleLoopback(host string) bool {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Unmap().IsLoopback()
}

// FuzzGuard: the Host/Origin check never panics, and never accepts a
// host or origin that is not loopback unless it is the configured one.
func FuzzGuard(f *testing.F) {
	for _, s := range [][2]string{
		{"127.0.0.1:3456", ""}, {"localhost", "http://localhost:5173"}, {"[::1]:80", "http://[::1]"},
		{"evil.example", "http://evil.example"}, {"agentos.test", "https://app.example"},
		{"127.0.0.1.evil.example", "http://127.0.0.1@evil.example"}, {"x.localhost:1", "null"},
		{"[::ffff:127.0.0.1]:1", "http://[::ffff:7f00:1]"}, {"::1", "http://localhost#x"},
		{"LOCALHOST.", "HTTP://LOCALHOST:80/"}, {"\xc0\xae", "http://\xc0\xae"}, {"[", "http://["},
	} {
		f.Add(s[0], s[1])
	}
	const confHost, confOrigin = "agentos.test", "https://app.example"
	c := NewChecker(GuardOptions{Hosts: []string{confHost}, Origins: []string{confOrigin}})
	f.Fuzz(func(t *testing.T, host, origin string) {
		if c.HostAllowed(host) {
			h, ok := SplitHost(host)
			if !ok || (!oracleLoopback(h) && NormalHost(h) != confHost) {
				t.Fatalf("Host %q accepted", host)
			}
		}
		if origin != "" && c.OriginAllowed(origin) && NormalOrigin(origin) != confOrigin {
			u, err := url.Parse(origin)
			if err != nil || !oracleLoopback(u.Hostname()) || (u.Scheme != "http" && u.Scheme != "https") {
				t.Fatalf("Origin %q accepted", origin)
			}
		}
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Host = host
		r.Header.Set("Origin", origin)
		_ = c.Check(r)
	})
}
