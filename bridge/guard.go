package bridge

import (
	"net/http"
	"strings"

	"github.com/agentos/agentos/internal/loopback"
)

func normalize(list []string, fn func(string) string) []string {
	out := make([]string, 0, len(list))
	for _, v := range list {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, fn(v))
		}
	}
	return out
}

// refuse answers a request internal/loopback's guard refused, saying how to
// allow it when that is the user's call.
func refuse(w http.ResponseWriter, _ *http.Request, err *loopback.RefusedError) {
	msg := "Host " + quote(err.Value) + " is not allowed: the bridge answers only to loopback names (DNS-rebinding protection)"
	if err.Header == "Origin" {
		msg = "Origin " + quote(err.Value) + " is not allowed: add it to bridge.origins in config.yaml to let that app call the bridge"
	}
	writeError(w, http.StatusForbidden, "forbidden", msg)
}

// guard is the outer layer of every request: DNS-rebinding protection
// (Host and Origin, internal/loopback's guard), the Fetch Metadata policy,
// CORS for configured origins, request size limits and headers that keep
// pages of other sites from framing or sniffing ours. Who is asking is the
// listener's business (Serve): only connections of the user's own uid
// reach this.
func (s *Server) guard(next http.Handler) http.Handler {
	inner := loopback.Guard(loopback.GuardOptions{Hosts: s.opts.AllowedHosts, Origins: s.opts.AllowedOrigins, Refuse: refuse})(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h := w.Header()
			origin := r.Header.Get("Origin")
			if !s.fetchAllowed(r, origin) {
				writeError(w, http.StatusForbidden, "forbidden", "requests from a page of another site are not allowed (Sec-Fetch-Site "+quote(r.Header.Get("Sec-Fetch-Site"))+"): add its origin to bridge.origins in config.yaml to allow it")
				return
			}
			if s.origins.Configured(origin) {
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
		}))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		inner.ServeHTTP(w, r)
	})
}

// fetchAllowed is a resource isolation policy on the Fetch Metadata headers
// browsers send: a request made by a page of another site is refused unless
// that site is a configured origin, or it is the user following a link to
// the UI (a top-level navigation). Without it, a page anywhere could still
// fire requests it cannot read (an <img> to /api/search?q=...) and time
// them. Requests without the headers (not from a browser, or an old one)
// and the user typing the address (Sec-Fetch-Site: none) pass: the policy
// only ever refuses, it is no proof of who asks (DESIGN §11).
func (s *Server) fetchAllowed(r *http.Request, origin string) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "none", "same-origin":
		return true
	}
	if s.origins.Configured(origin) {
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
