package bridge

import (
	"bytes"
	"embed"
	"html"
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
		if r.URL.Path == "/" || r.URL.Path == "/index.html" {
			s.index(w, r)
			return
		}
		if strings.HasSuffix(r.URL.Path, "/README.md") {
			http.NotFound(w, r)
			return
		}
		files.ServeHTTP(w, r)
	})
}

// tokenMeta is where the UI page carries the bridge token (sdk/js reads it).
const tokenMeta = `<meta name="agentos-token" content="`

// index serves the UI page, the one response that carries the bridge
// token: in a meta tag, read by /sdk.js when it runs in a document of the
// bridge's own origin. No request header decides who gets it (DESIGN §11):
// the page is served to whoever asks, which is only ever this user's own
// processes (the listener refuses other uids) and, through a browser, pages
// that cannot read it. A page of another site can navigate to it (and then
// it is ours, not theirs) but not read it: it gets no CORS header here even
// from a configured origin, may not frame it (frame-ancestors 'none',
// X-Frame-Options), keeps no handle on a window it opened
// (Cross-Origin-Opener-Policy), and a <script src=/sdk.js> it includes runs
// in its own document, where there is no such meta. A skill's http op never
// reaches the bridge (engine/httpop.go).
func (s *Server) index(w http.ResponseWriter, r *http.Request) {
	page, err := fs.ReadFile(uiFiles, "ui/index.html")
	if err != nil {
		panic(err) // embedded above
	}
	page = bytes.Replace(page, []byte("<head>"), []byte("<head>\n"+tokenMeta+html.EscapeString(s.token)+`">`), 1)
	h := w.Header()
	h.Del("Access-Control-Allow-Origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(page)
}

// sdk serves /sdk.js, the same file to everyone: it never holds the token.
func (s *Server) sdk(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/javascript; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	_, _ = w.Write(sdk.JS)
}
