package bridge

import (
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// isLoopbackHost reports whether host (a name or an IP, without port or
// brackets) always means this machine.
func isLoopbackHost(host string) bool {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// hostOnly strips the port (and IPv6 brackets) from a Host header value.
func hostOnly(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return strings.Trim(hostport, "[]")
}

func (s *Server) hostAllowed(hostport string) bool {
	h := hostOnly(hostport)
	return isLoopbackHost(h) || slices.Contains(s.opts.AllowedHosts, strings.ToLower(strings.TrimSuffix(h, ".")))
}

// normalOrigin writes an origin the way browsers send it: lower-case
// scheme and host, no default port, no trailing slash.
func normalOrigin(o string) string {
	u, err := url.Parse(strings.TrimSuffix(strings.TrimSpace(o), "/"))
	if err != nil || u.Host == "" {
		return o
	}
	scheme, host := strings.ToLower(u.Scheme), strings.ToLower(u.Hostname())
	port := u.Port()
	if (scheme == "http" && port == "80") || (scheme == "https" && port == "443") {
		port = ""
	}
	if port != "" {
		host = net.JoinHostPort(host, port)
	} else if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return scheme + "://" + host
}

func normalize(list []string, fn func(string) string) []string {
	out := make([]string, 0, len(list))
	for _, v := range list {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, fn(v))
		}
	}
	return out
}

// originAllowed: an Origin header, when present, must be a loopback page or
// an app the user listed. "null" (sandboxed iframes, file:// pages) is not.
func (s *Server) originAllowed(origin string) bool {
	if origin == "" {
		return true
	}
	if s.corsOrigin(origin) {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return false
	}
	return isLoopbackHost(u.Hostname())
}

// corsOrigin reports whether origin gets CORS headers: only origins the user
// configured (bridge.origins in config.yaml, --bridge-origin).
func (s *Server) corsOrigin(origin string) bool {
	return origin != "" && origin != "null" && slices.Contains(s.opts.AllowedOrigins, normalOrigin(origin))
}

// guard is the outer layer of every request: DNS-rebinding protection
// (Host and Origin), CORS for configured origins, request size limits and
// headers that keep pages of other sites from framing or sniffing ours.
func (s *Server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		if !s.hostAllowed(r.Host) {
			writeError(w, http.StatusForbidden, "forbidden", "Host "+quote(r.Host)+" is not allowed: the bridge answers only to loopback names (DNS-rebinding protection)")
			return
		}
		origin := r.Header.Get("Origin")
		if !s.originAllowed(origin) {
			writeError(w, http.StatusForbidden, "forbidden", "Origin "+quote(origin)+" is not allowed: add it to bridge.origins in config.yaml to let that app call the bridge")
			return
		}
		if !s.fetchAllowed(r, origin) {
			writeError(w, http.StatusForbidden, "forbidden", "requests from a page of another site are not allowed (Sec-Fetch-Site "+quote(r.Header.Get("Sec-Fetch-Site"))+"): add its origin to bridge.origins in config.yaml to allow it")
			return
		}
		if s.corsOrigin(origin) {
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Vary", "Origin")
			h.Set("Cross-Origin-Resource-Policy", "cross-origin")
			if r.Method == http.MethodOptions {
				h.Set("Access-Control-Allow-Methods", "GET, POST")
				h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Last-Event-ID")
				h.Set("Access-Control-Max-Age", "600")
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
		next.ServeHTTP(w, r)
	})
}

// fetchAllowed is a resource isolation policy on the Fetch Metadata headers
// browsers send: a request made by a page of another site is refused unless
// that site is a configured origin, or it is the user following a link to
// the UI (a top-level navigation). Without it, a page anywhere could still
// fire requests it cannot read (an <img> to /api/search?q=...) and time
// them. Requests without the headers (not from a browser, or an old one)
// and the user typing the address (Sec-Fetch-Site: none) pass.
func (s *Server) fetchAllowed(r *http.Request, origin string) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "none", "same-origin":
		return true
	}
	if s.corsOrigin(origin) {
		return true
	}
	return r.Method == http.MethodGet && r.Header.Get("Sec-Fetch-Mode") == "navigate" &&
		!strings.HasPrefix(r.URL.Path, "/api/") && !strings.HasPrefix(r.URL.Path, "/observer/")
}

// maxBodyBytes bounds a request body (only POST /api/call has one).
const maxBodyBytes = 4 << 20

func quote(s string) string {
	if len(s) > 100 {
		s = s[:100] + "…"
	}
	return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"`
}
