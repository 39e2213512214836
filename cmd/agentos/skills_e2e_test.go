package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/agentos/agentos/engine/wire"
	"github.com/agentos/agentos/internal/testkit"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/agentos/agentos/graph"
)

const demoSkillTools = `import time
from agentos import tool, timeout, returns, graph, http, secrets

@tool
def add_note(name: str) -> dict:
    """Write a note and read it back."""
    print("print() goes to stderr, never into the protocol")
    res = graph.write("note", [{"name": name}])
    node = graph.read(id=res["ids"][0])
    return {"id": node["id"], "name": node["fields"]["name"]}

@tool
def fetch(url: str) -> dict:
    """GET a URL."""
    r = http.get(url)
    return {"status": r.status, "text": r.text}

@tool
def secret() -> str:
    return secrets.get("openai")

@tool
@timeout(1)
def hang() -> None:
    time.sleep(60)

@tool
def boom() -> None:
    raise ValueError("the tool broke")

@returns("task[]")
def sync_tasks(suffix: str = "") -> list:
    """Tasks from a remote tracker; their id is the tracker's."""
    return [{"id": "T-1", "title": "Pay rent" + suffix, "priority": "2"},
            {"id": 2, "title": "Call mum" + suffix}]
`

// skillHome makes an AGENTOS_HOME with one skill, "demo", allowed to reach
// only allowHost over HTTP and to read and write the graph.
func skillHome(t *testing.T, allowHost string) (home, skillDir string) {
	t.Helper()
	home = testkit.Home(t)
	skillDir = filepath.Join(home, "skills", "demo")
	if err := os.MkdirAll(skillDir, 0o700); err != nil {
		t.Fatal(err)
	}
	md := fmt.Sprintf("---\nname: demo\ndescription: A demo skill for tests.\nallowed-tools: graph(read write) http(%s)\n---\n# Demo\n", allowHost)
	os.WriteFile(filepath.Join(skillDir, "SKILL.md"), []byte(md), 0o600)
	os.WriteFile(filepath.Join(skillDir, "tools.py"), []byte(demoSkillTools), 0o600)
	return home, skillDir
}

func runTool(t *testing.T, c *wire.Client, tool string, params map[string]any, out any) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return c.Call(ctx, "skills.run", map[string]any{"skill": "demo", "tool": tool, "params": params}, out)
}

func TestASkillIsDiscoveredAndRunsInAFreshProcess(t *testing.T) {
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "hello from the page") }))
	defer web.Close()
	allowed := strings.TrimPrefix(web.URL, "http://")
	home, _ := skillHome(t, allowed)
	d := startDaemon(t, home)
	c := d.client(t)

	r := agentos(t, home, "skills", "list")
	if r.code != 0 || !strings.Contains(r.stdout, "demo") || !strings.Contains(r.stdout, "ok") {
		t.Fatalf("skills list: %+v", r)
	}
	r = agentos(t, home, "skills", "show", "demo")
	if r.code != 0 || !strings.Contains(r.stdout, "add_note") || !strings.Contains(r.stdout, "# Demo") {
		t.Fatalf("skills show: %+v", r)
	}

	t.Run("a tool writes and reads the graph through the engine, print() and all", func(t *testing.T) {
		var got struct{ ID, Name string }
		if err := runTool(t, c, "add_note", map[string]any{"name": "from a skill"}, &got); err != nil {
			t.Fatal(err)
		}
		var n graph.Node
		call(t, c, "data.read", map[string]any{"id": got.ID}, &n)
		if got.Name != "from a skill" || n.Fields["name"] != "from a skill" {
			t.Fatalf("tool returned %+v, node %+v", got, n.Fields)
		}
		var h struct{ Changes []graph.Change }
		call(t, c, "data.history", map[string]any{"id": got.ID}, &h)
		if len(h.Changes) == 0 || h.Changes[0].Actor != "skill:demo" {
			t.Fatalf("history does not name the skill: %+v", h.Changes)
		}
	})

	t.Run("http to an allowed host works, any other host is denied and audited", func(t *testing.T) {
		var got struct {
			Status int
			Text   string
		}
		if err := runTool(t, c, "fetch", map[string]any{"url": web.URL + "/page"}, &got); err != nil || got.Status != 200 || got.Text != "hello from the page" {
			t.Fatalf("allowed fetch: %+v %v", got, err)
		}
		_, port, _ := net.SplitHostPort(allowed)
		err := runTool(t, c, "fetch", map[string]any{"url": "http://localhost:" + port + "/page"}, nil)
		wantErr(t, err, wire.KindDenied, "http(localhost:"+port+")")
		audit, _ := os.ReadFile(wire.PathsFor(home).AuditLog)
		if !strings.Contains(string(audit), `"op":"http.request","scope":"`+allowed+`","allowed":true`) ||
			!strings.Contains(string(audit), `"scope":"localhost:`+port+`","allowed":false`) {
			t.Fatalf("audit log lacks the allowed and the denied op:\n%s", audit)
		}
	})

	t.Run("a secret the skill did not declare is denied", func(t *testing.T) {
		wantErr(t, runTool(t, c, "secret", nil, nil), wire.KindDenied, "secrets(openai)")
	})

	t.Run("a tool past its timeout is stopped and the engine keeps serving", func(t *testing.T) {
		wantErr(t, runTool(t, c, "hang", nil, nil), wire.KindTimeout, "")
		call(t, c, "system.ping", nil, nil)
	})

	t.Run("a tool that raises fails with the exception", func(t *testing.T) {
		wantErr(t, runTool(t, c, "boom", nil, nil), wire.KindSkillFailed, "the tool broke")
	})

	t.Run("returned items land in the graph with provenance and never duplicate", func(t *testing.T) {
		var first, again struct {
			IDs     []string `json:"ids"`
			Created int      `json:"created"`
			Items   []map[string]any
		}
		if err := runTool(t, c, "sync_tasks", nil, &first); err != nil || first.Created != 2 || len(first.Items) != 2 {
			t.Fatalf("first sync: %+v %v", first, err)
		}
		// The titles change, so only the remote ids can find the nodes.
		if err := runTool(t, c, "sync_tasks", map[string]any{"suffix": " (edited)"}, &again); err != nil || again.Created != 0 {
			t.Fatalf("second sync: %+v %v", again, err)
		}
		if again.IDs[0] != first.IDs[0] || again.IDs[1] != first.IDs[1] {
			t.Fatalf("re-import made new nodes: %v then %v", first.IDs, again.IDs)
		}
		var n graph.Node
		call(t, c, "data.read", map[string]any{"id": first.IDs[0]}, &n)
		if n.Fields["title"] != "Pay rent (edited)" || n.Fields["priority"] != float64(2) {
			t.Fatalf("node %+v", n.Fields)
		}
		var prov *graph.Edge
		for i, e := range n.Edges {
			if e.Label == "imported_from" {
				prov = &n.Edges[i]
			}
		}
		if prov == nil {
			t.Fatalf("no imported_from edge on %+v", n.Edges)
		}
		var src graph.Node
		call(t, c, "data.read", map[string]any{"id": prov.To}, &src)
		if src.Fields["name"] != "demo" {
			t.Fatalf("provenance points at %+v", src.Fields)
		}
		var page graph.Page
		call(t, c, "data.read", map[string]any{"shape": "task"}, &page)
		if len(page.Nodes) != 2 {
			t.Fatalf("%d tasks after two syncs, want 2", len(page.Nodes))
		}
	})

	t.Run("bad params and unknown tools are clear errors", func(t *testing.T) {
		wantErr(t, runTool(t, c, "add_note", map[string]any{"nmae": "x"}, nil), wire.KindInvalid, "nmae")
		wantErr(t, runTool(t, c, "nosuch", nil, nil), wire.KindNotFound, "add_note")
	})
}

func TestEditedSkillsAreReloadedWithoutARestart(t *testing.T) {
	home, dir := skillHome(t, "127.0.0.1")
	d := startDaemon(t, home)
	c := d.client(t)
	src := demoSkillTools + "\n@tool\ndef added_later() -> str:\n    return \"new\"\n"
	if err := os.WriteFile(filepath.Join(dir, "tools.py"), []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		var got string
		err := runTool(t, c, "added_later", nil, &got)
		if err == nil && got == "new" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the new tool never became callable: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// A broken edit makes the skill invalid with the reason, and nothing else breaks.
	os.WriteFile(filepath.Join(dir, "tools.py"), []byte("def broken(:\n"), 0o600)
	call(t, c, "skills.reload", nil, nil)
	var s struct{ Invalid string }
	call(t, c, "skills.get", map[string]any{"id": "demo"}, &s)
	if !strings.Contains(s.Invalid, "tools.py") {
		t.Fatalf("broken skill: invalid = %q", s.Invalid)
	}
	wantErr(t, runTool(t, c, "add_note", map[string]any{"name": "x"}, nil), wire.KindInvalid, "cannot run")
	call(t, c, "system.ping", nil, nil)
	var st wire.Status
	call(t, c, "system.status", nil, &st)
	if strings.Join(st.Skills, ",") != "agents,anthropic,demo,feeds,notes,ollama,openai,web-reader" {
		t.Fatalf("status skills %v, want the test skill and the bundled ones", st.Skills)
	}
}

// wantErr checks that err is an engine error of kind naming inMsg.
func wantErr(t *testing.T, err error, kind wire.Kind, inMsg string) {
	t.Helper()
	var ee *wire.Error
	if !errors.As(err, &ee) {
		t.Fatalf("got %v, want an engine error of kind %s", err, kind)
	}
	wantKind(t, ee, kind, inMsg)
}

func TestSkillsNewTestInstallRemove(t *testing.T) {
	home := testkit.Home(t)
	work := testkit.Home(t)
	r := agentos(t, home, "skills", "new", "greeter", "--dir", work)
	if r.code != 0 {
		t.Fatalf("skills new: %+v", r)
	}
	dir := filepath.Join(work, "greeter")
	r = agentos(t, home, "skills", "test", dir)
	if r.code != 0 || !strings.Contains(r.stdout, "ok   hello") || !strings.Contains(r.stdout, "hello, world") {
		t.Fatalf("skills test of the scaffold: %+v", r)
	}
	r = agentos(t, home, "skills", "test", dir, "hello", `{"name": "you"}`)
	if r.code != 0 || !strings.Contains(r.stdout, "hello, you") {
		t.Fatalf("skills test with params: %+v", r)
	}
	if _, err := os.Stat(filepath.Join(home, "data")); err == nil {
		t.Fatal("skills test touched the user's home")
	}
	// A failing tool shows its traceback with the user's file and line, and
	// --verbose the skill's log lines.
	f, err := os.OpenFile(filepath.Join(dir, "tools.py"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(f, "\n\n@provides(\"greeter.boom\")\ndef boom() -> dict:\n    log.info(\"about to fail\")\n    raise ValueError(\"the numbers do not add up\")\n")
	f.Close()
	r = agentos(t, home, "skills", "test", "--verbose", dir)
	if r.code == 0 || !strings.Contains(r.stdout, "FAIL boom: ValueError: the numbers do not add up") ||
		!strings.Contains(r.stdout, `File "`+filepath.Join(dir, "tools.py")+`", line `) || !strings.Contains(r.stdout, "log info: about to fail") {
		t.Fatalf("skills test of a failing tool: %+v", r)
	}
	os.WriteFile(filepath.Join(dir, "tools.py"), []byte(strings.Split(readFile(t, filepath.Join(dir, "tools.py")), "\n\n@provides(\"greeter.boom\")")[0]), 0o644)
	if r := agentos(t, home, "skills", "new", "Bad_Name"); r.code != exitUsage {
		t.Fatalf("bad id: %+v", r)
	}

	startDaemon(t, home)
	if r := agentos(t, home, "skills", "install", dir); r.code != 0 {
		t.Fatalf("install: %+v", r)
	}
	if r := agentos(t, home, "skills", "install", dir); r.code != exitError || !strings.Contains(r.stderr, "--force") {
		t.Fatalf("second install: %+v", r)
	}
	r = agentos(t, home, "skills", "list")
	if !strings.Contains(r.stdout, "greeter") {
		t.Fatalf("installed skill not listed: %+v", r)
	}
	// The scaffold's tool provides a capability: an MCP client lists it
	// and calls it, and agentos invoke reaches it.
	mc := mcpSession(t, home, "--no-autostart")
	var greeting struct{ Greeting string }
	okTool(t, mc, "greeter_hello", map[string]any{"name": "mcp"}, &greeting)
	if greeting.Greeting != "hello, mcp" {
		t.Fatalf("the scaffold over MCP: %+v", greeting)
	}
	if r := agentos(t, home, "invoke", "greeter.hello", `{"name": "cli"}`); r.code != 0 || !strings.Contains(r.stdout, "hello, cli") {
		t.Fatalf("invoke greeter.hello: %+v", r)
	}
	if r := agentos(t, home, "skills", "remove", "greeter"); r.code != 0 {
		t.Fatalf("remove: %+v", r)
	}
	kept, _ := filepath.Glob(filepath.Join(home, "skills", ".removed", "greeter-*", "SKILL.md"))
	if len(kept) != 1 {
		t.Fatal("the removed skill's files are gone instead of kept aside")
	}
	r = agentos(t, home, "call", "skills.reload")
	if strings.Contains(r.stdout, `"greeter"`) {
		t.Fatalf("removed skill still listed: %s", r.stdout)
	}
}

func TestBundledWebReaderReadsAPageAndRemembersIt(t *testing.T) {
	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<html><head><title> Quarterly  report </title><style>p{}</style></head>
<body><h1>Results</h1><script>var hidden = 1;</script><p>Revenue grew &amp; costs fell.</p></body></html>`)
	}))
	defer page.Close()
	home := testkit.Home(t)
	// The page is on loopback, which http(*) does not cover: the user
	// grants the bundled skill that one host:port.
	hostPort := strings.TrimPrefix(page.URL, "http://")
	if err := os.WriteFile(filepath.Join(home, "config.yaml"),
		[]byte("skills:\n  web-reader:\n    grant: [\"http("+hostPort+")\"]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	startDaemon(t, home)
	r := agentos(t, home, "invoke", "web.read", `{"url": "`+page.URL+`/q3"}`)
	if r.code != 0 {
		t.Fatalf("invoke web.read: %+v", r)
	}
	var res struct {
		Item struct{ Name, Content string }
		ID   string
	}
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatal(err)
	}
	if res.Item.Name != "Quarterly report" || !strings.Contains(res.Item.Content, "Revenue grew & costs fell.") ||
		strings.Contains(res.Item.Content, "hidden") || res.ID == "" {
		t.Fatalf("web.read returned %+v", res)
	}
	r = agentos(t, home, "search", "revenue")
	if !strings.Contains(r.stdout, res.ID) {
		t.Fatalf("the page is not searchable in the graph: %+v", r)
	}
	// Reading it again updates the same webpage node (identity: url).
	r = agentos(t, home, "invoke", "web.read", `{"url": "`+page.URL+`/q3"}`)
	if !strings.Contains(r.stdout, res.ID) || !strings.Contains(r.stdout, `"created": false`) {
		t.Fatalf("second read: %+v", r)
	}
}

func TestASkillBringsItsOwnShapes(t *testing.T) {
	home := testkit.Home(t)
	testkit.AddSkill(t, home, "cookbook", "graph(write)", `from agentos import returns

@returns("recipe[]")
def recipes() -> list:
    return [{"name": "Soup", "servings": "4"}, {"name": "Soup", "servings": 6}]
`)
	os.MkdirAll(filepath.Join(home, "skills", "cookbook", "shapes"), 0o700)
	os.WriteFile(filepath.Join(home, "skills", "cookbook", "shapes", "recipe.yaml"),
		[]byte("recipe:\n  identity: [name]\n  fields:\n    servings: integer\n"), 0o600)
	c := startDaemon(t, home).client(t)
	var res struct {
		IDs     []string `json:"ids"`
		Created int      `json:"created"`
	}
	ctx := context.Background()
	if err := c.Call(ctx, "skills.run", map[string]any{"skill": "cookbook", "tool": "recipes"}, &res); err != nil {
		t.Fatal(err)
	}
	if res.Created != 1 || res.IDs[0] != res.IDs[1] {
		t.Fatalf("the skill's recipe identity was not used: %+v", res)
	}
	var n graph.Node
	call(t, c, "data.read", map[string]any{"id": res.IDs[0]}, &n)
	if n.Fields["servings"] != float64(6) {
		t.Fatalf("servings not coerced by the skill's shape: %v", n.Fields)
	}
}

// The web reader honours a page's declared charset (header or <meta>),
// survives broken HTML, returns the page's links, stores the page without a
// warning, and calls a bad URL the caller's mistake: invalid, said once,
// with the provider's health untouched.
func TestWebReaderCharsetsLinksAndBadURLs(t *testing.T) {
	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		latin1 := func(s string) string { // UTF-8 text as ISO-8859-1 bytes
			b := make([]byte, 0, len(s))
			for _, r := range s {
				b = append(b, byte(r))
			}
			return string(b)
		}
		switch r.URL.Path {
		case "/meta":
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, latin1(`<html><head><meta charset="iso-8859-1"><title>Café crème</title></head><body><p>Déjà vu <a href="/menu#top">the menu</a> <a href="https://example.org/x">elsewhere</a> <a href="mailto:a@b">mail</a> <a href="/menu">again</a></p></body></html>`))
		case "/header":
			w.Header().Set("Content-Type", "text/html; charset=ISO-8859-1")
			fmt.Fprint(w, latin1(`<title>Crème brûlée</title><p>Prix: 5€? no: 5 francs`))
		case "/broken":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprint(w, `<html><title>Broken</title><body><div><p>unclosed <b>bold <a href="sub/page">link`)
		}
	}))
	defer page.Close()
	home := testkit.Home(t)
	hostPort := strings.TrimPrefix(page.URL, "http://")
	if err := os.WriteFile(filepath.Join(home, "config.yaml"),
		[]byte("skills:\n  web-reader:\n    grant: [\"http("+hostPort+")\"]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := startDaemon(t, home).client(t)
	type result struct {
		Item struct {
			Name, Content string
			Links         []struct{ URL, Text string }
		}
		Warnings []string
	}
	read := func(path string) result {
		t.Helper()
		var res result
		call(t, c, wire.MethodInvoke, map[string]any{"capability": "web.read", "params": map[string]any{"url": page.URL + path}}, &res)
		if len(res.Warnings) > 0 {
			t.Errorf("%s: warnings %q", path, res.Warnings)
		}
		return res
	}
	if res := read("/meta"); res.Item.Name != "Café crème" || !strings.Contains(res.Item.Content, "Déjà vu") {
		t.Errorf("meta charset: %+v", res.Item)
	} else if len(res.Item.Links) != 2 || res.Item.Links[0].URL != page.URL+"/menu" || res.Item.Links[0].Text != "the menu" ||
		res.Item.Links[1].URL != "https://example.org/x" {
		t.Errorf("links: %+v", res.Item.Links)
	}
	if res := read("/header"); res.Item.Name != "Crème brûlée" {
		t.Errorf("header charset: %+v", res.Item)
	}
	if res := read("/broken"); res.Item.Name != "Broken" || !strings.Contains(res.Item.Content, "unclosed bold link") ||
		len(res.Item.Links) != 1 || res.Item.Links[0].URL != page.URL+"/sub/page" {
		t.Errorf("broken HTML: %+v", res.Item)
	}

	var out any
	err := c.Call(context.Background(), wire.MethodInvoke, map[string]any{"capability": "web.read", "params": map[string]any{"url": "notaurl"}}, &out)
	var we *wire.Error
	if !errors.As(err, &we) || we.Kind != wire.KindInvalid || strings.Count(we.Message, "http.request") > 1 || !strings.Contains(we.Message, "notaurl") {
		t.Fatalf("notaurl: %v", err)
	}
	var caps struct {
		Capabilities []struct {
			Capability string
			Providers  []struct{ Skill, Reason string }
		}
	}
	call(t, c, "capabilities.list", nil, &caps)
	for _, cp := range caps.Capabilities {
		if cp.Capability == "web.read" && strings.Contains(cp.Providers[0].Reason, "fail") {
			t.Errorf("a bad URL marked the reader unhealthy: %s", cp.Providers[0].Reason)
		}
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// skills install takes a git URL (cloned shallow with git), with --path for
// a repository of several skills; it says what the skill may do, installs
// it under its own name, and refuses a skill the engine could not use
// without copying anything.
func TestSkillsInstallFromGitSaysWhatTheSkillMayDo(t *testing.T) {
	git, err := exec.LookPath("git")
	if err != nil {
		t.Skip("no git binary")
	}
	home := testkit.Home(t)
	repo := t.TempDir()
	skill := filepath.Join(repo, "skills", "standup")
	os.MkdirAll(skill, 0o755)
	os.WriteFile(filepath.Join(skill, "SKILL.md"), []byte("---\nname: standup\ndescription: Write a stand-up note from the day's commits.\n"+
		"allowed-tools: Bash(git:*) Read http(api.github.com) secrets(github)\nargument-hint: \"[day]\"\n---\n# Stand-up\nRead the log of $ARGUMENTS, then write three lines.\n"), 0o644)
	os.WriteFile(filepath.Join(skill, "template.md"), []byte("Yesterday / Today / Blockers\n"), 0o644)
	bad := filepath.Join(repo, "skills", "broken")
	os.MkdirAll(bad, 0o755)
	os.WriteFile(filepath.Join(bad, "SKILL.md"), []byte("---\nname: broken\ndescription: d\ncompatibility: "+strings.Repeat("x", 600)+"\n---\n"), 0o644)
	for _, args := range [][]string{{"init", "-q"}, {"add", "."}, {"-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "skills"}} {
		if out, err := exec.Command(git, append([]string{"-C", repo}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v %s", args, err, out)
		}
	}
	url := "file://" + repo
	r := agentos(t, home, "skills", "install", url, "--path", "skills/standup")
	if r.code != 0 || !strings.Contains(r.stdout, "it may: http(api.github.com)") || !strings.Contains(r.stdout, "it may: secrets(github)") ||
		!strings.Contains(r.stdout, "for other agents (no effect here): Bash(git:*) Read") || !strings.Contains(r.stdout, "installed standup") {
		t.Fatalf("install from git: %+v", r)
	}
	if got := readFile(t, filepath.Join(home, "skills", "standup", "template.md")); got != "Yesterday / Today / Blockers\n" {
		t.Errorf("the skill's other files were not installed: %q", got)
	}
	r = agentos(t, home, "skills", "install", url, "--path", "skills/broken")
	if r.code != exitError || !strings.Contains(r.stderr, "compatibility is 600 characters; the limit is 500") {
		t.Fatalf("install of an invalid skill: %+v", r)
	}
	if _, err := os.Stat(filepath.Join(home, "skills", "broken")); err == nil {
		t.Error("an invalid skill was copied")
	}
	if r := agentos(t, home, "skills", "install", url, "--path", "../etc"); r.code != exitUsage {
		t.Errorf("--path outside the source: %+v", r)
	}
	// The engine takes it as it is: valid, instruction-only.
	startDaemon(t, home)
	if r := agentos(t, home, "skills", "list"); !strings.Contains(r.stdout, "standup") || strings.Contains(r.stdout, "invalid") {
		t.Errorf("skills list: %+v", r)
	}
	// Its argument-hint makes its prompt take arguments, put where the
	// guide says $ARGUMENTS.
	c := mcpSession(t, home, "--no-autostart")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var get mcp.GetPromptRequest
	get.Params.Name = "standup"
	get.Params.Arguments = map[string]string{"arguments": "Monday"}
	pr, err := c.GetPrompt(ctx, get)
	if err != nil {
		t.Fatal(err)
	}
	if text := pr.Messages[0].Content.(mcp.TextContent).Text; !strings.Contains(text, "Read the log of Monday, then") {
		t.Errorf("the standup prompt: %q", text)
	}
}
