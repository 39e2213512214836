package mcpproxy

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/agentos/agentos/engine/wire"
	"github.com/agentos/agentos/internal/testkit"
	"github.com/mark3labs/mcp-go/mcp"
)

// The stdio fast path answers what it takes exactly as mcp-go would, and
// leaves the rest to mcp-go: each request below goes both ways, against a
// real engine, and the two answers must be the same JSON.
func TestFastToolCallsAnswerAsMCPGoDoes(t *testing.T) {
	home := testkit.Home(t)
	testkit.RunEngine(t, home)
	ctx := context.Background()
	c, err := wire.DialHome(ctx, home, wire.ClientOptions{Name: "test"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var plain, odd, big struct{ ID string }
	if err := c.Call(ctx, wire.MethodCreate, map[string]any{"shape": "note", "fields": map[string]any{"title": "Plain", "content": "a note"}}, &plain); err != nil {
		t.Fatal(err)
	}
	if err := c.Call(ctx, wire.MethodCreate, map[string]any{"shape": "note", "fields": map[string]any{
		"title": "Odd <b>&</b> \"quoted\" \\ back\u2028line\u2029para \x01 é 日本 🙂", "content": "tab\there\nnewline\r"}}, &odd); err != nil {
		t.Fatal(err)
	}
	if err := c.Call(ctx, wire.MethodCreate, map[string]any{"shape": "note", "fields": map[string]any{"title": "Big", "content": strings.Repeat("long é ", 5000)}}, &big); err != nil {
		t.Fatal(err)
	}

	p, err := New(ctx, Options{Home: home, Version: "test", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	sess := &stdioSession{notifications: make(chan mcp.JSONRPCNotification, 100)}
	if err := p.srv.RegisterSession(ctx, sess); err != nil {
		t.Fatal(err)
	}
	sctx := p.srv.WithContext(ctx, sess)

	modern := `"_meta":{"io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/clientInfo":{"name":"t","version":"0"},"io.modelcontextprotocol/protocolVersion":"` + mcp.LATEST_PROTOCOL_VERSION + `"},`
	callOf := func(meta, name, args string) string {
		return `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{` + meta + `"name":"` + name + `","arguments":` + args + `}}`
	}
	type request struct {
		what, msg string
		fast      bool // the fast path takes it
	}
	legacyBeforeInit := request{"a legacy call before initialize", callOf("", "read", `{"id":"`+plain.ID+`"}`), false}
	requests := []request{
		{"read {id}, 2026-07-28", callOf(modern, "read", `{"id":"`+plain.ID+`"}`), true},
		{"read of odd characters", callOf(modern, "read", `{"id":"`+odd.ID+`"}`), true},
		{"a result over MaxText", callOf(modern, "read", `{"id":"`+big.ID+`"}`), true},
		{"a page of nodes", callOf(modern, "read", `{"shape":"note","limit":2}`), true},
		{"search", callOf(modern, "search", `{"query":"note"}`), true},
		{"skills", callOf(modern, "skills", `{}`), true},
		{"arguments absent", `{"jsonrpc":"2.0","id":"s1","method":"tools/call","params":{` + modern + `"name":"skills"}}`, true},
		{"arguments the schema refuses", callOf(modern, "read", `{"id":5}`), true},
		{"arguments build refuses", callOf(modern, "read", `{}`), true},
		{"an engine error", callOf(modern, "read", `{"id":"01ARZ3NDEKTSV4RRFFQ69G5FAV"}`), true},
		{"a progress token", callOf(strings.Replace(modern, `"_meta":{`, `"_meta":{"progressToken":"p",`, 1), "read", `{"id":"`+plain.ID+`"}`), true},
		{"numbers re-encoded", callOf(modern, "read", `{"shape":"note","limit":2.0}`), true},
		{"a log level", callOf(strings.Replace(modern, `"_meta":{`, `"_meta":{"io.modelcontextprotocol/logLevel":"debug",`, 1), "read", `{"id":"`+plain.ID+`"}`), false},
		{"capabilities that do not decode", callOf(strings.Replace(modern, `"io.modelcontextprotocol/clientCapabilities":{}`, `"io.modelcontextprotocol/clientCapabilities":{"sampling":5}`, 1), "read", `{"id":"`+plain.ID+`"}`), false},
		{"a task", `{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{` + modern + `"name":"read","task":{},"arguments":{"id":"` + plain.ID + `"}}}`, false},
		{"invoke", callOf(modern, "invoke", `{"capability":"x"}`), false},
		{"an unknown tool", callOf(modern, "nope", `{}`), false},
		{"arguments that are an array", callOf(modern, "read", `[1]`), false},
		{"jsonrpc 1.0", strings.Replace(callOf(modern, "read", `{"id":"`+plain.ID+`"}`), `"2.0"`, `"1.0"`, 1), false},
		{"an unknown protocol version", callOf(strings.Replace(modern, mcp.LATEST_PROTOCOL_VERSION, "2099-01-01", 1), "read", `{"id":"`+plain.ID+`"}`), false},
		{"modern without capabilities", callOf(`"_meta":{"io.modelcontextprotocol/protocolVersion":"`+mcp.LATEST_PROTOCOL_VERSION+`"},`, "read", `{"id":"`+plain.ID+`"}`), false},
	}
	check := func(r request) {
		t.Helper()
		var env struct{ ID json.RawMessage }
		_ = json.Unmarshal([]byte(r.msg), &env)
		fast, ok := p.fastCall(sctx, sess, env.ID, []byte(r.msg))
		if ok != r.fast {
			t.Errorf("%s: fast path taken %v, want %v", r.what, ok, r.fast)
			return
		}
		if !ok {
			return
		}
		viaGo, err := json.Marshal(p.srv.HandleMessage(sctx, json.RawMessage(r.msg)))
		if err != nil {
			t.Fatal(err)
		}
		var a, b any
		if err := json.Unmarshal(fast, &a); err != nil {
			t.Fatalf("%s: the fast answer is not JSON: %v\n%s", r.what, err, fast)
		}
		_ = json.Unmarshal(viaGo, &b)
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%s: answers differ\nfast:   %.600s\nmcp-go: %.600s", r.what, fast, viaGo)
		}
		if !utf8.Valid(fast) || !json.Valid(fast) {
			t.Errorf("%s: the fast answer is not valid UTF-8 JSON", r.what)
		}
	}
	check(legacyBeforeInit) // first: a modern request, served by mcp-go, initializes the session
	for _, r := range requests {
		check(r)
	}

	// Once the session is initialized (protocol 2025-11-25), its calls
	// without _meta take the fast path too.
	initMsg := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"0"}}}`
	if resp := p.srv.HandleMessage(sctx, json.RawMessage(initMsg)); resp == nil {
		t.Fatal("no answer to initialize")
	}
	p.srv.HandleMessage(sctx, json.RawMessage(`{"jsonrpc":"2.0","method":"notifications/initialized"}`))
	legacyBeforeInit.what, legacyBeforeInit.fast = "a 2025-11-25 call", true
	check(legacyBeforeInit)
	check(request{"a 2025-11-25 error", callOf("", "read", `{}`), true})
}

// BenchmarkFastReadCall is the proxy's own work on a fast read {id}, less
// the stdio pipes: against a real engine, with the same read made straight
// on the socket as the baseline (go test -bench FastRead ./mcpproxy).
func BenchmarkFastReadCall(b *testing.B) {
	home := testkit.Home(b)
	testkit.RunEngine(b, home)
	ctx := context.Background()
	c, err := wire.DialHome(ctx, home, wire.ClientOptions{Name: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	var n struct{ ID string }
	if err := c.Call(ctx, wire.MethodCreate, map[string]any{"shape": "note", "fields": map[string]any{"title": "A note", "content": strings.Repeat("words ", 40)}}, &n); err != nil {
		b.Fatal(err)
	}
	p, err := New(ctx, Options{Home: home, Version: "test", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	sess := &stdioSession{notifications: make(chan mcp.JSONRPCNotification, 100)}
	if err := p.srv.RegisterSession(ctx, sess); err != nil {
		b.Fatal(err)
	}
	sctx := p.srv.WithContext(ctx, sess)
	msg := []byte(`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"_meta":{"io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/clientInfo":{"name":"t","version":"0"},"io.modelcontextprotocol/protocolVersion":"` +
		mcp.LATEST_PROTOCOL_VERSION + `"},"name":"read","arguments":{"id":"` + n.ID + `"}}}`)
	b.Run("socket", func(b *testing.B) {
		for b.Loop() {
			var raw json.RawMessage
			if err := c.Call(ctx, wire.MethodRead, map[string]any{"id": n.ID}, &raw); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("fast", func(b *testing.B) {
		for b.Loop() {
			if _, ok := p.fastCall(sctx, sess, json.RawMessage("7"), msg); !ok {
				b.Fatal("not fast")
			}
		}
	})
	b.Run("mcp-go", func(b *testing.B) {
		for b.Loop() {
			if _, err := json.Marshal(p.srv.HandleMessage(sctx, msg)); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// A notifications/cancelled reaches a call on the fast path: against an
// engine that never answers data.read, the cancelled read ends at once
// with a cancelled result, and the session goes on.
func TestFastCallsAreCancelled(t *testing.T) {
	home := testkit.Home(t)
	ln, err := net.Listen("unix", wire.PathsFor(home).Socket)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	held := make(chan struct{}, 1)
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				sc := bufio.NewScanner(conn)
				for sc.Scan() {
					var req struct {
						ID     json.RawMessage `json:"id"`
						Method string          `json:"method"`
					}
					if json.Unmarshal(sc.Bytes(), &req) != nil || req.ID == nil {
						continue
					}
					switch req.Method {
					case wire.MethodRead: // held, never answered
						held <- struct{}{}
					case wire.MethodHello:
						fmt.Fprintf(conn, `{"jsonrpc":"2.0","id":%s,"result":{}}`+"\n", req.ID)
					default:
						fmt.Fprintf(conn, `{"jsonrpc":"2.0","id":%s,"error":{"code":-32601,"message":"not here"}}`+"\n", req.ID)
					}
				}
			}()
		}
	}()
	s := serveStdioPeer(t, home)
	s.initialize()
	s.send(`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"read","arguments":{"id":"01ARZ3NDEKTSV4RRFFQ69G5FAV"}}}`)
	select {
	case <-held:
	case <-time.After(30 * time.Second):
		t.Fatal("the read never reached the engine")
	}
	s.send(`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":3}}`)
	if m := s.response("3"); !strings.Contains(string(m), "cancelled") || !strings.Contains(string(m), `"isError":true`) {
		t.Fatalf("the cancelled read answered %s", m)
	}
	s.send(`{"jsonrpc":"2.0","id":"p","method":"ping"}`)
	if m := s.response(`"p"`); strings.Contains(string(m), "error") {
		t.Fatalf("ping after the cancel: %s", m)
	}
}
