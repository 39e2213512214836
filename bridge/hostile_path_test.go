package bridge

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// Hostile paths get a 4xx, never a 500, and never a file from outside the
// web UI (issue 9: GET /%c0%ae%c0%ae/... answered 500).
func TestHostilePathsGet4xxAndNothingOutsideTheUI(t *testing.T) {
	f := newFixture(t, Options{})
	token, _ := os.ReadFile(TokenPath(f.home))
	paths := []string{
		"/%c0%ae%c0%ae/%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd",
		"/%c0%ae%c0%ae%c0%af%c0%ae%c0%ae%c0%afetc/passwd",
		"/%c0%ae",
		"/%ff",
		"/app.js%ff",
		"/%e0%80%ae%e0%80%ae/etc/passwd",
		"/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
		"/..%2f..%2f..%2fetc/passwd",
		"/%2e%2e%5c%2e%2e%5cetc%5cpasswd",
		"/.%2e/.%2e/bridge.token",
		"/%00",
		"/index.html%00",
		"/%00/../../etc/passwd",
		"/README.md",
		"/ui/README.md",
		"/../../../../etc/passwd",
		"/" + strings.Repeat("a", 8000),
		"/" + strings.Repeat("%c0%ae", 2000),
		"/" + strings.Repeat("../", 2000) + "etc/passwd",
		"/api/nodes/%c0%ae%c0%ae",
		"/api/shapes/%c0%ae%c0%ae",
		"/api/nodes/%00/neighbors",
		"/observer/%c0%ae",
	}
	for _, p := range paths {
		status, h, body := rawGetHeader(t, f.url, p)
		// The mux redirects a path with dot segments to its clean form,
		// on this server: follow that.
		if status == http.StatusTemporaryRedirect || status == http.StatusMovedPermanently {
			loc := h.Get("Location")
			if !strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, "//") || strings.Contains(loc, "..") {
				t.Errorf("GET %.80s: redirected to %q", p, loc)
				continue
			}
			status, body = rawGet(t, f.url, loc)
		}
		if status < 400 || status >= 500 {
			t.Errorf("GET %.80s: %d, want 4xx\n%.200s", p, status, body)
		}
		for _, leak := range []string{"root:", "package bridge", string(token), "# The web UI"} {
			if strings.TrimSpace(leak) != "" && strings.Contains(body, strings.TrimSpace(leak)) {
				t.Errorf("GET %.80s served %q", p, leak)
			}
		}
	}
	// A path too long for the request line's bound is refused before any
	// handler, still without a 500.
	if status, _ := rawGet(t, f.url, "/"+strings.Repeat("a", 100<<10)); status < 400 || status >= 500 {
		t.Errorf("a 100 KiB path: %d, want 4xx", status)
	}
	// The UI itself is still served.
	if status, body := rawGet(t, f.url, "/"); status != http.StatusOK || !strings.Contains(body, "<html") {
		t.Fatalf("GET /: %d %.200s", status, body)
	}
}

// rawGet sends path as it is on the wire (net/http's client would clean or
// re-escape it) and returns the status and body.
func rawGet(t *testing.T, base, path string) (int, string) {
	status, _, body := rawGetHeader(t, base, path)
	return status, body
}

func rawGetHeader(t *testing.T, base, path string) (int, http.Header, string) {
	t.Helper()
	addr := strings.TrimPrefix(base, "http://")
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", path, addr)
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("GET %.80s: %v", path, err)
	}
	defer res.Body.Close()
	var b strings.Builder
	bufio.NewReader(res.Body).WriteTo(&b)
	return res.StatusCode, res.Header, b.String()
}
