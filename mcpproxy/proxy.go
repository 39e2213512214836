package mcpproxy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/agentos/agentos/engine/wire"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// MaxText is the size past which a tool result's text is cut, with a note on
// how to ask for less.
const MaxText = 20 << 10

// toolName is what an MCP tool name may be (clients reject anything else).
var toolName = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

// Options configure New.
type Options struct {
	Home      string       // AGENTOS_HOME of the engine
	Autostart bool         // run `agentos start` when no engine answers at startup
	Version   string       // reported to MCP clients
	Logger    *slog.Logger // where diagnostics go (never stdout); nil: discarded
	// Executable is the agentos binary to start the engine with (default
	// os.Executable()).
	Executable string
}

// Proxy is the MCP server of one engine home.
type Proxy struct {
	srv *server.MCPServer
	eng *wire.Redialer
	log *slog.Logger

	refreshMu   sync.Mutex
	capJSON     map[string]string       // capability tool name -> the tool as JSON, to spot changes
	capNames    map[string]string       // capability tool name -> the capability, for completion
	taskTools   map[string]taskTool     // capability tool name -> its task support, for tools that have one
	shapeRes    []server.ServerResource // the shapes' resources, kept when shapes.list fails
	served      served                  // prompts and resources as last served
	sessions    sessions
	completions completions
	taskInputs  taskInputs
	skillFiles  skillFiles
	streams     callStreams
	parked      parkedCalls
	fixed       map[string]*fixedHandler // the fixed tools but invoke, by name: the stdio fast path's
	info        mcp.Implementation       // the server, as protocol 2026-07-28 results name it
	serverInfo  json.RawMessage          // info as JSON
}

// iconSVG is the server's icon: three linked nodes, as a data URI.
const iconSVG = "data:image/svg+xml;base64," +
	"PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciIHZpZXdCb3g9IjAgMCA2NCA2NCI+PHBhdGggZD0iTTE2IDQ0IEwzMiAxNiBMNDggNDQgWiIgZmlsbD0ibm9uZSIgc3Ryb2tlPSIjMzM2NmNjIiBzdHJva2Utd2lkdGg9IjQiLz48Y2lyY2xlIGN4PSIzMiIgY3k9IjE2IiByPSI4IiBmaWxsPSIjMzM2NmNjIi8+PGNpcmNsZSBjeD0iMTYiIGN5PSI0NCIgcj0iOCIgZmlsbD0iIzMzOTk2NiIvPjxjaXJjbGUgY3g9IjQ4IiBjeT0iNDQiIHI9IjgiIGZpbGw9IiNjYzY2MzMiLz48L3N2Zz4="

// fixedTool is one of the tools every proxy has.
type fixedTool struct {
	name, title, method, desc string
	params                    any      // the method's params struct (engine/wire): the tool's schema
	omit                      []string // params the tool does not offer
	readOnly                  bool
	build                     func(args map[string]any) (any, string) // engine params, or a message on bad arguments
	asIs                      bool                                    // build's params are args themselves (when not a message)
	rawSchema                 json.RawMessage                         // the input schema, when not params'
}

func passArgs(args map[string]any) (any, string) { return args, "" }

var fixedTools = []fixedTool{
	{name: "read", title: "Read the graph", method: wire.MethodRead, readOnly: true,
		desc: "Read from the local agentos graph. Give `id` to read one node, or `shape` (e.g. task, note, person) to list a page of nodes of that shape, " +
			"optionally filtered with `where` (field -> value equality) and sorted with `order`. Pages hold `limit` nodes (default engine page size); " +
			"when the result has a `cursor`, pass it back to get the next page. Use this when you know an id or want to browse nodes of a shape; use `search` to find nodes by words.",
		params: wire.ReadParams{}, asIs: true,
		build: func(args map[string]any) (any, string) {
			if args["id"] == nil && args["shape"] == nil {
				return nil, "read needs either \"id\" (one node) or \"shape\" (a page of nodes of that shape)"
			}
			return args, ""
		}},
	{name: "search", title: "Search the graph", method: wire.MethodSearch, readOnly: true,
		desc: "Full-text search over the local agentos graph. Returns hits with the node, a snippet and a rank. " +
			"Use this to find nodes by words when you do not know their id; narrow it with `shape`.",
		params: wire.SearchParams{},
		build:  passArgs, asIs: true},
	{name: "create", title: "Create a node", method: wire.MethodCreate,
		desc: "Create a node of a shape in the local agentos graph, or update the existing one with the same identity (upsert). " +
			"Returns the node with its id, plus warnings when a value had to be coerced. Use this to remember something new (a task, a note, a person...).",
		params: wire.CreateParams{},
		build:  passArgs, asIs: true},
	{name: "update", title: "Update a node", method: wire.MethodUpdate,
		desc:   "Change fields of an existing node by id: the given fields are merged in, and a null value removes a field. Returns the updated node.",
		params: wire.UpdateParams{},
		build:  passArgs, asIs: true},
	{name: "delete", title: "Delete a node", method: wire.MethodDelete,
		desc:   "Delete a node by id (a soft delete: it can be restored). Returns the deleted node.",
		params: wire.IDParams{},
		build:  passArgs, asIs: true},
	{name: "link", title: "Link two nodes", method: wire.MethodLink,
		desc:   "Link two nodes with a labelled edge (from --label--> to), e.g. a task `assigned_to` a person. Returns the edge.",
		params: wire.LinkParams{},
		build:  passArgs, asIs: true},
	{name: "write", title: "Write nodes (a batch)", method: wire.MethodWrite, desc: writeDesc,
		rawSchema: writeSchema(nil),
		build: func(args map[string]any) (any, string) {
			args["partial"] = true
			return args, ""
		}},
	{name: "invoke", title: "Invoke a capability", method: wire.MethodInvoke,
		desc: "Invoke any capability by its exact name (e.g. web.read) with its params; the engine picks the best provider skill unless `provider` names one. " +
			"Prefer the dedicated capability tools when they are listed; use this for a capability without one, or to choose the provider.",
		params: wire.InvokeParams{}, omit: []string{"async", "client_features"},
		build: passArgs},
	{name: "skills", title: "List the skills", method: wire.MethodSkillsList, readOnly: true,
		desc: "List the installed skills with their tools, the capabilities they provide, their permissions, and why a skill is invalid if it is. " +
			"Use this to see what agentos can do.",
		params: wire.NoParams{},
		build:  passArgs},
	{name: "status", title: "Engine status", method: wire.MethodStatus, readOnly: true,
		desc: "Engine status: version, uptime, database path, node and edge counts by shape, shapes, skills and running jobs. " +
			"Use this for an overview of what the local graph holds.",
		params: wire.NoParams{},
		build:  passArgs},
}

// redialBackoff is the wait between dial attempts when the engine does not
// answer at call time: about 2 s in all.
var redialBackoff = []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 600 * time.Millisecond, 700 * time.Millisecond}

// capability is one entry of system.schema's capabilities.
type capability struct {
	Capability string `json:"capability"`
	Providers  []struct {
		Skill       string          `json:"skill"`
		Tool        string          `json:"tool"`
		Description string          `json:"description"`
		Params      json.RawMessage `json:"params"`
		Result      json.RawMessage `json:"result"`
		Returns     string          `json:"returns"`
		Meta        map[string]any  `json:"meta"`
	} `json:"providers"`
}

// New builds the MCP server: it reaches the engine (starting it when allowed
// and needed) and builds one tool per capability from system.schema, the
// shape resources and the skill prompts. With no engine, it serves the fixed
// tools only until ServeStdio's watcher reaches one.
// freshHome says, when home holds no graph yet, that an engine started there
// begins empty, and how to point at another home; "" for a home in use.
func freshHome(home string) string {
	if _, err := os.Stat(wire.PathsFor(home).DB); err == nil {
		return ""
	}
	how := "set AGENTOS_HOME in the MCP client's config (\"env\": {\"AGENTOS_HOME\": \"...\"}, or claude mcp add -e AGENTOS_HOME=...)"
	if os.Getenv("AGENTOS_HOME") == "" {
		return fmt.Sprintf("AGENTOS_HOME is not set, so this starts a new, empty engine on %s; if the user's data lives in another home, %s.", home, how)
	}
	return fmt.Sprintf("%s holds no graph yet: this starts a new, empty engine there; if the user's data lives in another home, %s.", home, how)
}

func New(ctx context.Context, opts Options) (*Proxy, error) {
	lg := opts.Logger
	if lg == nil {
		lg = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.Version == "" {
		opts.Version = "dev"
	}
	p := &Proxy{eng: wire.NewRedialer(wire.PathsFor(opts.Home).Socket, wire.ClientOptions{Name: "mcp"}, redialBackoff...),
		log: lg, capJSON: map[string]string{}, fixed: map[string]*fixedHandler{}}

	_, err := p.eng.Connect(ctx)
	connected := err == nil
	instructions := "agentos is the user's local capability broker: a typed graph of their data (read, search, create, update, delete, link) " +
		"and skills that provide capabilities (one tool each, or `invoke`). Use `status` and `skills` to see what is there. " +
		"Shapes are resources (agentos://shapes/{name}), nodes too (agentos://nodes/{id}), and each skill's guide is a prompt."
	switch {
	case connected:
	case opts.Autostart:
		if fresh := freshHome(opts.Home); fresh != "" {
			// A client that dropped AGENTOS_HOME would quietly get a second,
			// empty graph: say so where the user and the model both look.
			lg.Warn(fresh, "home", opts.Home)
			instructions = "WARNING: " + fresh + " " + instructions
		}
		lg.Info("no engine answers; starting it", "home", opts.Home)
		if err := startEngine(ctx, opts, lg); err != nil {
			lg.Error("could not start the engine", "err", err)
		}
	default:
		lg.Warn("no engine answers; tools will fail until it runs (`agentos start`)", "home", opts.Home, "err", err)
	}

	order := map[string]int{}
	for i, ft := range fixedTools {
		order[ft.name] = i
	}
	rank := func(name string) int {
		if i, ok := order[name]; ok {
			return i
		}
		return len(fixedTools)
	}
	hooks := p.sessions.hooks()
	hooks.AddOnUnregisterSession(func(_ context.Context, sess server.ClientSession) { p.streams.endSession(sess.SessionID()) })
	info := mcp.Implementation{Name: "agentos", Version: opts.Version, Title: "agentos: your local graph and skills",
		Icons: []mcp.Icon{{Src: iconSVG, MIMEType: "image/svg+xml", Sizes: []string{"any"}}}}
	p.info = info
	if p.serverInfo, err = json.Marshal(info); err != nil {
		return nil, fmt.Errorf("encode the server's info: %w", err)
	}
	p.srv = server.NewMCPServer("agentos", opts.Version,
		server.WithToolCapabilities(true),
		server.WithResourceCapabilities(true, true),
		server.WithHooks(hooks),
		server.WithCompletions(),
		server.WithElicitation(),
		server.WithExtensions(map[string]any{skillsExtension: map[string]any{"directoryRead": true}, tasksExtension: map[string]any{}}),
		server.WithPromptCompletionProvider(promptCompleter{p}),
		server.WithResourceCompletionProvider(resourceCompleter{p}),
		server.WithPromptCapabilities(true),
		server.WithLogging(),
		server.WithRecovery(),
		server.WithInstructions(instructions),
		server.WithTitle(info.Title),
		server.WithIcons(info.Icons...),
		// Fixed tools first, then capability tools: mcp-go lists tools by
		// name, this puts the fixed ones back in the proxy's order.
		server.WithToolFilter(func(_ context.Context, tools []mcp.Tool) []mcp.Tool {
			if len(tools) < 2 {
				return tools // mcp-go checks each tools/call against the filter, one tool at a time
			}
			sort.SliceStable(tools, func(i, j int) bool { return rank(tools[i].Name) < rank(tools[j].Name) })
			return tools
		}),
	)

	p.srv.EnableSampling()
	for _, ft := range fixedTools {
		ft := ft
		raw := ft.rawSchema
		if raw == nil {
			raw = wire.Schema(ft.params, ft.omit...)
		}
		tool := mcp.NewToolWithRawSchema(ft.name, ft.desc, raw)
		tool.Title = ft.title
		tool.Annotations = annotations(ft.readOnly, ft.name == "delete")
		h := &fixedHandler{p: p, ft: ft, sch: compileArgs(raw)}
		if ft.method != wire.MethodInvoke {
			p.fixed[ft.name] = h
		}
		h.handler = func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			args, bad := arguments(req)
			if bad != "" {
				return mcp.NewToolResultError(ft.name + ": " + bad), nil
			}
			return h.call(ctx, args, nil, &req), nil
		}
		h.tool = tool
		p.srv.AddTool(tool, h.handler)
	}
	p.syncSkillItems(ctx, nil, nil, nil) // the node template, before the engine answers

	if connected || opts.Autostart {
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		p.refresh(sctx)
		cancel()
	}
	return p, nil
}

// fixedHandler serves one fixed tool's calls.
type fixedHandler struct {
	p       *Proxy
	ft      fixedTool
	sch     *argSchema
	tool    mcp.Tool // as listed
	handler server.ToolHandlerFunc
}

// call checks args against the tool's schema and makes its engine call;
// raw is args as the client sent them, or nil, and req the MCP request,
// which invoke needs (progress, tasks), or nil. Arguments the tool passes
// on as they are go to the engine in the client's own encoding.
func (h *fixedHandler) call(ctx context.Context, args map[string]any, raw json.RawMessage, req *mcp.CallToolRequest) *mcp.CallToolResult {
	bad := h.sch.check(args)
	var params any
	if bad == "" {
		params, bad = h.ft.build(args)
		if h.ft.asIs && raw != nil && !hasNumber(args) {
			params = raw // a number is re-encoded: 5.0 or 1e3 would not decode as an engine int
		}
	}
	if bad != "" {
		return mcp.NewToolResultError(h.ft.name + ": " + bad)
	}
	if h.ft.method == wire.MethodInvoke {
		var ip wire.InvokeParams
		if b, err := json.Marshal(params); err != nil || json.Unmarshal(b, &ip) != nil {
			return mcp.NewToolResultError(h.ft.name + ": the arguments do not fit capabilities.invoke's params")
		}
		return h.p.invokeJob(ctx, *req, ip)
	}
	return h.p.forward(ctx, h.ft.method, params, h.ft.readOnly, hint(h.ft.name))
}

// hasNumber says whether v holds a number anywhere.
func hasNumber(v any) bool {
	switch v := v.(type) {
	case float64:
		return true
	case map[string]any:
		for _, e := range v {
			if hasNumber(e) {
				return true
			}
		}
	case []any:
		for _, e := range v {
			if hasNumber(e) {
				return true
			}
		}
	}
	return false
}

// capTools builds one tool per capability (secrets.* left out), named
// MCP-safe and unique against the fixed tools.
func (p *Proxy) capTools(caps []capability) map[string]server.ServerTool {
	taken := map[string]bool{}
	for _, ft := range fixedTools {
		taken[ft.name] = true
	}
	out := map[string]server.ServerTool{}
	names := map[string]string{}
	tasks := map[string]taskTool{}
	defer func() { p.capNames, p.taskTools = names, tasks }()
	sort.Slice(caps, func(i, j int) bool { return caps[i].Capability < caps[j].Capability })
	for _, c := range caps {
		if strings.HasPrefix(c.Capability, "secrets.") || len(c.Providers) == 0 {
			continue
		}
		name := uniqueName(wire.ToolName(c.Capability), taken)
		taken[name] = true
		if !toolName.MatchString(name) {
			p.log.Warn("skipping a tool whose name MCP clients reject", "tool", name)
			continue
		}
		capName := c.Capability
		names[name] = capName
		pr := c.Providers[0]
		raw := pr.Params
		if len(bytes.TrimSpace(raw)) == 0 || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
			raw = json.RawMessage(`{"type":"object","properties":{}}`)
		}
		desc := strings.TrimSpace(pr.Description)
		if desc == "" {
			desc = "Capability " + capName + "."
		}
		desc += fmt.Sprintf("\n\nRuns the agentos capability %q (best provider now: %s/%s). Use this when the task needs what it describes; "+
			"to pick another provider, use `invoke` with `provider`.", capName, pr.Skill, pr.Tool)
		tool := mcp.NewToolWithRawSchema(name, desc, raw)
		tool.Annotations = annotations(false, false)
		if title, _ := pr.Meta["title"].(string); title != "" {
			tool.Title = title // @provides(..., title="...")
		}
		tool.Icons = iconOf(pr.Meta["icon"]) // @provides(..., icon="https://... or data:...")
		tool.RawOutputSchema = outputSchema(pr.Returns, pr.Result)
		sch := compileArgs(raw)
		support, _ := pr.Meta["task"].(string)
		if support != "optional" && support != taskRequired {
			support = ""
		}
		var requires []string
		if rs, ok := pr.Meta["requires"].([]any); ok {
			for _, r := range rs {
				if s, ok := r.(string); ok && (s == wire.FeatureElicitation || s == wire.FeatureSampling) {
					requires = append(requires, s)
				}
			}
		}
		if support != "" || len(requires) > 0 {
			tasks[name] = taskTool{capability: capName, support: support, requires: requires, schema: sch}
		}
		if support != "" {
			tool.Execution = &mcp.ToolExecution{TaskSupport: mcp.TaskSupport(support)}
		}
		out[name] = server.ServerTool{Tool: tool, Handler: func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			args, bad := arguments(req)
			if bad == "" {
				bad = sch.check(args)
			}
			if bad != "" {
				return mcp.NewToolResultError(name + ": " + bad), nil
			}
			raw, err := json.Marshal(args)
			if err != nil {
				return mcp.NewToolResultError(name + ": " + err.Error()), nil
			}
			return p.invokeJob(ctx, req, wire.InvokeParams{Capability: capName, Params: raw}), nil
		}}
	}
	return out
}

func annotations(readOnly, destructive bool) mcp.ToolAnnotation {
	return mcp.ToolAnnotation{
		ReadOnlyHint:    mcp.ToBoolPtr(readOnly),
		DestructiveHint: mcp.ToBoolPtr(destructive),
		IdempotentHint:  mcp.ToBoolPtr(readOnly),
		OpenWorldHint:   mcp.ToBoolPtr(!readOnly),
	}
}

// Server is the mcp-go server, for transports other than stdio.
func (p *Proxy) Server() *server.MCPServer { return p.srv }

// ServeStdio serves MCP on in/out until in ends or ctx is done. The end of
// in (the client closing our stdin, MCP's way to end a stdio session) also
// cancels the requests still running, their engine jobs included.
//
// Once ctx is done it returns promptly, whatever in is and whether or not
// the client keeps it open; the requests still running are cancelled at
// once. A read of a file the runtime polls (the pipe pollable reopens, or a
// file polled already) is interrupted with a read deadline in the past, and
// ServeStdio returns when those requests have cancelled their jobs. Any
// other reader (a terminal, a socket, a plain io.Reader) stays in its read:
// ServeStdio returns without it after stdioStopGrace, which gives the
// requests time to cancel their jobs.
func (p *Proxy) ServeStdio(ctx context.Context, in io.Reader, out io.Writer) error {
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	go p.watch(wctx)
	in, closeIn := pollable(in)
	defer closeIn()
	defer interruptOnDone(ctx, in)()
	done := make(chan error, 1)
	go func() { done <- p.serveStdio(ctx, in, out) }()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		t := time.NewTimer(stdioStopGrace)
		select {
		case err = <-done:
		case <-t.C:
			p.log.Warn("stdin could not be interrupted; leaving its read behind", "grace", stdioStopGrace)
		}
		t.Stop()
	}
	p.eng.Close()
	if ctx.Err() != nil || errors.Is(err, io.EOF) {
		return nil
	}
	return err
}

// interruptOnDone makes a read of in that waits end once ctx is done, if in
// is a file the runtime polls, by setting a read deadline in the past. The
// returned func undoes it, so a file of the caller's is left as it was.
func interruptOnDone(ctx context.Context, in io.Reader) (undo func()) {
	f, ok := in.(*os.File)
	if !ok {
		return func() {}
	}
	set := make(chan bool, 1)
	stop := context.AfterFunc(ctx, func() {
		set <- f.SetReadDeadline(time.Unix(1, 0)) == nil // os.ErrNoDeadline: not pollable
	})
	return func() {
		if !stop() && <-set {
			f.SetReadDeadline(time.Time{})
		}
	}
}

// Close ends the engine connection.
func (p *Proxy) Close() { p.eng.Close() }

// arguments decodes a call's arguments as an object.
func arguments(req mcp.CallToolRequest) (map[string]any, string) {
	switch a := req.Params.Arguments.(type) {
	case nil:
		return map[string]any{}, ""
	case map[string]any:
		return a, ""
	case json.RawMessage:
		var m map[string]any
		if len(bytes.TrimSpace(a)) == 0 || bytes.Equal(bytes.TrimSpace(a), []byte("null")) {
			return map[string]any{}, ""
		}
		if json.Unmarshal(a, &m) != nil || m == nil {
			return nil, "arguments must be a JSON object"
		}
		return m, ""
	}
	return nil, "arguments must be a JSON object"
}

// hint says how to ask for less when a result is cut.
func hint(tool string) string {
	switch tool {
	case "read":
		return "pass a smaller `limit` and follow `cursor` for the next page, or read one `id`"
	case "search":
		return "pass a smaller `limit` or a `shape`"
	case "skills", "status":
		return "read specific items with `read` instead"
	}
	return ""
}

// forward makes the engine call and turns its answer into a tool result.
func (p *Proxy) forward(ctx context.Context, method string, params any, readOnly bool, pageHint string) *mcp.CallToolResult {
	var raw json.RawMessage
	err := p.eng.Call(ctx, method, params, &raw, readOnly)
	if err != nil {
		return errorResult(err)
	}
	return resultOf(raw, pageHint)
}

func errorResult(err error) *mcp.CallToolResult {
	var ee *wire.Error
	switch {
	case errors.As(err, &ee):
		return mcp.NewToolResultError(fmt.Sprintf("%s (error kind: %s)", ee.Message, ee.Kind))
	case errors.Is(err, wire.ErrUnreachable):
		return mcp.NewToolResultError(fmt.Sprintf("the agentos engine is not running or does not answer (%v); start it with `agentos start`, then retry", err))
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return mcp.NewToolResultError("the call was cancelled or timed out: " + err.Error())
	}
	return mcp.NewToolResultError(err.Error())
}

// resultOf renders an engine result: content blocks as they are (a skill's
// rich result), a string as its text, anything else as compact JSON text
// (cut at MaxText with a note) plus the same value as structuredContent.
// raw must be compact (as the engine sends it) and not shared.
func resultOf(raw json.RawMessage, pageHint string) *mcp.CallToolResult {
	if rich := richToolResult(raw); rich != nil {
		return rich
	}
	if s := bytes.TrimSpace(raw); len(s) > 0 && s[0] == '"' { // a string is text, not JSON
		text := plainText(s)
		if len(text) <= MaxText {
			return &mcp.CallToolResult{Content: []mcp.Content{mcp.NewTextContent(text)},
				RawStructuredContent: json.RawMessage(`{"result":` + string(s) + `}`)}
		}
	}
	// The engine's results are encoding/json's, compact already; raw is
	// the wire client's copy, ours alone.
	text := []byte(raw)
	res := &mcp.CallToolResult{}
	if len(text) > 0 && text[0] == '{' {
		res.RawStructuredContent = text
	} else {
		res.RawStructuredContent = json.RawMessage(`{"result":` + string(text) + `}`)
	}
	if len(text) > MaxText {
		cut := text[:MaxText]
		for len(cut) > 0 && cut[len(cut)-1]&0xC0 == 0x80 { // do not split a UTF-8 sequence
			cut = cut[:len(cut)-1]
		}
		if len(cut) > 0 && cut[len(cut)-1] >= 0xC0 {
			cut = cut[:len(cut)-1]
		}
		note := "\n\n[truncated: the result is " + strconv.Itoa(len(text)) + " bytes, only the first " + strconv.Itoa(len(cut)) + " are shown"
		if pageHint != "" {
			note += "; to see the rest, " + pageHint
		} else {
			note += "; ask for less"
		}
		note += "]"
		// The structured copy would carry the whole thing again.
		res.RawStructuredContent = nil
		res.Content = []mcp.Content{mcp.NewTextContent(string(cut) + note)}
		return res
	}
	res.Content = append([]mcp.Content{mcp.NewTextContent(string(text))}, nodeLinks(text)...)
	return res
}

// uniqueName appends _2, _3... (keeping within 64 characters) until name is free.
func uniqueName(name string, taken map[string]bool) string {
	if !taken[name] {
		return name
	}
	for n := 2; ; n++ {
		suffix := "_" + strconv.Itoa(n)
		base := name
		if len(base)+len(suffix) > 64 {
			base = base[:64-len(suffix)]
		}
		if !taken[base+suffix] {
			return base + suffix
		}
	}
}

// startEngine runs `agentos start` with the same binary and home, its output
// sent to the log (stdout is the MCP channel).
func startEngine(ctx context.Context, opts Options, lg *slog.Logger) error {
	exe := opts.Executable
	if exe == "" {
		var err error
		if exe, err = os.Executable(); err != nil {
			return err
		}
	}
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(sctx, exe, "start")
	cmd.Env = append(os.Environ(), "AGENTOS_HOME="+opts.Home)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if s := strings.TrimSpace(out.String()); s != "" {
		lg.Info("agentos start", "output", s)
	}
	return err
}
