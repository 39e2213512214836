package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
)

// sseEvent is one Server-Sent Event as a client reads it.
type sseEvent struct {
	id, data string
	retry    string
}

// readEvent reads the next event from br; io.EOF when the stream ended.
func readEvent(br *bufio.Reader) (sseEvent, error) {
	var ev sseEvent
	seen := false
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return ev, err
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			if seen {
				return ev, nil
			}
			continue
		}
		seen = true
		k, v, _ := strings.Cut(line, ":")
		v = strings.TrimPrefix(v, " ")
		switch k {
		case "id":
			ev.id = v
		case "retry":
			ev.retry = v
		case "data":
			if ev.data != "" {
				ev.data += "\n"
			}
			ev.data += v
		}
	}
}

// httpMCP is a raw Streamable HTTP session of protocol 2025-11-25.
type httpMCP struct {
	t       *testing.T
	url     string
	session string
}

func newHTTPMCP(t *testing.T, url string) *httpMCP {
	t.Helper()
	m := &httpMCP{t: t, url: url}
	res := m.post(context.Background(), `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"`+mcp.ProtocolVersion20251125+`","capabilities":{},"clientInfo":{"name":"t","version":"0"}}}`)
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	m.session = res.Header.Get("Mcp-Session-Id")
	if m.session == "" {
		t.Fatalf("initialize: %d, no session", res.StatusCode)
	}
	res = m.post(context.Background(), `{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	res.Body.Close()
	return m
}

func (m *httpMCP) post(ctx context.Context, body string) *http.Response {
	m.t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, m.url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if m.session != "" {
		req.Header.Set("Mcp-Session-Id", m.session)
		req.Header.Set("Mcp-Protocol-Version", mcp.ProtocolVersion20251125)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		m.t.Fatal(err)
	}
	return res
}

func (m *httpMCP) resume(session, lastEventID string) *http.Response {
	m.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, m.url, nil)
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Mcp-Session-Id", session)
	req.Header.Set("Mcp-Protocol-Version", mcp.ProtocolVersion20251125)
	req.Header.Set("Last-Event-ID", lastEventID)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		m.t.Fatal(err)
	}
	return res
}

// A long call's stream starts with a priming event; a client whose
// connection drops mid-call loses nothing: it comes back with GET and
// Last-Event-ID and reads the answer the call produced meanwhile. Another
// session cannot read that stream, and a made-up id is refused.
func TestMCPHTTPCallStreamResumesAfterTheConnectionDrops(t *testing.T) {
	url, logs := mcpHTTP(t, everythingHome(t, false))
	m := newHTTPMCP(t, url)
	other := newHTTPMCP(t, url)

	ctx, drop := context.WithCancel(context.Background())
	res := m.post(ctx, `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"slow_compute","arguments":{"seconds":1.5,"label":"resumed"}}}`)
	if ct := res.Header.Get("Content-Type"); res.StatusCode != http.StatusOK || !strings.HasPrefix(ct, "text/event-stream") {
		t.Fatalf("tools/call: %d %q\n%s", res.StatusCode, ct, logs())
	}
	prime, err := readEvent(bufio.NewReader(res.Body))
	if err != nil || prime.id == "" || prime.data != "" || prime.retry == "" {
		t.Fatalf("first event %+v (%v), want an id, a retry and no data", prime, err)
	}
	drop() // the network goes while the call runs
	res.Body.Close()

	if r := other.resume(other.session, prime.id); r.StatusCode != http.StatusNotFound {
		t.Errorf("another session resumed the stream: %d", r.StatusCode)
	}
	if r := m.resume(m.session, "agentos-000000000000000000000000.0"); r.StatusCode != http.StatusNotFound {
		t.Errorf("a made-up Last-Event-ID: %d, want 404", r.StatusCode)
	}

	time.Sleep(2 * time.Second) // (the call ends while no one listens)
	r := m.resume(m.session, prime.id)
	defer r.Body.Close()
	if r.StatusCode != http.StatusOK {
		t.Fatalf("resume: %d", r.StatusCode)
	}
	br := bufio.NewReader(r.Body)
	for {
		ev, err := readEvent(br)
		if err != nil {
			t.Fatalf("the resumed stream ended without the answer (%v)\n%s", err, logs())
		}
		if !strings.Contains(ev.data, `"id":7`) {
			continue
		}
		if !strings.HasPrefix(ev.id, strings.TrimSuffix(prime.id, ".0")+".") || !strings.Contains(ev.data, "computed resumed after 1.5 seconds") {
			t.Fatalf("the answer: id %q data %s", ev.id, ev.data)
		}
		break
	}
	if _, err := readEvent(br); err != io.EOF {
		t.Errorf("the stream stays open after the answer: %v", err)
	}
}

// The proxy's own methods (the skills extension here) refuse a session
// mcp-go does not know, as mcp-go's do: 404.
func TestMCPHTTPOwnMethodsRefuseAnUnknownSession(t *testing.T) {
	url, _ := mcpHTTP(t, everythingHome(t, false))
	m := newHTTPMCP(t, url)
	list := `{"jsonrpc":"2.0","id":3,"method":"skills/list","params":{}}`
	res := m.post(context.Background(), list)
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.Contains(string(body), "mcp-everything") {
		t.Fatalf("skills/list on the session: %d %s", res.StatusCode, body)
	}
	m.session = "made-up-session"
	res = m.post(context.Background(), list)
	body, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusNotFound || strings.Contains(string(body), "mcp-everything") {
		t.Fatalf("skills/list on a made-up session: %d %s", res.StatusCode, body)
	}
}

// A task tool's tools/call, which the proxy's tasks layer answers, checks
// an x-mcp-header parameter's Mcp-Param-* header against the arguments as
// mcp-go does for every other tool: a mismatch is 400 with -32020.
func TestMCPHTTPTaskCallsCheckParamHeaders(t *testing.T) {
	url, logs := mcpHTTP(t, everythingHome(t, false))
	call := func(region, header string) (int, string) {
		body := `{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"test_header_param","arguments":{"region":"` + region + `"},` +
			`"_meta":{"io.modelcontextprotocol/protocolVersion":"` + mcp.LATEST_PROTOCOL_VERSION + `",` +
			`"io.modelcontextprotocol/clientInfo":{"name":"t","version":"0"},` +
			`"io.modelcontextprotocol/clientCapabilities":{"extensions":{"io.modelcontextprotocol/tasks":{}}}}}}`
		req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set("Mcp-Protocol-Version", mcp.LATEST_PROTOCOL_VERSION)
		req.Header.Set("Mcp-Method", "tools/call")
		req.Header.Set("Mcp-Name", "test_header_param")
		req.Header.Set("Mcp-Param-Region", header)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if code, body := call("eu", "us"); code != http.StatusBadRequest || !strings.Contains(body, `-32020`) {
		t.Fatalf("a mismatched Mcp-Param-Region: %d %s\n%s", code, body, logs())
	}
	if code, body := call("eu", "eu"); code != http.StatusOK || !strings.Contains(body, `"resultType":"task"`) {
		t.Fatalf("a matching Mcp-Param-Region: %d %s\n%s", code, body, logs())
	}
}
