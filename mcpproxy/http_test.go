package mcpproxy

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestMCPListenAddrDefaultsToLoopback(t *testing.T) {
	for in, want := range map[string]string{
		"8080":         "127.0.0.1:8080",
		":8080":        "127.0.0.1:8080",
		"localhost:9":  "localhost:9",
		"127.0.0.1:0":  "127.0.0.1:0",
		"[::1]:7":      "[::1]:7",
		"0.0.0.0:8080": "0.0.0.0:8080",
	} {
		if got, err := ListenAddr(in); err != nil || got != want {
			t.Errorf("ListenAddr(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"127.0.0.1:", "a:b:c"} {
		if _, err := ListenAddr(bad); err == nil {
			t.Errorf("ListenAddr(%q): want an error", bad)
		}
	}
}

func TestMCPLoopbackOnly(t *testing.T) {
	h := LoopbackOnly(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}), slog.New(slog.NewTextHandler(io.Discard, nil)))
	for _, c := range []struct {
		origin, host string
		want         int
	}{
		{"", "127.0.0.1:8080", 200},
		{"", "localhost", 200},
		{"", "[::1]:80", 200},
		{"http://localhost:3000", "localhost:8080", 200},
		{"http://127.0.0.1", "127.0.0.1:8080", 200},
		{"http://[::1]:9", "127.0.0.1:8080", 200},
		{"https://localhost", "127.0.0.1:8080", 200},
		{"", "app.localhost:8080", 200},
		{"http://127.0.0.1@evil.example", "127.0.0.1:8080", 403},
		{"http://localhost/x", "127.0.0.1:8080", 403},
		{"", "", 403},
		{"", "::1", 403},
		{"http://evil.example", "127.0.0.1:8080", 403},
		{"http://localhost.evil.example", "127.0.0.1:8080", 403},
		{"null", "127.0.0.1:8080", 403},
		{"https://evil.example", "localhost", 403},
		{"", "evil.example", 403},
		{"", "evil.example:8080", 403},
		{"", "127.0.0.1.evil.example", 403},
		{"http://localhost", "evil.example", 403},
	} {
		r := httptest.NewRequest(http.MethodPost, "/mcp", nil)
		r.Host = c.host
		if c.origin != "" {
			r.Header.Set("Origin", c.origin)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != c.want {
			t.Errorf("Origin %q Host %q: %d, want %d", c.origin, c.host, w.Code, c.want)
		}
	}
}

// The skills extension's methods are answered ahead of mcp-go; any other
// request reaches it whole, a body larger than the peek included.
func TestSkillMethodsPassOtherRequestsOnWhole(t *testing.T) {
	p := &Proxy{log: slog.New(slog.DiscardHandler)}
	var got []byte
	h := p.aheadOverHTTP(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, _ = io.ReadAll(r.Body)
	}), HTTPOptions{})
	big := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","arguments":{"text":"` + strings.Repeat("skills/list ", 20000) + `"}}}`
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/mcp", strings.NewReader(big)))
	if string(got) != big {
		t.Fatalf("mcp-go got %d bytes of a %d-byte request", len(got), len(big))
	}
	got = nil
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/mcp", strings.NewReader(`{"jsonrpc":"2.0","id":2,"method":"skills/list","params":{}}`)))
	if got != nil || !strings.Contains(rec.Body.String(), `"skills":[]`) || !strings.Contains(rec.Body.String(), `"id":2`) {
		t.Fatalf("skills/list: passed on %v, answered %s", got != nil, rec.Body.String())
	}
}
