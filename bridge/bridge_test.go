package bridge

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/agentos/agentos/engine/wire"
	"github.com/agentos/agentos/internal/testkit"

	"github.com/agentos/agentos/graph"
)

// fixture is a real engine (in this process, on a real socket and SQLite
// file) with a bridge in front of it on a real loopback port.
type fixture struct {
	home   string
	url    string
	srv    *Server
	client *wire.Client // straight to the engine socket
	stop   func()       // stops the engine (the bridge keeps running)
}

func newFixture(t *testing.T, opts Options) *fixture {
	t.Helper()
	home := testkit.Home(t)
	stop := testkit.RunEngine(t, home)
	ctx := context.Background()
	c, err := wire.DialHome(ctx, home, wire.ClientOptions{Name: "test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })

	opts.Home, opts.Version = home, "test"
	srv, err := New(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	bctx, bcancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(bctx, ln) }()
	t.Cleanup(func() {
		bcancel()
		if err := <-served; err != nil {
			t.Errorf("bridge: %v", err)
		}
		srv.Close()
	})
	return &fixture{home: home, url: "http://" + ln.Addr().String(), srv: srv, client: c, stop: stop}
}

// do makes a request and returns status, headers and body.
func (f *fixture) do(t *testing.T, method, path string, body io.Reader, headers map[string]string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, f.url+path, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		if k == "Host" {
			req.Host = v
		} else {
			req.Header.Set(k, v)
		}
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, res.Header, data
}

// getJSON GETs path, wants 200 and decodes the body into out.
func (f *fixture) getJSON(t *testing.T, path string, out any) {
	t.Helper()
	status, _, body := f.do(t, "GET", path, nil, nil)
	if status != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, status, body)
	}
	if err := json.Unmarshal(body, out); err != nil {
		t.Fatalf("GET %s: %v in %s", path, err, body)
	}
}

func (f *fixture) call(t *testing.T, method string, params, out any) {
	t.Helper()
	if err := f.client.Call(context.Background(), method, params, out); err != nil {
		t.Fatalf("%s: %v", method, err)
	}
}

// populate writes people, notes and an edge; it returns a note's and a
// person's ids.
func (f *fixture) populate(t *testing.T) (noteID, personID string) {
	t.Helper()
	var people struct{ IDs []string }
	f.call(t, "data.write", map[string]any{"shape": "person", "items": []map[string]any{
		{"name": "Ada Lovelace", "email": "ada@example.com"},
		{"name": "Alan Turing", "email": "alan@example.com"},
	}}, &people)
	items := make([]map[string]any, 120)
	for i := range items {
		items[i] = map[string]any{"title": fmt.Sprintf("note %03d", i), "content": "ordinary words"}
	}
	items[7]["content"] = "the analytical engine weaves algebraic patterns"
	var notes struct{ IDs []string }
	f.call(t, "data.write", map[string]any{"shape": "note", "items": items}, &notes)
	if len(notes.IDs) != 120 || len(people.IDs) != 2 {
		t.Fatalf("wrote %d notes, %d people", len(notes.IDs), len(people.IDs))
	}
	f.call(t, "data.link", map[string]any{"from": notes.IDs[7], "label": "author", "to": people.IDs[0]}, nil)
	return notes.IDs[7], people.IDs[0]
}

func TestReadRoutesServeThePopulatedGraph(t *testing.T) {
	f := newFixture(t, Options{})
	noteID, personID := f.populate(t)

	var health struct {
		OK     bool `json:"ok"`
		Engine bool `json:"engine"`
	}
	f.getJSON(t, "/healthz", &health)
	if !health.OK || !health.Engine {
		t.Errorf("healthz %+v", health)
	}

	var shapesRes struct {
		Shapes []ShapeInfo `json:"shapes"`
		Nodes  int64       `json:"nodes"`
	}
	f.getJSON(t, "/api/shapes", &shapesRes)
	counts := map[string]int64{}
	for _, s := range shapesRes.Shapes {
		counts[s.Name] = s.Count
	}
	if counts["note"] != 120 || counts["person"] != 2 || shapesRes.Nodes != 122 {
		t.Errorf("shape counts %v, nodes %d", counts, shapesRes.Nodes)
	}
	var overview struct {
		Shapes []struct {
			Name  string
			Count int64
		}
		Links        []graph.LinkCount
		Nodes, Edges int64
	}
	f.getJSON(t, "/api/graph", &overview)
	if len(overview.Shapes) != 2 || overview.Shapes[0].Name != "note" || overview.Shapes[0].Count != 120 || overview.Shapes[1].Count != 2 ||
		overview.Nodes != 122 || overview.Edges != 1 || len(overview.Links) != 1 ||
		overview.Links[0] != (graph.LinkCount{From: "note", Label: "author", To: "person", Count: 1}) {
		t.Errorf("GET /api/graph: %+v", overview)
	}
	var one ShapeInfo
	f.getJSON(t, "/api/shapes/person", &one)
	if one.Name != "person" || one.Count != 2 || one.Fields["email"].Type != "string" {
		t.Errorf("shape person: %+v", one)
	}
	if status, _, _ := f.do(t, "GET", "/api/shapes/nosuch", nil, nil); status != http.StatusNotFound {
		t.Errorf("unknown shape: %d", status)
	}

	// Paging: three pages of 50, 50 and 20 notes, no repeats.
	seen := map[string]bool{}
	cursor := ""
	for pages := 0; ; pages++ {
		var page graph.Page
		f.getJSON(t, "/api/nodes?shape=note&limit=50&cursor="+cursor, &page)
		for _, n := range page.Nodes {
			if seen[n.ID] {
				t.Fatalf("node %s on two pages", n.ID)
			}
			seen[n.ID] = true
		}
		if cursor = page.Cursor; cursor == "" {
			break
		}
		if pages > 3 {
			t.Fatal("paging does not end")
		}
	}
	if len(seen) != 120 {
		t.Errorf("paged through %d notes, want 120", len(seen))
	}
	var filtered graph.Page
	f.getJSON(t, `/api/nodes?shape=person&where={"email":"alan@example.com"}`, &filtered)
	if len(filtered.Nodes) != 1 || filtered.Nodes[0].Fields["name"] != "Alan Turing" {
		t.Errorf("where email: %+v", filtered.Nodes)
	}
	for path, want := range map[string]int{
		"/api/nodes":                                       http.StatusBadRequest, // shape is required
		"/api/nodes?shape=note&where={":                    http.StatusBadRequest,
		"/api/nodes?shape=note&limit=x":                    http.StatusBadRequest,
		"/api/nodes?shape=nosuch":                          http.StatusBadRequest,
		"/api/nosuch":                                      http.StatusNotFound,
		"/api/nodes/01NOSUCHNODE0000000000000":             http.StatusNotFound,
		"/api/search":                                      http.StatusBadRequest,
		"/api/nodes/" + noteID + "/neighbors?direction=up": http.StatusBadRequest,
	} {
		status, _, body := f.do(t, "GET", path, nil, nil)
		var e ErrorBody
		if status != want || json.Unmarshal(body, &e) != nil || e.Error.Message == "" {
			t.Errorf("GET %s: %d %s, want %d with an error message", path, status, body, want)
		}
	}

	var node graph.Node
	f.getJSON(t, "/api/nodes/"+noteID, &node)
	if node.Fields["title"] != "note 007" || len(node.Edges) != 1 || node.Edges[0].To != personID {
		t.Errorf("node: %+v", node)
	}
	var nb graph.Neighborhood
	f.getJSON(t, "/api/nodes/"+personID+"/neighbors", &nb)
	if len(nb.Nodes) != 2 || nb.Nodes[1].ID != noteID {
		t.Errorf("neighbors of the person: %+v", nb.Nodes)
	}
	var hist struct{ Changes []graph.Change }
	f.getJSON(t, "/api/nodes/"+noteID+"/history", &hist)
	if len(hist.Changes) == 0 || hist.Changes[0].Op != "create" {
		t.Errorf("history: %+v", hist.Changes)
	}
	var found struct{ Hits []graph.Hit }
	f.getJSON(t, "/api/search?q=analytical&shape=note", &found)
	if len(found.Hits) != 1 || found.Hits[0].Node.ID != noteID || !strings.Contains(found.Hits[0].Snippet, "[analytical]") {
		t.Errorf("search: %+v", found.Hits)
	}

	var skills struct {
		Skills []struct{ ID string } `json:"skills"`
	}
	f.getJSON(t, "/api/skills", &skills)
	var caps struct {
		Capabilities []struct{ Capability string } `json:"capabilities"`
	}
	f.getJSON(t, "/api/capabilities", &caps)
	var names []string
	for _, c := range caps.Capabilities {
		names = append(names, c.Capability)
	}
	if len(skills.Skills) == 0 || !slices.Equal(names, []string{"agent.run", "feeds.sync", "llm", "notes.import", "web.read"}) {
		t.Errorf("skills %+v, capabilities %v (the bundled skills' capabilities should be there)", skills, names)
	}

	if err := os.WriteFile(wire.PathsFor(f.home).Config, []byte("user: {name: Ada, node: "+personID+"}\ncapabilities: {web.read: {pin: web-reader}}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var u UserInfo
	f.getJSON(t, "/api/user", &u)
	if u.Name != "Ada" || u.Profile == nil || u.Profile.ID != personID || u.Capabilities["web.read"].Pin != "web-reader" || u.Home != f.home {
		t.Errorf("user: %+v", u)
	}

	var hist2 wire.History
	f.getJSON(t, "/observer/history?limit=5", &hist2)
	if len(hist2.Events) != 5 || hist2.LastID < hist2.Events[4].ID {
		t.Errorf("observer history: %+v", hist2)
	}
}

// The bridge's own connection cannot change the graph, whatever it is
// asked; and no route but POST /api/call accepts anything but GET.
func TestBridgeCannotWrite(t *testing.T) {
	f := newFixture(t, Options{})
	noteID, personID := f.populate(t)
	ctx := context.Background()
	if !f.srv.store.ReadOnly() {
		t.Fatal("the bridge's store is not read-only")
	}
	writes := map[string]func() error{
		"create": func() error { _, err := f.srv.store.Create(ctx, "note", map[string]any{"title": "x"}, nil); return err },
		"write": func() error {
			_, err := f.srv.store.Write(ctx, "note", []map[string]any{{"title": "y"}})
			return err
		},
		"update": func() error { _, err := f.srv.store.Update(ctx, noteID, map[string]any{"title": "z"}); return err },
		"delete": func() error { _, err := f.srv.store.Delete(ctx, noteID); return err },
		"link":   func() error { _, err := f.srv.store.Link(ctx, personID, "knows", noteID); return err },
	}
	for name, write := range writes {
		if err := write(); !errors.Is(err, graph.ErrReadOnly) {
			t.Errorf("%s through the bridge's store: %v, want ErrReadOnly", name, err)
		}
	}
	for _, m := range []string{"POST", "PUT", "PATCH", "DELETE"} {
		status, _, _ := f.do(t, m, "/api/nodes/"+noteID, strings.NewReader(`{"fields":{"title":"z"}}`), nil)
		if status != http.StatusMethodNotAllowed {
			t.Errorf("%s /api/nodes/{id}: %d, want 405", m, status)
		}
	}
	var node graph.Node
	f.getJSON(t, "/api/nodes/"+noteID, &node)
	if node.Fields["title"] != "note 007" {
		t.Errorf("the note changed: %+v", node.Fields)
	}
}

func TestHostAndOriginChecks(t *testing.T) {
	f := newFixture(t, Options{AllowedOrigins: []string{"HTTP://LocalHost:5173/"}, AllowedHosts: []string{"AgentOS.test"}})
	cases := []struct {
		name    string
		headers map[string]string
		status  int
		cors    string
	}{
		{"loopback", nil, 200, ""},
		{"localhost host", map[string]string{"Host": "localhost:3456"}, 200, ""},
		{"configured host", map[string]string{"Host": "agentos.test"}, 200, ""},
		{"rebinding host", map[string]string{"Host": "evil.example"}, 403, ""},
		{"rebinding host with port", map[string]string{"Host": "evil.example:3456"}, 403, ""},
		{"foreign origin", map[string]string{"Origin": "http://evil.example"}, 403, ""},
		{"null origin", map[string]string{"Origin": "null"}, 403, ""},
		{"loopback origin, not configured", map[string]string{"Origin": "http://127.0.0.1:8080"}, 200, ""},
		{"configured origin", map[string]string{"Origin": "http://localhost:5173"}, 200, "http://localhost:5173"},
		// Fetch Metadata: pages of other sites are refused even without an Origin.
		{"cross-site no-cors request", map[string]string{"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "no-cors"}, 403, ""},
		{"same-site page not configured", map[string]string{"Sec-Fetch-Site": "same-site", "Sec-Fetch-Mode": "cors", "Origin": "http://127.0.0.1:8080"}, 403, ""},
		{"configured app, same-site", map[string]string{"Sec-Fetch-Site": "same-site", "Sec-Fetch-Mode": "cors", "Origin": "http://localhost:5173"}, 200, "http://localhost:5173"},
		{"typed address", map[string]string{"Sec-Fetch-Site": "none", "Sec-Fetch-Mode": "navigate"}, 200, ""},
	}
	for _, c := range cases {
		status, h, body := f.do(t, "GET", "/api/shapes", nil, c.headers)
		if status != c.status {
			t.Errorf("%s: %d %s, want %d", c.name, status, body, c.status)
		}
		if got := h.Get("Access-Control-Allow-Origin"); got != c.cors {
			t.Errorf("%s: Access-Control-Allow-Origin %q, want %q", c.name, got, c.cors)
		}
		if status == 403 && !strings.Contains(string(body), "not allowed") {
			t.Errorf("%s: 403 without a reason: %s", c.name, body)
		}
	}
	// A link from another site may open the UI, not the API.
	nav := map[string]string{"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate"}
	if status, _, _ := f.do(t, "GET", "/", nil, nav); status != 200 {
		t.Errorf("a link from another site to the UI: %d", status)
	}
	if status, _, _ := f.do(t, "GET", "/api/search?q=x", nil, nav); status != 403 {
		t.Errorf("a link from another site to the API: %d", status)
	}
	status, h, _ := f.do(t, "OPTIONS", "/api/call", nil, map[string]string{"Origin": "http://localhost:5173", "Access-Control-Request-Method": "POST"})
	if status != http.StatusNoContent || !strings.Contains(h.Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Errorf("preflight: %d %v", status, h)
	}
}

func TestCallNeedsTheToken(t *testing.T) {
	f := newFixture(t, Options{})
	tok, err := os.ReadFile(TokenPath(f.home))
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(TokenPath(f.home)); fi.Mode().Perm() != 0o600 {
		t.Errorf("bridge.token mode %o, want 600", fi.Mode().Perm())
	}
	body := `{"method":"data.create","params":{"shape":"note","fields":{"title":"from an app"}}}`
	for name, auth := range map[string]string{"missing": "", "wrong": "Bearer " + strings.Repeat("0", 64), "not bearer": "Basic " + strings.TrimSpace(string(tok))} {
		status, _, resp := f.do(t, "POST", "/api/call", strings.NewReader(body), map[string]string{"Authorization": auth})
		if status != http.StatusUnauthorized {
			t.Errorf("%s token: %d %s, want 401", name, status, resp)
		}
	}
	good := map[string]string{"Authorization": "Bearer " + strings.TrimSpace(string(tok)), "Content-Type": "application/json"}
	status, _, resp := f.do(t, "POST", "/api/call", strings.NewReader(body), good)
	var out struct {
		Result graph.Node `json:"result"`
	}
	if status != http.StatusOK || json.Unmarshal(resp, &out) != nil || out.Result.ID == "" {
		t.Fatalf("good token: %d %s", status, resp)
	}
	var node graph.Node
	f.getJSON(t, "/api/nodes/"+out.Result.ID, &node)
	if node.Fields["title"] != "from an app" {
		t.Errorf("created node reads back as %+v", node.Fields)
	}
	for call, want := range map[string]int{
		`{"method":"secrets.list"}`:                       http.StatusForbidden,
		`{"method":"observer.subscribe"}`:                 http.StatusForbidden,
		`{"method":"no.such.method"}`:                     http.StatusNotFound,
		`{"method":"data.read","params":{"id":"nosuch"}}`: http.StatusNotFound,
		`{"method":"data.create","params":{}}`:            http.StatusBadRequest,
		`not json`:                                        http.StatusBadRequest,
		`{"params":{}}`:                                   http.StatusBadRequest,
	} {
		status, _, resp := f.do(t, "POST", "/api/call", strings.NewReader(call), good)
		if status != want {
			t.Errorf("%s: %d %s, want %d", call, status, resp, want)
		}
	}
	big := `{"method":"system.ping","params":{"pad":"` + strings.Repeat("x", maxBodyBytes) + `"}}`
	if status, _, _ := f.do(t, "POST", "/api/call", strings.NewReader(big), good); status != http.StatusRequestEntityTooLarge {
		t.Errorf("a body over the limit: %d, want 413", status)
	}
}

// sdk.js never holds the token, whatever a client claims in its headers:
// any of them is forgeable by a program (a skill's http op once sent
// Sec-Fetch-Site: same-origin to get it). Only the UI page carries it, and
// a page of another origin cannot read that page.
func TestOnlyTheUIPageCarriesTheToken(t *testing.T) {
	f := newFixture(t, Options{AllowedOrigins: []string{"http://localhost:5173"}})
	tok, _ := os.ReadFile(TokenPath(f.home))
	token := strings.TrimSpace(string(tok))
	for name, headers := range map[string]map[string]string{
		"forged same-origin fetch metadata": {"Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "cors", "Sec-Fetch-Dest": "script"},
		"forged own Origin":                 {"Origin": f.url, "Referer": f.url + "/"},
		"configured other app":              {"Origin": "http://localhost:5173", "Sec-Fetch-Site": "same-site"},
		"a cross-site <script src>":         {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "no-cors", "Sec-Fetch-Dest": "script"},
		"no browser headers":                nil,
	} {
		status, h, body := f.do(t, "GET", "/sdk.js", nil, headers)
		if status == 200 && (!strings.HasPrefix(h.Get("Content-Type"), "text/javascript") || !strings.Contains(string(body), "export function capability")) {
			t.Fatalf("%s: %d %s", name, status, h.Get("Content-Type"))
		}
		if strings.Contains(string(body), token) {
			t.Errorf("%s: the token is in sdk.js", name)
		}
	}

	status, h, body := f.do(t, "GET", "/", nil, map[string]string{"Sec-Fetch-Site": "none", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"})
	if status != 200 || !strings.Contains(string(body), `<meta name="agentos-token" content="`+token+`">`) || !strings.Contains(string(body), `src="app.js"`) {
		t.Fatalf("the UI page: %d\n%.600s", status, body)
	}
	for k, want := range map[string]string{
		"Content-Security-Policy":    "frame-ancestors 'none'",
		"X-Frame-Options":            "DENY",
		"Cross-Origin-Opener-Policy": "same-origin",
		"Cache-Control":              "no-store",
	} {
		if !strings.Contains(h.Get(k), want) {
			t.Errorf("the UI page's %s is %q, want %q", k, h.Get(k), want)
		}
	}
	if _, _, again := f.do(t, "GET", "/index.html", nil, nil); !strings.Contains(string(again), token) {
		t.Error("/index.html is not the same page")
	}
	// A configured origin may call the bridge, but not read the token off
	// the page: it gets no CORS header there, while it does elsewhere.
	app := map[string]string{"Origin": "http://localhost:5173", "Sec-Fetch-Site": "same-site", "Sec-Fetch-Mode": "cors"}
	if _, h, _ := f.do(t, "GET", "/", nil, app); h.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("the UI page answers a configured origin with CORS: %q", h.Get("Access-Control-Allow-Origin"))
	}
	if _, h, _ := f.do(t, "GET", "/api/shapes", nil, app); h.Get("Access-Control-Allow-Origin") != "http://localhost:5173" {
		t.Errorf("the configured origin lost CORS on the API: %q", h.Get("Access-Control-Allow-Origin"))
	}
	// A page of an unconfigured site is refused outright unless it is the
	// user following a link (then the page is the bridge's own).
	if status, _, body := f.do(t, "GET", "/", nil, map[string]string{"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "cors", "Origin": "http://evil.example"}); status == 200 || strings.Contains(string(body), token) {
		t.Errorf("a cross-site fetch of the UI page: %d", status)
	}
	// Every other UI file is token-free.
	for _, p := range []string{"/app.js", "/api.js", "/app.css"} {
		if _, _, body := f.do(t, "GET", p, nil, map[string]string{"Sec-Fetch-Site": "same-origin"}); strings.Contains(string(body), token) {
			t.Errorf("%s holds the token", p)
		}
	}
}

// sseClient reads an event stream: each event's id and decoded data.
type sseClient struct {
	res *http.Response
	r   *bufio.Reader
}

func (f *fixture) stream(t *testing.T, lastID string) *sseClient {
	t.Helper()
	req, _ := http.NewRequest("GET", f.url+"/observer/stream", nil)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Body.Close() })
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	return &sseClient{res: res, r: bufio.NewReader(res.Body)}
}

// next returns the next event, skipping comments; it fails the test after
// a generous deadline rather than hanging.
func (c *sseClient) next(t *testing.T) (string, wire.Event) {
	t.Helper()
	type result struct {
		id  string
		ev  wire.Event
		err error
	}
	ch := make(chan result, 1)
	go func() {
		var id string
		var ev wire.Event
		for {
			line, err := c.r.ReadString('\n')
			if err != nil {
				ch <- result{err: err}
				return
			}
			line = strings.TrimRight(line, "\n")
			switch {
			case strings.HasPrefix(line, "id: "):
				id = line[4:]
			case strings.HasPrefix(line, "data: "):
				if err := json.Unmarshal([]byte(line[6:]), &ev); err != nil {
					ch <- result{err: err}
					return
				}
			case line == "" && id != "":
				ch <- result{id: id, ev: ev}
				return
			}
		}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			t.Fatalf("stream: %v", r.err)
		}
		if r.id != fmt.Sprint(r.ev.ID) {
			t.Fatalf("id line %s for event %d", r.id, r.ev.ID)
		}
		return r.id, r.ev
	case <-time.After(20 * time.Second):
		t.Fatal("no event within 20s")
		return "", wire.Event{}
	}
}

// nextGraphChange skips to the next graph.changed event.
func (c *sseClient) nextGraphChange(t *testing.T) (string, wire.Event) {
	t.Helper()
	for {
		id, ev := c.next(t)
		if ev.Type == wire.EventGraphChanged {
			return id, ev
		}
	}
}

func TestStreamDeliversWritesAndResumesExactly(t *testing.T) {
	f := newFixture(t, Options{})
	live := f.stream(t, "")
	var first graph.Node
	f.call(t, "data.create", map[string]any{"shape": "note", "fields": map[string]any{"title": "one"}}, &first)
	lastSeen, ev := live.nextGraphChange(t)
	if len(ev.IDs) != 1 || ev.IDs[0] != first.ID {
		t.Fatalf("graph.changed %+v, want the created node", ev)
	}
	live.res.Body.Close() // the client goes away...

	// ...while three more writes happen through the socket.
	var missed []string
	for i := 0; i < 3; i++ {
		var n graph.Node
		f.call(t, "data.create", map[string]any{"shape": "note", "fields": map[string]any{"title": fmt.Sprint("missed ", i)}}, &n)
		missed = append(missed, n.ID)
	}
	var want wire.History
	f.getJSON(t, "/observer/history?since="+lastSeen, &want)

	resumed := f.stream(t, lastSeen)
	for i, w := range want.Events {
		id, got := resumed.next(t)
		if got.ID != w.ID || got.Type != w.Type {
			t.Fatalf("replayed event %d: %s %s, want %d %s", i, id, got.Type, w.ID, w.Type)
		}
	}
	var changed []string
	for _, w := range want.Events {
		if w.Type == wire.EventGraphChanged {
			changed = append(changed, w.IDs...)
		}
	}
	if strings.Join(changed, ",") != strings.Join(missed, ",") {
		t.Fatalf("replayed changes for %v, want %v", changed, missed)
	}
	// Then live events follow.
	var after graph.Node
	f.call(t, "data.create", map[string]any{"shape": "note", "fields": map[string]any{"title": "after"}}, &after)
	if _, ev := resumed.nextGraphChange(t); ev.IDs[0] != after.ID {
		t.Fatalf("live after replay: %+v", ev)
	}
}

// The stream outlives an engine restart: it says so in a comment, keeps
// the connection, and delivers the new engine's events.
func TestStreamSurvivesEngineDown(t *testing.T) {
	f := newFixture(t, Options{})
	s := f.stream(t, "")
	f.stop()
	// Reads go on without an engine; calls and engine listings say why not.
	var page graph.Page
	f.getJSON(t, "/api/nodes?shape=note", &page)
	status, _, body := f.do(t, "GET", "/api/skills", nil, nil)
	if status != http.StatusServiceUnavailable || !strings.Contains(string(body), "agentos start") {
		t.Errorf("skills without an engine: %d %s", status, body)
	}
	lines := make(chan string, 16)
	go func() {
		for {
			line, err := s.r.ReadString('\n')
			if err != nil {
				close(lines)
				return
			}
			lines <- line
		}
	}()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatal("the stream ended when the engine stopped")
			}
			if strings.Contains(line, "engine unreachable") {
				return
			}
		case <-deadline:
			t.Fatal("no word on the stream that the engine is gone")
		}
	}
}

func TestMetricsInPrometheusFormat(t *testing.T) {
	f := newFixture(t, Options{})
	f.populate(t)
	status, h, body := f.do(t, "GET", "/metrics", nil, nil)
	if status != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Fatalf("metrics: %d %s", status, h.Get("Content-Type"))
	}
	text := string(body)
	for _, want := range []string{
		"agentos_engine_up 1",
		`agentos_calls_total{method="data.write",outcome="ok"} 2`,
		`agentos_calls_total{method="data.link",outcome="ok"} 1`,
		`agentos_calls_duration_seconds_bucket{method="data.write",outcome="ok",le="+Inf"} 2`,
		`agentos_graph_shape_nodes{shape="note"} 120`,
		"agentos_graph_nodes 122",
		"agentos_skill_processes_running 0",
		"# TYPE agentos_calls_duration_seconds histogram",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	// Every sample line is name{labels} value.
	for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
		if strings.HasPrefix(line, "#") {
			continue
		}
		if i := strings.LastIndexByte(line, ' '); i < 0 || strings.ContainsAny(line[i+1:], "{} ") {
			t.Errorf("malformed sample %q", line)
		}
	}
}

func TestListenRefusesNonLoopback(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "192.0.2.1:3456"} {
		if ln, err := Listen(addr); err == nil {
			ln.Close()
			t.Errorf("Listen(%q) accepted a non-loopback address", addr)
		}
	}
	ln, err := Listen("localhost:0")
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
	var _ net.Listener = ln
}

// A client resuming from an id the engine's ring no longer holds is told
// how many events it lost before the replay.
func TestStreamResumeFromForgottenIDLeadsWithLagged(t *testing.T) {
	f := newFixture(t, Options{})
	var start wire.History
	f.getJSON(t, "/observer/history?limit=1", &start)
	// 1400 creates make 4200 events: more than the ring's 4096.
	for i := 0; i < 1400; i++ {
		f.call(t, "data.create", map[string]any{"shape": "note", "fields": map[string]any{"title": "n"}}, nil)
	}
	s := f.stream(t, fmt.Sprint(start.LastID))
	_, ev := s.next(t)
	if ev.Type != wire.EventLagged || ev.Missed <= 0 {
		t.Fatalf("first event after a forgotten id: %+v, want lagged", ev)
	}
	_, next := s.next(t)
	if next.ID != ev.ID+1 {
		t.Fatalf("replay after lagged starts at %d, want %d (right after the last lost)", next.ID, ev.ID+1)
	}
}

// A client that does not drain its queue loses events, not the engine's
// time, and hears how many with a lagged event when it next reads.
func TestSlowStreamGetsLaggedNotBlocked(t *testing.T) {
	st := &stream{last: -1, limit: 4, wake: make(chan struct{}, 1)}
	for id := int64(1); id <= 10; id++ {
		st.offer(wire.Event{ID: id, Type: wire.EventStarted}) // never blocks
	}
	got := st.take()
	if len(got) != 5 {
		t.Fatalf("took %d events, want 4 and a lagged one: %+v", len(got), got)
	}
	for i, ev := range got[:4] {
		if ev.ID != int64(i+1) {
			t.Fatalf("queued %d, want %d", ev.ID, i+1)
		}
	}
	if lag := got[4]; lag.Type != wire.EventLagged || lag.Missed != 6 || lag.ID != 10 {
		t.Fatalf("after a full queue: %+v, want lagged missed 6 at id 10", lag)
	}
	st.offer(wire.Event{ID: 11, Type: wire.EventStarted})
	if got := st.take(); len(got) != 1 || got[0].ID != 11 {
		t.Fatalf("after the lagged event: %+v, want 11 alone", got)
	}
}

// A stream ends, and lets go of its engine subscription, when its client
// goes away.
func TestStreamClosesWhenTheClientGoesAway(t *testing.T) {
	f := newFixture(t, Options{})
	s := f.stream(t, "")
	if n := f.srv.streams.Load(); n != 1 {
		t.Fatalf("%d streams open, want 1", n)
	}
	s.res.Body.Close()
	// The handler notices on its next write at the latest: make one.
	f.call(t, "data.create", map[string]any{"shape": "note", "fields": map[string]any{"title": "poke"}}, nil)
	deadline := time.Now().Add(10 * time.Second)
	for f.srv.streams.Load() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the stream is still open after its client left")
		}
		time.Sleep(20 * time.Millisecond)
	}
	_, _, body := f.do(t, "GET", "/metrics", nil, nil)
	if !strings.Contains(string(body), "agentos_bridge_streams 0") {
		t.Error("metrics do not show the stream closed")
	}
}

// Another account on the machine cannot use the bridge at all (it could
// otherwise read the graph, and the token off the UI page); the bridge's
// own user can.
func TestBridgeRefusesOtherUsers(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil || os.Getuid() != 0 {
		t.Skip("needs root (to run curl as another user) and curl")
	}
	f := newFixture(t, Options{})
	get := func(cred *syscall.Credential) (string, error) {
		cmd := exec.Command(curl, "-sS", "--max-time", "10", f.url+"/")
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	tok, _ := os.ReadFile(TokenPath(f.home))
	out, err := get(&syscall.Credential{Uid: 65534, Gid: 65534})
	// curl ran (it reports the closed connection), and got nothing.
	if err == nil || !strings.Contains(out, "curl:") || strings.Contains(out, strings.TrimSpace(string(tok))) {
		t.Fatalf("another user got an answer (err %v):\n%.300s", err, out)
	}
	t.Logf("as uid 65534: %s", strings.TrimSpace(out))
	out, err = get(nil)
	if err != nil || !strings.Contains(out, strings.TrimSpace(string(tok))) {
		t.Fatalf("the bridge's own user was refused (err %v):\n%.300s", err, out)
	}
}

// /api/call has its own bound, longer than the read routes': a call that
// outlasts the read deadline still answers, one that outlasts its own gets
// a 504 with a JSON body.
func TestCallHasItsOwnTimeout(t *testing.T) {
	f := newFixture(t, Options{})
	testkit.AddSkill(t, f.home, "sleeper", "", `import time
from agentos import provides

@provides("sleep")
def sleep(seconds: float) -> dict:
    time.sleep(seconds)
    return {"slept": seconds}
`)
	f.call(t, "skills.reload", nil, nil)
	defer func(r, c time.Duration) { requestTimeout, callTimeout = r, c }(requestTimeout, callTimeout)
	requestTimeout, callTimeout = 200*time.Millisecond, 3*time.Second
	tok, _ := os.ReadFile(TokenPath(f.home))
	auth := map[string]string{"Authorization": "Bearer " + strings.TrimSpace(string(tok))}
	call := func(seconds float64) (int, http.Header, []byte) {
		body := fmt.Sprintf(`{"method":"capabilities.invoke","params":{"capability":"sleep","params":{"seconds":%g}}}`, seconds)
		return f.do(t, "POST", "/api/call", strings.NewReader(body), auth)
	}
	if status, _, body := call(1); status != http.StatusOK || !strings.Contains(string(body), `"slept":1`) {
		t.Fatalf("a 1 s call under a 200 ms read deadline: %d %s", status, body)
	}
	status, h, body := call(10)
	var e ErrorBody
	if status != http.StatusGatewayTimeout || !strings.HasPrefix(h.Get("Content-Type"), "application/json") ||
		json.Unmarshal(body, &e) != nil || e.Error.Kind != "timeout" {
		t.Fatalf("a call past its own bound: %d %s %s", status, h.Get("Content-Type"), body)
	}
}

// A resume replays everything the engine's ring still holds, however far
// behind the client is, without losing any to the live-event buffer.
func TestStreamReplaysAWholeBacklog(t *testing.T) {
	f := newFixture(t, Options{})
	var start wire.History
	f.getJSON(t, "/observer/history?limit=1", &start)
	for i := 0; i < 1000; i++ { // 3000 events, more than sseBuffer
		f.call(t, "data.create", map[string]any{"shape": "note", "fields": map[string]any{"title": "n"}}, nil)
	}
	var want wire.History
	f.getJSON(t, fmt.Sprintf("/observer/history?since=%d&limit=4096", start.LastID), &want)
	s := f.stream(t, fmt.Sprint(start.LastID))
	for i, w := range want.Events {
		_, got := s.next(t)
		if got.ID != w.ID {
			t.Fatalf("replayed event %d of %d: %d %s, want %d %s", i, len(want.Events), got.ID, got.Type, w.ID, w.Type)
		}
	}
}
