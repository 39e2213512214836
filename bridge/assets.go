package bridge

import (
	"bytes"
	"embed"
	"encoding/json"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"unicode/utf8"

	"github.com/agentos/agentos/sdk"
)

// The web UI: static files, no build step (bridge/ui/README.md).
//
//go:embed ui
var uiFiles embed.FS

// uiCSP allows the UI's own scripts, styles and connections only.
const uiCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// ui serves the embedded web UI at / (index.html) and its assets.
func (s *Server) ui() http.Handler {
	root, err := fs.Sub(uiFiles, "ui")
	if err != nil {
		panic(err) // "ui" is embedded above
	}
	files := http.FileServerFS(root)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			writeError(w, http.StatusMethodNotAllowed, "invalid", r.Method+" "+r.URL.Path+": the bridge is read-only except POST /api/call")
			return
		}
		if strings.HasPrefix(r.URL.Path, "/api/") || strings.HasPrefix(r.URL.Path, "/observer/") {
			writeError(w, http.StatusNotFound, "not_found", "no route GET "+r.URL.Path+" (docs/bridge.md lists them)")
			return
		}
		w.Header().Set("Content-Security-Policy", uiCSP)
		w.Header().Set("Cache-Control", "no-cache")
		// FileServer answers 500 for a name io/fs calls invalid (bad UTF-8
		// such as the overlong dots %c0%ae): it is the request that is bad.
		if name := strings.TrimPrefix(path.Clean(r.URL.Path), "/"); !utf8.ValidString(r.URL.Path) || (name != "" && !fs.ValidPath(name)) {
			writeError(w, http.StatusBadRequest, "invalid", "GET "+quote(r.URL.Path)+": not a valid path")
			return
		}
		if strings.HasSuffix(r.URL.Path, "/README.md") {
			http.NotFound(w, r)
			return
		}
		files.ServeHTTP(w, r)
	})
}

// sameOrigin reports whether a request comes from a page of the bridge's
// own origin: browsers say so in Sec-Fetch-Site (which a page cannot
// forge), or send an Origin equal to ours.
func sameOrigin(r *http.Request) bool {
	if r.Header.Get("Sec-Fetch-Site") == "same-origin" {
		return true
	}
	o := r.Header.Get("Origin")
	return o != "" && (o == "http://"+r.Host || o == "https://"+r.Host)
}

// sdk serves /sdk.js, with the token filled in only for same-origin pages.
func (s *Server) sdk(w http.ResponseWriter, r *http.Request) {
	body := sdk.JS
	if sameOrigin(r) {
		tok, _ := json.Marshal(s.token)
		body = bytes.Replace(body, []byte(sdk.TokenPlaceholder), tok, 1)
	}
	h := w.Header()
	h.Set("Content-Type", "text/javascript; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Vary", "Origin, Sec-Fetch-Site")
	_, _ = w.Write(body)
}
