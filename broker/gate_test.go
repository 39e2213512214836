package broker

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// gateFixture is a gate over a real audit file and one wrapped call of
// skill "demo" whose inner handler records what reaches it.
type gateFixture struct {
	auditPath string
	inner     *recorder
	ops       OpHandler
}

const demoAllowed = "http(api.example.com localhost:11434 [::1]:8080) secrets(openai) graph(read) capability(llm)"

func newGateFixture(t *testing.T, allowed string) *gateFixture {
	t.Helper()
	path := filepath.Join(t.TempDir(), "engine-io.jsonl")
	audit, err := OpenAuditLog(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { audit.Close() })
	inner := &recorder{}
	ops := NewGate(audit, nil).Wrap(testSkill(t, "demo", allowed), "fetch", "j1.1", inner)
	return &gateFixture{auditPath: path, inner: inner, ops: ops}
}

// auditLines decodes every line of the audit log, failing on one that is
// not a JSON object.
func (f *gateFixture) auditLines(t *testing.T) []map[string]any {
	t.Helper()
	b, err := os.ReadFile(f.auditPath)
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("audit line %q is not JSON: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}

func (f *gateFixture) reached() int {
	f.inner.mu.Lock()
	defer f.inner.mu.Unlock()
	return len(f.inner.ops)
}

func mkOp(name string, params any) Op {
	b, _ := json.Marshal(params)
	return Op{ID: "o1", Name: name, Params: b}
}

func TestGatePassesAllowedOpsWithTheirScope(t *testing.T) {
	cases := []struct {
		op    Op
		scope string
	}{
		{mkOp("http.request", map[string]any{"url": "https://api.example.com/v1?key=k"}), "api.example.com:443"},
		{mkOp("http.request", map[string]any{"url": "http://API.example.com/"}), "API.example.com:80"},
		{mkOp("http.request", map[string]any{"url": "http://localhost:11434/api"}), "localhost:11434"},
		{mkOp("http.request", map[string]any{"url": "http://[::1]:8080/"}), "[::1]:8080"},
		{mkOp("secrets.get", map[string]any{"name": "openai"}), "openai"},
		{mkOp("graph.read", map[string]any{"shape": "task"}), "read"},
		{mkOp("graph.search", map[string]any{"query": "x"}), "read"},
		{mkOp("capability.invoke", map[string]any{"capability": "llm", "params": map[string]any{}}), "llm"},
	}
	for i, tc := range cases {
		t.Run(tc.op.Name+" "+tc.scope, func(t *testing.T) {
			f := newGateFixture(t, demoAllowed)
			res, err := f.ops.HandleOp(context.Background(), tc.op)
			if err != nil || string(res) != string(tc.op.Params) || f.reached() != 1 {
				t.Fatalf("case %d: %s %v (reached the handler %d times)", i, res, err, f.reached())
			}
			lines := f.auditLines(t)
			if len(lines) != 1 || lines[0]["op"] != tc.op.Name || lines[0]["scope"] != tc.scope || lines[0]["allowed"] != true {
				t.Fatalf("audit %v", lines)
			}
		})
	}
}

func TestGateDeniesWhatAllowedToolsDoesNotGrantAndAuditsIt(t *testing.T) {
	cases := []struct {
		op   Op
		want string // the entry the message says to add
	}{
		{mkOp("http.request", map[string]any{"url": "https://evil.example/"}), "http(evil.example:443)"},
		{mkOp("http.request", map[string]any{"url": "http://localhost:8080/"}), "http(localhost:8080)"},
		{mkOp("http.request", map[string]any{"url": "http://127.0.0.1:11434/"}), "http(127.0.0.1:11434)"}, // localhost is granted, not its address
		// What an attacker writes to look like an allowed host.
		{mkOp("http.request", map[string]any{"url": "http://api.example.com@evil.example/"}), "http(evil.example:80)"},
		{mkOp("http.request", map[string]any{"url": "http://api.example.com.evil.example/"}), "http(api.example.com.evil.example:80)"},
		{mkOp("http.request", map[string]any{"url": "http://evil.example#@api.example.com/"}), "http(evil.example:80)"},
		{mkOp("http.request", map[string]any{"url": "http://[::1]:9/"}), "http([::1]:9)"},
		{mkOp("secrets.get", map[string]any{"name": "github"}), "secrets(github)"},
		{mkOp("graph.write", map[string]any{"shape": "task", "items": []any{}}), "graph(write)"},
		{mkOp("capability.invoke", map[string]any{"capability": "web.read"}), "capability(web.read)"},
		{mkOp("agent.run", map[string]any{"agent": "researcher", "task": "x"}), "agents(researcher)"},
	}
	for _, tc := range cases {
		t.Run(tc.want, func(t *testing.T) {
			f := newGateFixture(t, demoAllowed)
			_, err := f.ops.HandleOp(context.Background(), tc.op)
			var be *Error
			if !errors.Is(err, ErrDenied) || !errors.As(err, &be) || be.ErrorKind() != KindDenied {
				t.Fatalf("error %v, want denied", err)
			}
			if want := "add " + tc.want + " to allowed-tools in its SKILL.md, or grant it in config.yaml under skills.demo.grant"; !strings.HasPrefix(err.Error(), "skill demo may not "+tc.op.Name+" ") ||
				!strings.HasSuffix(err.Error(), want) {
				t.Fatalf("message %q does not end %q", err, want)
			}
			if f.reached() != 0 {
				t.Fatal("a denied op reached the handler")
			}
			lines := f.auditLines(t)
			if len(lines) != 1 || lines[0]["allowed"] != false || lines[0]["error"] != err.Error() {
				t.Fatalf("audit %v", lines)
			}
		})
	}
}

func TestGateRefusesUnknownOpsAndBadParamsWithoutRepeatingThem(t *testing.T) {
	const secret = "sk-live-0123456789"
	cases := []struct {
		name string
		op   Op
		msg  string
	}{
		{"unknown op", mkOp("files.read", map[string]any{"path": "/etc/passwd"}), `unknown op "files.read"`},
		{"an op name that is all but the prefix", mkOp("http.request2", nil), `unknown op "http.request2"`},
		{"not a URL scheme it serves", mkOp("http.request", map[string]any{"url": "file:///etc/passwd?k=" + secret}), "http.request: not an absolute http(s) URL (scheme://host/...)"},
		{"no host", mkOp("http.request", map[string]any{"url": "http:///path?key=" + secret}), "http.request: not an absolute http(s) URL (scheme://host/...)"},
		{"relative", mkOp("http.request", map[string]any{"url": "/v1/chat?key=" + secret}), "http.request: not an absolute http(s) URL (scheme://host/...)"},
		{"unparsable", mkOp("http.request", map[string]any{"url": "http://api.example.com:port/?key=" + secret}), "http.request: not an absolute http(s) URL (scheme://host/...)"},
		{"no url", mkOp("http.request", map[string]any{}), "http.request: not an absolute http(s) URL (scheme://host/...)"},
		{"params not an object", Op{Name: "http.request", Params: json.RawMessage(`["http://api.example.com/?key=` + secret + `"]`)}, "http.request: params must be a JSON object"},
		{"a secret's value where its name goes", mkOp("secrets.get", map[string]any{"name": "Bearer " + secret}), `secrets.get: param "name" is not a valid secret name: use 1 to 128 characters of A-Z a-z 0-9 _ . -`},
		{"no secret name", mkOp("secrets.get", map[string]any{}), `secrets.get: param "name" is not a valid secret name: use 1 to 128 characters of A-Z a-z 0-9 _ . -`},
		{"a bad capability name", mkOp("capability.invoke", map[string]any{"capability": "LLM " + secret}), `capability.invoke: param "capability" is not a capability name (like llm or web.read)`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// Granting everything proves the refusal is not a permission's.
			f := newGateFixture(t, "http secrets graph capability")
			_, err := f.ops.HandleOp(context.Background(), tc.op)
			if !errors.Is(err, ErrInvalid) || err.Error() != tc.msg {
				t.Fatalf("error %v, want invalid %q", err, tc.msg)
			}
			if f.reached() != 0 {
				t.Fatal("a refused op reached the handler")
			}
			b, _ := os.ReadFile(f.auditPath)
			if strings.Contains(err.Error()+string(b), secret) {
				t.Fatalf("the secret leaked: %v\n%s", err, b)
			}
			if lines := f.auditLines(t); len(lines) != 1 || lines[0]["allowed"] != false || lines[0]["op"] != tc.op.Name {
				t.Fatalf("audit %v", lines)
			}
		})
	}
}

func TestGateClipsAHugeUnknownOpName(t *testing.T) {
	f := newGateFixture(t, demoAllowed)
	name := strings.Repeat("x", 1<<20)
	_, err := f.ops.HandleOp(context.Background(), Op{Name: name})
	if !errors.Is(err, ErrInvalid) || len(err.Error()) > 200 {
		t.Fatalf("error of %d bytes: %.200v", len(err.Error()), err)
	}
	if b, _ := os.ReadFile(f.auditPath); len(b) > 1000 {
		t.Fatalf("audit line of %d bytes", len(b))
	}
}

func TestAuditLinesHoldEveryFieldAndNeverParamsOrResults(t *testing.T) {
	f := newGateFixture(t, demoAllowed)
	f.inner.serve = func(ctx context.Context, op Op) (json.RawMessage, error) {
		if op.Name == "graph.read" {
			return nil, &RunError{Kind: KindNotFound, Message: "no node n1"}
		}
		return json.RawMessage(`"sk-the-secret-value"`), nil
	}
	ctx := context.Background()
	f.ops.HandleOp(ctx, mkOp("secrets.get", map[string]any{"name": "openai"}))
	f.ops.HandleOp(ctx, mkOp("graph.read", map[string]any{"id": "n1", "where": "private words"}))
	f.ops.HandleOp(ctx, mkOp("secrets.get", map[string]any{"name": "github"}))
	lines := f.auditLines(t)
	if len(lines) != 3 {
		t.Fatalf("%d audit lines, want 3", len(lines))
	}
	for i, l := range lines {
		for _, key := range []string{"at", "skill", "tool", "call_id", "op", "scope", "allowed", "ms"} {
			if _, ok := l[key]; !ok {
				t.Fatalf("line %d lacks %s: %v", i, key, l)
			}
		}
		if l["skill"] != "demo" || l["tool"] != "fetch" || l["call_id"] != "j1.1" {
			t.Fatalf("line %d: %v", i, l)
		}
		if at, err := time.Parse(time.RFC3339Nano, l["at"].(string)); err != nil || at.Location() != time.UTC {
			t.Fatalf("line %d at %v: %v", i, l["at"], err)
		}
		if ms, ok := l["ms"].(float64); !ok || ms < 0 {
			t.Fatalf("line %d ms %v", i, l["ms"])
		}
	}
	if _, ok := lines[0]["error"]; ok || lines[0]["allowed"] != true {
		t.Fatalf("a served op: %v", lines[0])
	}
	// An allowed op that fails is allowed, with the handler's error.
	if lines[1]["allowed"] != true || lines[1]["error"] != "no node n1" {
		t.Fatalf("a failed op: %v", lines[1])
	}
	if lines[2]["allowed"] != false || !strings.Contains(lines[2]["error"].(string), "secrets(github)") {
		t.Fatalf("a denied op: %v", lines[2])
	}
	b, _ := os.ReadFile(f.auditPath)
	if strings.Contains(string(b), "sk-the-secret-value") || strings.Contains(string(b), "private words") {
		t.Fatalf("params or results in the audit log:\n%s", b)
	}
	if fi, err := os.Stat(f.auditPath); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("audit log mode: %v %v", fi.Mode(), err)
	}
}

func TestAuditLinesFromConcurrentOpsNeverInterleave(t *testing.T) {
	f := newGateFixture(t, demoAllowed)
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := []string{"openai", "github"}[i%2]
			f.ops.HandleOp(context.Background(), mkOp("secrets.get", map[string]any{"name": name}))
		}()
	}
	wg.Wait()
	if lines := f.auditLines(t); len(lines) != 200 {
		t.Fatalf("%d lines, want 200", len(lines))
	}
}

func TestAFailedAuditWriteIsLoggedAndTheOpGoesOn(t *testing.T) {
	audit, err := OpenAuditLog(filepath.Join(t.TempDir(), "engine-io.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	audit.Close()
	var logged bytes.Buffer
	inner := &recorder{}
	ops := NewGate(audit, slog.New(slog.NewTextHandler(&logged, nil))).Wrap(testSkill(t, "demo", demoAllowed), "fetch", "j1.1", inner)
	if _, err := ops.HandleOp(context.Background(), mkOp("graph.read", nil)); err != nil || len(inner.ops) != 1 {
		t.Fatalf("op with a closed audit log: %v", err)
	}
	if !strings.Contains(logged.String(), "audit log") || !strings.Contains(logged.String(), "skill=demo") {
		t.Fatalf("nothing logged: %q", logged.String())
	}
}

func TestGateBoundsTheOpsInFlightOfOneCall(t *testing.T) {
	f := newGateFixture(t, demoAllowed)
	release := make(chan struct{})
	entered := make(chan struct{}, 2*MaxOpsInFlight)
	f.inner.serve = func(ctx context.Context, op Op) (json.RawMessage, error) {
		entered <- struct{}{}
		<-release
		return nil, nil
	}
	var wg sync.WaitGroup
	for range MaxOpsInFlight {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f.ops.HandleOp(context.Background(), mkOp("graph.read", nil))
		}()
	}
	for range MaxOpsInFlight {
		<-entered
	}
	// Every slot is taken: one more op waits, and gives up with its call.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := f.ops.HandleOp(ctx, mkOp("graph.read", nil))
	if !errors.Is(err, ErrCancelled) || err.Error() != "graph.read: the call ended" {
		t.Fatalf("op past the bound: %v", err)
	}
	if f.reached() != MaxOpsInFlight {
		t.Fatalf("%d ops reached the handler, want %d", f.reached(), MaxOpsInFlight)
	}
	// Another call has slots of its own.
	other := NewGate(mustAudit(t), nil).Wrap(testSkill(t, "demo", demoAllowed), "fetch", "j2.1", &recorder{})
	if _, err := other.HandleOp(context.Background(), mkOp("graph.read", nil)); err != nil {
		t.Fatalf("another call: %v", err)
	}
	// One op ends: a waiting one gets its slot.
	waiting := make(chan error, 1)
	go func() {
		_, err := f.ops.HandleOp(context.Background(), mkOp("graph.read", nil))
		waiting <- err
	}()
	release <- struct{}{}
	<-entered // the waiting op is in
	close(release)
	if err := <-waiting; err != nil {
		t.Fatal(err)
	}
	wg.Wait()
}

func mustAudit(t *testing.T) *AuditLog {
	t.Helper()
	a, err := OpenAuditLog(filepath.Join(t.TempDir(), "engine-io.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

func TestGatePassesProgressAndLogThrough(t *testing.T) {
	f := newGateFixture(t, "")
	f.ops.Progress(1, 2, "half", "")
	f.ops.Log("warning", "careful")
	if len(f.inner.progress) != 1 || f.inner.progress[0] != "1/2 half" || len(f.inner.logs) != 1 || f.inner.logs[0] != "warning: careful" {
		t.Fatalf("progress %q logs %q", f.inner.progress, f.inner.logs)
	}
}

// A real worker's op goes through the gate: what is denied reaches the
// skill as a denied op_result, and the handler never sees it.
func TestGatedRunnerCallDeniesAnUngrantedOpToTheWorker(t *testing.T) {
	r := newTestRunner(t, nil)
	f := newGateFixture(t, demoAllowed)
	run := func(name string, params any) map[string]any {
		call := fixtureCall(t, "op", map[string]any{"op": name, "params": params})
		res, err := r.Run(context.Background(), call, f.ops)
		if err != nil {
			t.Fatal(err)
		}
		var reply map[string]any
		decode(t, res, &reply)
		return reply
	}
	reply := run("secrets.get", map[string]any{"name": "github"})
	e, _ := reply["error"].(map[string]any)
	if e["kind"] != KindDenied || !strings.Contains(e["message"].(string), "add secrets(github) to allowed-tools") || f.reached() != 0 {
		t.Fatalf("denied op: %v (reached %d)", reply, f.reached())
	}
	reply = run("secrets.get", map[string]any{"name": "openai"})
	if reply["error"] != nil || f.reached() != 1 {
		t.Fatalf("allowed op: %v", reply)
	}
	if lines := f.auditLines(t); len(lines) != 2 || lines[0]["allowed"] != false || lines[1]["allowed"] != true {
		t.Fatalf("audit %v", lines)
	}
}

func TestCheckRedirectAllowsOnlyHostsInScope(t *testing.T) {
	sk := testSkill(t, "demo", demoAllowed)
	for raw, ok := range map[string]bool{
		"https://api.example.com/next":   true,
		"http://localhost:11434/":        true,
		"http://localhost/":              false, // port 80, not 11434
		"http://169.254.169.254/latest/": false,
		"https://evil.example/":          false,
	} {
		u, _ := url.Parse(raw)
		err := CheckRedirect(sk, u)
		if (err == nil) != ok || (err != nil && (!errors.Is(err, ErrDenied) || !strings.Contains(err.Error(), "add http("+HTTPScope(u)+")"))) {
			t.Fatalf("%s: %v", raw, err)
		}
	}
}

func TestCheckCallRefusesAReturnsToolWithoutGraphWrite(t *testing.T) {
	sk := testSkill(t, "demo", "graph(read)", "fetch=x")
	sk.Tools[0].Returns = "task[]"
	err := CheckCall(sk, &sk.Tools[0])
	if !errors.Is(err, ErrDenied) || err.Error() != "demo.fetch returns task[] items, which are stored in the graph: add graph(write) to allowed-tools in its SKILL.md, or grant it in config.yaml under skills.demo.grant" {
		t.Fatalf("returns without graph(write): %v", err)
	}
	sk.Tools[0].Returns = ""
	if err := CheckCall(sk, &sk.Tools[0]); err != nil {
		t.Fatal(err)
	}
	sk = testSkill(t, "demo", "graph(read write)", "fetch=x")
	sk.Tools[0].Returns = "task"
	if err := CheckCall(sk, &sk.Tools[0]); err != nil {
		t.Fatal(err)
	}
}

func TestCheckHTTPDialRefusesTheEnginesOwnListenersAndLocalAddresses(t *testing.T) {
	// Even a skill that names the bridge's address exactly never reaches it.
	sk := testSkill(t, "demo", "http(* 127.0.0.1:3456 127.0.0.1:8080 localhost:8080)")
	own := []Listener{{Name: "bridge", Addr: netip.MustParseAddrPort("127.0.0.1:3456")}}
	for _, tc := range []struct {
		host, port, ip string
		want           string // "" allowed, else a piece of the error
	}{
		{"127.0.0.1", "3456", "127.0.0.1", "the engine's own bridge"},
		{"localhost", "3456", "::1", "the engine's own bridge"},
		{"0.0.0.0", "3456", "0.0.0.0", "the engine's own bridge"},
		{"rebind.example", "3456", "::ffff:127.0.0.1", "the engine's own bridge"},
		{"127.0.0.1", "8080", "127.0.0.1", ""},
		{"localhost", "8080", "127.0.0.1", ""},
		{"rebind.example", "80", "127.0.0.1", "rebind.example:80 (it resolves to 127.0.0.1, a loopback address"},
		{"169.254.169.254", "80", "169.254.169.254", "169.254.169.254:80 (a cloud metadata address"},
		{"example.com", "443", "93.184.216.34", ""},
	} {
		err := CheckHTTPDial(sk, tc.host, tc.port, netip.MustParseAddr(tc.ip), own)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s:%s at %s: %v", tc.host, tc.port, tc.ip, err)
		case tc.want != "" && (!errors.Is(err, ErrDenied) || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s:%s at %s: %v, want denied with %q", tc.host, tc.port, tc.ip, err, tc.want)
		}
	}
	err := CheckHTTPDial(sk, "rebind.example", "80", netip.MustParseAddr("127.0.0.1"), own)
	if !strings.Contains(err.Error(), "add http(rebind.example:80) to allowed-tools in its SKILL.md, or grant it in config.yaml under skills.demo.grant") {
		t.Fatalf("the denial does not name the entry to add: %v", err)
	}
}

// A denial the http op finds after the gate let it through (a name that
// resolves to loopback, a redirect) is audited as not allowed; an op that
// merely fails stays allowed.
func TestGateAuditsADenialOfTheHTTPOpAsNotAllowed(t *testing.T) {
	f := newGateFixture(t, "http(*)")
	f.inner.serve = func(ctx context.Context, op Op) (json.RawMessage, error) {
		var p struct{ URL string }
		json.Unmarshal(op.Params, &p)
		if strings.Contains(p.URL, "rebind") {
			return nil, CheckHTTPDial(testSkill(t, "demo", "http(*)"), "rebind.example", "80", netip.MustParseAddr("127.0.0.1"), nil)
		}
		return nil, &RunError{Kind: KindUnavailable, Message: "connection refused"}
	}
	_, err := f.ops.HandleOp(context.Background(), mkOp("http.request", map[string]any{"url": "http://rebind.example/?key=s3cret"}))
	if !errors.Is(err, ErrDenied) {
		t.Fatalf("rebind: %v", err)
	}
	f.ops.HandleOp(context.Background(), mkOp("http.request", map[string]any{"url": "http://down.example/"}))
	f.ops.HandleOp(context.Background(), mkOp("http.request", map[string]any{"url": "http://127.0.0.1:9/"}))
	lines := f.auditLines(t)
	if len(lines) != 3 || lines[0]["allowed"] != false || lines[1]["allowed"] != true || lines[2]["allowed"] != false {
		t.Fatalf("audit %v", lines)
	}
	if f.reached() != 2 {
		t.Fatalf("127.0.0.1 under http(*) reached the handler: %d ops", f.reached())
	}
	if b, _ := os.ReadFile(f.auditPath); strings.Contains(string(b), "s3cret") {
		t.Fatalf("the query reached the audit log:\n%s", b)
	}
}
