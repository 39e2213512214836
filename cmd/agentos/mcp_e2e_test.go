package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/agentos/agentos/internal/testkit"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
	"golang.org/x/sys/unix"
)

// mcpSession runs `agentos mcp` against home and initializes an MCP session.
func mcpSession(t *testing.T, home string, args ...string) *client.Client {
	t.Helper()
	c, _ := mcpInitialize(t, home, args...)
	return c
}

// mcpInitialize starts agentos mcp on home and initializes a session; the
// client closes with the test.
func mcpInitialize(t *testing.T, home string, args ...string) (*client.Client, *mcp.InitializeResult) {
	t.Helper()
	return mcpInitializeVersion(t, home, mcp.LATEST_PROTOCOL_VERSION, args...)
}

// mcpInitializeVersion is mcpInitialize asking for protocol version.
func mcpInitializeVersion(t *testing.T, home, version string, args ...string) (*client.Client, *mcp.InitializeResult) {
	t.Helper()
	c, err := client.NewStdioMCPClient(binPath, []string{"AGENTOS_HOME=" + home}, append([]string{"mcp"}, args...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var req mcp.InitializeRequest
	req.Params.ProtocolVersion = version
	req.Params.ClientInfo = mcp.Implementation{Name: "agentos-test", Version: "0"}
	res, err := c.Initialize(ctx, req)
	if err != nil {
		t.Fatalf("initialize: %v", err)
	}
	if res.ServerInfo.Name != "agentos" {
		t.Fatalf("server name %q, want agentos", res.ServerInfo.Name)
	}
	return c, res
}

// callTool calls an MCP tool and returns its result and text.
func callTool(t *testing.T, c *client.Client, name string, args map[string]any) (*mcp.CallToolResult, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var req mcp.CallToolRequest
	req.Params.Name = name
	req.Params.Arguments = args
	res, err := c.CallTool(ctx, req)
	if err != nil {
		t.Fatalf("tools/call %s: %v", name, err)
	}
	var text strings.Builder
	for _, ct := range res.Content {
		if tc, ok := ct.(mcp.TextContent); ok {
			text.WriteString(tc.Text)
		}
	}
	return res, text.String()
}

// okTool calls a tool that must succeed and decodes its text as JSON.
func okTool(t *testing.T, c *client.Client, name string, args map[string]any, out any) string {
	t.Helper()
	res, text := callTool(t, c, name, args)
	if res.IsError {
		t.Fatalf("%s: isError: %s", name, text)
	}
	if out != nil {
		if err := json.Unmarshal([]byte(text), out); err != nil {
			t.Fatalf("%s: text is not JSON: %v\n%s", name, err, text)
		}
	}
	return text
}

func errTool(t *testing.T, c *client.Client, name string, args map[string]any, want ...string) {
	t.Helper()
	res, text := callTool(t, c, name, args)
	if !res.IsError {
		t.Fatalf("%s %v: want isError, got %s", name, args, text)
	}
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Fatalf("%s %v: error %q does not mention %q", name, args, text, w)
		}
	}
}

func TestMCPProxyEndToEnd(t *testing.T) {
	home := testkit.Home(t)
	testkit.AddSkill(t, home, "echoer", "", "from agentos import provides\n\n@provides(\"test.echo\")\ndef echo(text: str) -> dict:\n    \"\"\"Echo text back.\"\"\"\n    return {\"text\": text}\n")
	d := startDaemon(t, home)
	c := mcpSession(t, home, "--no-autostart")

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tools, err := c.ListTools(ctx, mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	byName := map[string]mcp.Tool{}
	for _, tl := range tools.Tools {
		names = append(names, tl.Name)
		byName[tl.Name] = tl
	}
	fixed := []string{"read", "search", "create", "update", "delete", "link", "write", "invoke", "skills", "status"}
	if len(names) < len(fixed) || strings.Join(names[:len(fixed)], ",") != strings.Join(fixed, ",") {
		t.Fatalf("tools/list order %v: want the fixed tools %v first", names, fixed)
	}
	echo, ok := byName["test_echo"]
	if !ok {
		t.Fatalf("no test_echo tool in %v", names)
	}
	schema, _ := json.Marshal(echo)
	if !strings.Contains(echo.Description, "Echo text back") || !strings.Contains(string(schema), `"text"`) {
		t.Fatalf("test_echo: description %q, tool %s", echo.Description, schema)
	}
	for _, n := range names {
		if strings.HasPrefix(n, "secrets") {
			t.Fatalf("secrets exposed as tool %q", n)
		}
	}

	var node struct {
		ID     string         `json:"id"`
		Fields map[string]any `json:"fields"`
	}
	res, text := callTool(t, c, "create", map[string]any{"shape": "note", "fields": map[string]any{"title": "mcp zebra note", "body": "written over MCP"}})
	if res.IsError {
		t.Fatalf("create: %s", text)
	}
	if res.StructuredContent == nil && len(res.RawStructuredContent) == 0 {
		t.Fatal("create: no structuredContent")
	}
	if err := json.Unmarshal([]byte(text), &node); err != nil {
		t.Fatalf("create: %v: %s", err, text)
	}
	if node.ID == "" {
		t.Fatalf("create gave no id")
	}
	var read struct {
		ID string `json:"id"`
	}
	okTool(t, c, "read", map[string]any{"id": node.ID}, &read)
	if read.ID != node.ID {
		t.Fatalf("read %s gave %s", node.ID, read.ID)
	}
	var page struct {
		Nodes []json.RawMessage `json:"nodes"`
	}
	okTool(t, c, "read", map[string]any{"shape": "note", "limit": 10}, &page)
	if len(page.Nodes) != 1 {
		t.Fatalf("read shape note: %d nodes, want 1", len(page.Nodes))
	}
	text = okTool(t, c, "search", map[string]any{"query": "zebra"}, nil)
	if !strings.Contains(text, node.ID) {
		t.Fatalf("search zebra does not find %s: %s", node.ID, text)
	}

	var echoed struct {
		Text string `json:"text"`
	}
	okTool(t, c, "test_echo", map[string]any{"text": "hello over mcp"}, &echoed)
	if echoed.Text != "hello over mcp" {
		t.Fatalf("test_echo gave %q", echoed.Text)
	}
	okTool(t, c, "invoke", map[string]any{"capability": "test.echo", "params": map[string]any{"text": "via invoke"}}, &echoed)
	if echoed.Text != "via invoke" {
		t.Fatalf("invoke test.echo gave %q", echoed.Text)
	}

	// Engine errors and bad arguments come back as isError results.
	errTool(t, c, "read", map[string]any{"id": "no-such-node"}, "not_found")
	errTool(t, c, "read", map[string]any{"id": 42}, `"id"`)
	errTool(t, c, "create", map[string]any{"fields": map[string]any{"title": "x"}}, `"shape"`)
	errTool(t, c, "test_echo", map[string]any{}, `"text"`)
	errTool(t, c, "read", map[string]any{}, "id", "shape")

	// An unknown tool is a protocol error.
	var req mcp.CallToolRequest
	req.Params.Name = "no_such_tool"
	if _, err := c.CallTool(ctx, req); err == nil {
		t.Fatal("unknown tool: want an MCP error")
	}

	// The engine restarts: the next call redials over the same session.
	d.kill()
	startDaemon(t, home)
	okTool(t, c, "read", map[string]any{"id": node.ID}, &read)
	if read.ID != node.ID {
		t.Fatalf("read after restart gave %q", read.ID)
	}
	okTool(t, c, "status", nil, nil)
}

func TestMCPNoEngineSaysHowToStart(t *testing.T) {
	home := testkit.Home(t)
	c := mcpSession(t, home, "--no-autostart")
	errTool(t, c, "status", nil, "agentos start")
	if _, err := os.Stat(home + "/engine.sock"); err == nil {
		t.Fatal("--no-autostart started an engine")
	}
}

func TestMCPHelp(t *testing.T) {
	r := agentos(t, testkit.Home(t), "mcp", "--help")
	if r.code != 0 || !strings.Contains(r.stdout, "--no-autostart") {
		t.Fatalf("mcp --help: code %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

func TestMCPAutostartsTheEngine(t *testing.T) {
	home := testkit.Home(t)
	t.Cleanup(func() { agentos(t, home, "stop") })
	c := mcpSession(t, home)
	var st struct {
		Home string `json:"home"`
	}
	okTool(t, c, "status", nil, &st)
	if st.Home == "" {
		t.Fatal("status after autostart: no home")
	}
}

func TestMCPResourcesPromptsAndLiveTools(t *testing.T) {
	home := testkit.Home(t)
	testkit.AddSkill(t, home, "echoer", "", "from agentos import provides\n\n@provides(\"test.echo\")\ndef echo(text: str) -> dict:\n    \"\"\"Echo text back.\"\"\"\n    return {\"text\": text}\n")
	md := "---\nname: echoer\ndescription: Test skill echoer.\n---\nCall test.echo to hear your words again.\n"
	if err := os.WriteFile(filepath.Join(home, "skills", "echoer", "SKILL.md"), []byte(md), 0o600); err != nil {
		t.Fatal(err)
	}
	startDaemon(t, home)
	c := mcpSession(t, home, "--no-autostart")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// NewStdioMCPClient starts the transport without hooking notifications
	// up; Start (idempotent for the transport) does that.
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	changed := make(chan struct{}, 16)
	c.OnNotification(func(n mcp.JSONRPCNotification) {
		if n.Method == mcp.MethodNotificationToolsListChanged {
			changed <- struct{}{}
		}
	})

	// Shapes are resources; reading one gives shapes.get's JSON.
	rl, err := c.ListResources(ctx, mcp.ListResourcesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var uris []string
	for _, r := range rl.Resources {
		uris = append(uris, r.URI)
	}
	if !slices.Contains(uris, "agentos://shapes/note") {
		t.Fatalf("resources/list %v: no agentos://shapes/note", uris)
	}
	var rr mcp.ReadResourceRequest
	rr.Params.URI = "agentos://shapes/note"
	if text := resourceText(t, c, rr); !strings.Contains(text, `"name":"note"`) {
		t.Fatalf("shape note: %s", text)
	}
	rr.Params.URI = "agentos://shapes/no-such-shape"
	if _, err := c.ReadResource(ctx, rr); err == nil {
		t.Fatal("unknown shape: want an error")
	}

	// Nodes are a resource template.
	tl, err := c.ListResourceTemplates(ctx, mcp.ListResourceTemplatesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	tj, _ := json.Marshal(tl.ResourceTemplates)
	if !strings.Contains(string(tj), "agentos://nodes/{id}") {
		t.Fatalf("resources/templates/list: %s", tj)
	}
	var node struct {
		ID string `json:"id"`
	}
	okTool(t, c, "create", map[string]any{"shape": "note", "fields": map[string]any{"title": "resource note"}}, &node)
	rr.Params.URI = "agentos://nodes/" + node.ID
	if text := resourceText(t, c, rr); !strings.Contains(text, node.ID) || !strings.Contains(text, "resource note") {
		t.Fatalf("node resource: %s", text)
	}
	rr.Params.URI = "agentos://nodes/no-such-node"
	if _, err := c.ReadResource(ctx, rr); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("unknown node: want a not-found error, got %v", err)
	}

	// Each valid skill's guide is a prompt.
	pl, err := c.ListPrompts(ctx, mcp.ListPromptsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, pr := range pl.Prompts {
		if pr.Name == "echoer" && pr.Description == "Test skill echoer." {
			found = true
		}
	}
	if !found {
		t.Fatalf("prompts/list: no echoer prompt in %+v", pl.Prompts)
	}
	var gp mcp.GetPromptRequest
	gp.Params.Name = "echoer"
	got, err := c.GetPrompt(ctx, gp)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Messages) != 1 || got.Messages[0].Role != mcp.RoleUser {
		t.Fatalf("prompt echoer: %+v", got.Messages)
	}
	if tc, ok := got.Messages[0].Content.(mcp.TextContent); !ok || !strings.Contains(tc.Text, "hear your words again") {
		t.Fatalf("prompt echoer content: %+v", got.Messages[0].Content)
	}
	gp.Params.Name = "no-such-skill"
	if _, err := c.GetPrompt(ctx, gp); err == nil {
		t.Fatal("unknown prompt: want an error")
	}

	// logging/setLevel is answered.
	var sl mcp.SetLevelRequest
	sl.Params.Level = mcp.LoggingLevelDebug
	//lint:ignore SA1019 clients still send logging/setLevel; the server must answer it
	if err := c.SetLevel(ctx, sl); err != nil {
		t.Fatalf("logging/setLevel: %v", err)
	}

	// A skill installed during the session shows up as a tool, announced
	// with notifications/tools/list_changed.
	for len(changed) > 0 {
		<-changed
	}
	testkit.AddSkill(t, home, "shouter", "", "from agentos import provides\n\n@provides(\"test.shout\")\ndef shout(text: str) -> dict:\n    \"\"\"Shout text back.\"\"\"\n    return {\"text\": text.upper()}\n")
	select {
	case <-changed:
	case <-time.After(30 * time.Second):
		var logs []byte
		if r, ok := client.GetStderr(c); ok {
			go func() { time.Sleep(time.Second); c.Close() }()
			logs, _ = io.ReadAll(r)
		}
		t.Fatalf("no notifications/tools/list_changed after installing a skill; mcp logs:\n%s", logs)
	}
	tools, err := c.ListTools(ctx, mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tl := range tools.Tools {
		names = append(names, tl.Name)
	}
	if !slices.Contains(names, "test_shout") || !slices.Contains(names, "test_echo") || names[0] != "read" {
		t.Fatalf("tools after install: %v", names)
	}
	var shouted struct {
		Text string `json:"text"`
	}
	okTool(t, c, "test_shout", map[string]any{"text": "hi"}, &shouted)
	if shouted.Text != "HI" {
		t.Fatalf("test_shout gave %q", shouted.Text)
	}
}

// resourceText reads a resource that must exist and returns its text.
func resourceText(t *testing.T, c *client.Client, req mcp.ReadResourceRequest) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := c.ReadResource(ctx, req)
	if err != nil {
		t.Fatalf("resources/read %s: %v", req.Params.URI, err)
	}
	if len(res.Contents) != 1 {
		t.Fatalf("resources/read %s: %d contents", req.Params.URI, len(res.Contents))
	}
	tc, ok := res.Contents[0].(mcp.TextResourceContents)
	if !ok || tc.URI != req.Params.URI || tc.MIMEType != "application/json" {
		t.Fatalf("resources/read %s: %+v", req.Params.URI, res.Contents[0])
	}
	return tc.Text
}

func TestMCPProgressAndCancellation(t *testing.T) {
	home := testkit.Home(t)
	testkit.AddSkill(t, home, "counter", "", testkit.CountTools)
	testkit.AddSkill(t, home, "hanger", "capability(hang)", testkit.HangTools)
	startDaemon(t, home)
	c := mcpSession(t, home, "--no-autostart")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	progress := map[string][]map[string]any{} // by token, as text
	c.OnNotification(func(n mcp.JSONRPCNotification) {
		if n.Method != string(mcp.MethodNotificationProgress) {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		tok := fmt.Sprint(n.Params.AdditionalFields["progressToken"])
		progress[tok] = append(progress[tok], n.Params.AdditionalFields)
	})
	waitProgress := func(tok string, n int) []map[string]any {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			mu.Lock()
			got := slices.Clone(progress[tok])
			mu.Unlock()
			if len(got) >= n {
				return got
			}
			if time.Now().After(deadline) {
				t.Fatalf("progress for token %s: %v, want %d notifications", tok, got, n)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	// A capability tool with a progress token: each job.progress becomes a
	// notifications/progress, then the result comes.
	var req mcp.CallToolRequest
	req.Params.Name = "count"
	req.Params.Arguments = map[string]any{"n": 3}
	req.Params.Meta = &mcp.Meta{ProgressToken: "count-1"}
	res, err := c.CallTool(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if tc, ok := res.Content[0].(mcp.TextContent); res.IsError || !ok || tc.Text != `{"counted":3}` {
		t.Fatalf("count: %+v", res)
	}
	got := waitProgress("count-1", 3)
	last := got[2]
	if last["progress"] != 3.0 || last["total"] != 3.0 || last["message"] != "step 3" {
		t.Fatalf("last progress: %v", last)
	}
	// invoke too, with a numeric token.
	req.Params.Name = "invoke"
	req.Params.Arguments = map[string]any{"capability": "count", "params": map[string]any{"n": 2}}
	req.Params.Meta = &mcp.Meta{ProgressToken: 7}
	if res, err = c.CallTool(ctx, req); err != nil || res.IsError {
		t.Fatalf("invoke count: %v %+v", err, res)
	}
	waitProgress("7", 2)
	// No token, no notifications (and still a result).
	okTool(t, c, "count", map[string]any{"n": 1}, nil)

	// Cancelling the request (the client sends notifications/cancelled)
	// cancels the job: its worker and the worker's child are gone.
	marker := testkit.SkillDir(home, "hanger") // on the worker's command line and its child's
	cctx, ccancel := context.WithCancel(ctx)
	defer ccancel()
	done := testkit.CallHangMarked(cctx, c, marker)
	pids := testkit.WaitMarked(t, marker, 2)
	pids = append(pids, testkit.SandboxHelpers(pids)...)
	ccancel()
	if o := <-done; o.Err == nil {
		t.Fatal("cancelled tools/call: want an error")
	}
	testkit.WaitNoneMarked(t, marker, "the cancelled tool call")
	for _, pid := range pids {
		testkit.WaitGone(t, pid, "the cancelled tool call")
	}
	okTool(t, c, "status", nil, nil)
}

// An engine restart in the middle of a long capability call ends that call
// with an isError result saying so (jobs do not survive a restart, and the
// proxy never re-runs a call that may have side effects), whether the engine
// stopped cleanly (it cancels its jobs) or crashed; the session goes on and
// the next call works.
func TestMCPEngineRestartInterruptsALongCall(t *testing.T) {
	home := testkit.Home(t)
	testkit.AddSkill(t, home, "counter", "", testkit.CountTools)
	testkit.AddSkill(t, home, "hanger", "capability(hang)", testkit.HangTools)
	d := startDaemon(t, home)
	c := mcpSession(t, home, "--no-autostart")
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	marker := testkit.SkillDir(home, "hanger") // on the worker's command line and its child's
	for _, how := range []string{"stop", "crash"} {
		done := testkit.CallHangMarked(ctx, c, marker)
		pids := testkit.WaitMarked(t, marker, 2)
		pids = append(pids, testkit.SandboxHelpers(pids)...)
		if how == "stop" {
			d.stop()
		} else {
			d.kill()
			// A crashed engine could not stop its skill's processes.
			t.Cleanup(func() {
				for _, pid := range pids {
					syscall.Kill(pid, syscall.SIGKILL)
				}
			})
		}
		d = startDaemon(t, home)
		o := <-done
		if o.Err != nil {
			t.Fatalf("%s: the interrupted call failed at the protocol level: %v", how, o.Err)
		}
		var text strings.Builder
		for _, ct := range o.Result.Content {
			if tc, ok := ct.(mcp.TextContent); ok {
				text.WriteString(tc.Text)
			}
		}
		if !o.Result.IsError {
			t.Fatalf("%s: want isError, got %s", how, text.String())
		}
		for _, w := range []string{"hang", "interrupted", "engine restarted", "did not complete"} {
			if !strings.Contains(text.String(), w) {
				t.Fatalf("%s: error %q does not say %q", how, text.String(), w)
			}
		}
		if how == "stop" {
			testkit.WaitNoneMarked(t, marker, "the engine that ran it")
			for _, pid := range pids {
				testkit.WaitGone(t, pid, "the engine that ran it")
			}
		}
		// The session goes on: the next capability call and a data call work.
		var counted struct{ Counted int }
		okTool(t, c, "count", map[string]any{"n": 1}, &counted)
		if counted.Counted != 1 {
			t.Fatalf("%s: count after the restart gave %+v", how, counted)
		}
		okTool(t, c, "status", nil, nil)
	}
}

func TestMCPOverStreamableHTTP(t *testing.T) {
	home := testkit.Home(t)
	testkit.AddSkill(t, home, "echoer", "", "from agentos import provides\n\n@provides(\"test.echo\")\ndef echo(text: str) -> dict:\n    \"\"\"Echo text back.\"\"\"\n    return {\"text\": text}\n")
	startDaemon(t, home)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	logs, err := os.Create(filepath.Join(t.TempDir(), "mcp.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binPath, "mcp", "--no-autostart", "--http", addr)
	cmd.Env = append(os.Environ(), "AGENTOS_HOME="+home)
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	fail := func(format string, args ...any) {
		t.Helper()
		b, _ := os.ReadFile(logs.Name())
		t.Fatalf(format+"\nmcp logs:\n%s", append(args, b)...)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			fail("agentos mcp --http %s never listened", addr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	url := "http://" + addr + "/mcp"

	// A foreign Origin or Host is refused before MCP sees the request.
	initBody := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"` + mcp.LATEST_PROTOCOL_VERSION + `","capabilities":{},"clientInfo":{"name":"t","version":"0"}}}`
	post := func(origin, host string) int {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(initBody))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		if host != "" {
			req.Host = host
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.StatusCode
	}
	if code := post("http://evil.example", ""); code != http.StatusForbidden {
		fail("Origin http://evil.example: status %d, want 403", code)
	}
	if code := post("", "evil.example"); code != http.StatusForbidden {
		fail("Host evil.example: status %d, want 403", code)
	}
	if code := post("http://localhost:1234", ""); code != http.StatusOK {
		fail("Origin http://localhost:1234: status %d, want 200", code)
	}

	c, err := client.NewStreamableHttpClient(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	var init mcp.InitializeRequest
	init.Params.ProtocolVersion = mcp.LATEST_PROTOCOL_VERSION
	init.Params.ClientInfo = mcp.Implementation{Name: "agentos-test", Version: "0"}
	res, err := c.Initialize(ctx, init)
	if err != nil {
		fail("initialize over HTTP: %v", err)
	}
	if res.ServerInfo.Name != "agentos" {
		fail("server name %q", res.ServerInfo.Name)
	}
	tools, err := c.ListTools(ctx, mcp.ListToolsRequest{})
	if err != nil {
		fail("tools/list over HTTP: %v", err)
	}
	var names []string
	for _, tl := range tools.Tools {
		names = append(names, tl.Name)
	}
	if len(names) == 0 || names[0] != "read" || !slices.Contains(names, "test_echo") {
		fail("tools over HTTP: %v", names)
	}
	var echoed struct {
		Text string `json:"text"`
	}
	okTool(t, c, "test_echo", map[string]any{"text": "over http"}, &echoed)
	if echoed.Text != "over http" {
		fail("test_echo over HTTP gave %q", echoed.Text)
	}
}

// SIGTERM ends `agentos mcp` while its client still holds stdin open, and
// cancels the capability call it was running, job and processes. Stdin is a
// blocking pipe (the proxy reads it through a pollable description of its
// own, so the read is interrupted) or a blocking socket, as Node's
// child_process hands it over (the read cannot be interrupted: the proxy
// leaves it behind after a short grace).
func TestMCPStdioExitsOnSIGTERMWithStdinOpen(t *testing.T) {
	home := testkit.Home(t)
	testkit.AddSkill(t, home, "hanger", "capability(hang)", testkit.HangTools)
	startDaemon(t, home)
	for _, kind := range []string{"pipe", "socket"} {
		t.Run(kind, func(t *testing.T) {
			var fds [2]int
			var err error
			if kind == "pipe" {
				err = unix.Pipe2(fds[:], unix.O_CLOEXEC)
			} else {
				fds, err = unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
			}
			if err != nil {
				t.Fatal(err)
			}
			stdin, client := os.NewFile(uintptr(fds[0]), "stdin"), os.NewFile(uintptr(fds[1]), "client")
			defer client.Close() // held open until the process has gone
			outR, outW, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			defer outR.Close()
			logs, err := os.Create(filepath.Join(t.TempDir(), "mcp.log"))
			if err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(binPath, "mcp", "--no-autostart")
			cmd.Env = append(os.Environ(), "AGENTOS_HOME="+home)
			cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, outW, logs
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			stdin.Close()
			outW.Close()
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			t.Cleanup(func() { cmd.Process.Kill(); <-exited })
			fail := func(format string, args ...any) {
				t.Helper()
				b, _ := os.ReadFile(logs.Name())
				t.Fatalf(format+"\nmcp logs:\n%s", append(args, b)...)
			}
			lines := make(chan string, 64)
			go func() {
				sc := bufio.NewScanner(outR)
				for sc.Scan() {
					lines <- sc.Text()
				}
				close(lines)
			}()
			send := func(msg string) {
				t.Helper()
				if _, err := client.WriteString(msg + "\n"); err != nil {
					fail("write %s: %v", msg, err)
				}
			}

			send(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"0"}}}`)
			select {
			case l := <-lines:
				if !strings.Contains(l, `"serverInfo"`) {
					fail("initialize: %s", l)
				}
			case <-time.After(30 * time.Second):
				fail("no answer to initialize")
			}
			send(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)
			// The call's worker and child, found by the skill's folder on
			// their command lines (the pipe's are gone before the socket's start).
			marker := testkit.SkillDir(home, "hanger")
			send(`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"hang","arguments":{"marker":"` + marker + `"}}}`)
			pids := testkit.WaitMarked(t, marker, 2)
			pids = append(pids, testkit.SandboxHelpers(pids)...)
			t.Cleanup(func() {
				for _, pid := range pids {
					syscall.Kill(pid, syscall.SIGKILL)
				}
			})

			if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-exited:
				exited <- err
				if err != nil {
					fail("agentos mcp after SIGTERM: %v, want a clean exit", err)
				}
			case <-time.After(30 * time.Second):
				fail("agentos mcp still runs after SIGTERM, its stdin (a %s) held open", kind)
			}
			// Through a pipe the session ends at once, its calls cancelled
			// first. (With a socket, ServeStdio's grace gives the calls
			// time to do so, but the test does not rely on its length.)
			if kind == "pipe" {
				testkit.WaitNoneMarked(t, marker, "agentos mcp stopped by SIGTERM")
				for _, pid := range pids {
					testkit.WaitGone(t, pid, "agentos mcp stopped by SIGTERM")
				}
			}
		})
	}
}

// agentos mcp that would start an engine on a home with no graph (a client
// that dropped AGENTOS_HOME lands on an empty ~/.agentos) says so in its
// instructions; on a home in use it does not.
func TestMCPWarnsWhenItStartsAnEmptyEngine(t *testing.T) {
	initialize := func(home string) string {
		t.Helper()
		t.Cleanup(func() { agentos(t, home, "stop") })
		c, res := mcpInitialize(t, home)
		c.Close()
		return res.Instructions
	}
	fresh := testkit.Home(t)
	if got := initialize(fresh); !strings.HasPrefix(got, "WARNING: ") || !strings.Contains(got, "new, empty engine") || !strings.Contains(got, "AGENTOS_HOME") {
		t.Fatalf("instructions on a fresh home: %q", got)
	}
	agentos(t, fresh, "stop")
	if got := initialize(fresh); strings.Contains(got, "WARNING") {
		t.Fatalf("instructions on a home in use: %q", got)
	}
}

// A subscription to a node's URI follows the node: a change to it (made by
// anyone) sends notifications/resources/updated, a change to another node
// does not, and once the subscription ends no more come. Both ways MCP has
// to subscribe: resources/subscribe (2025-11-25) and subscriptions/listen
// (2026-07-28).
func TestMCPResourceSubscriptionsFollowTheNode(t *testing.T) {
	home := testkit.Home(t)
	d := startDaemon(t, home)
	sock := d.client(t)
	var n, other struct{ ID string }
	call(t, sock, "data.create", map[string]any{"shape": "task", "fields": map[string]any{"title": "watched"}}, &n)
	call(t, sock, "data.create", map[string]any{"shape": "task", "fields": map[string]any{"title": "not watched"}}, &other)
	uri := "agentos://nodes/" + n.ID

	for _, version := range []string{mcp.ProtocolVersion20251125, mcp.ProtocolVersion20260728} {
		t.Run(version, func(t *testing.T) {
			c, init := mcpInitializeVersion(t, home, version, "--no-autostart")
			if init.Capabilities.Resources == nil || !init.Capabilities.Resources.Subscribe || !init.Capabilities.Resources.ListChanged {
				t.Fatalf("resources capability %+v", init.Capabilities.Resources)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := c.Start(ctx); err != nil {
				t.Fatal(err)
			}
			updated := make(chan string, 16)
			c.OnNotification(func(n mcp.JSONRPCNotification) {
				if n.Method == string(mcp.MethodNotificationResourceUpdated) {
					updated <- fmt.Sprint(n.Params.AdditionalFields["uri"])
				}
			})
			var stop func()
			if version == mcp.ProtocolVersion20251125 {
				var sub mcp.SubscribeRequest
				sub.Params.URI = uri
				//lint:ignore SA1019 resources/subscribe is the 2025-11-25 way, which this tests
				if err := c.Subscribe(ctx, sub); err != nil {
					t.Fatal(err)
				}
				stop = func() {
					var unsub mcp.UnsubscribeRequest
					unsub.Params.URI = uri
					//lint:ignore SA1019 resources/unsubscribe is the 2025-11-25 way, which this tests
					if err := c.Unsubscribe(ctx, unsub); err != nil {
						t.Fatal(err)
					}
				}
			} else {
				s, err := c.ListenAsync(ctx, mcp.SubscriptionFilter{ResourceSubscriptions: []string{uri}}, func(err error) {})
				if err != nil {
					t.Fatal(err)
				}
				stop = s
				time.Sleep(300 * time.Millisecond) // the listen request reaches the server
			}
			call(t, sock, "data.update", map[string]any{"id": other.ID, "fields": map[string]any{"status": "done"}}, nil)
			call(t, sock, "data.update", map[string]any{"id": n.ID, "fields": map[string]any{"status": "done"}}, nil)
			select {
			case got := <-updated:
				if got != uri {
					t.Fatalf("updated %s, want only %s", got, uri)
				}
			case <-ctx.Done():
				t.Fatal("no notifications/resources/updated after the node changed")
			}
			stop()
			time.Sleep(300 * time.Millisecond)
			call(t, sock, "data.update", map[string]any{"id": n.ID, "fields": map[string]any{"status": "todo"}}, nil)
			// A ping after the change: its answer comes after any
			// notification the change would have sent.
			time.Sleep(300 * time.Millisecond)
			//lint:ignore SA1019 the 2025-11-25 session still pings; the answer orders the stream
			if err := c.Ping(ctx); err != nil {
				t.Fatal(err)
			}
			select {
			case got := <-updated:
				t.Fatalf("updated %s after the subscription ended", got)
			default:
			}
		})
	}
}
