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
	return isLoopbackHost(h) || slices.Contains(s.opts.AllowedHosts, strings.ToLower(h))
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
	return origin != "" && slices.Contains(s.opts.AllowedOrigins, strings.TrimSuffix(origin, "/"))
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

// maxBodyBytes bounds a request body (only POST /api/call has one).
const maxBodyBytes = 4 << 20

func quote(s string) string {
	if len(s) > 100 {
		s = s[:100] + "…"
	}
	return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"`
}
