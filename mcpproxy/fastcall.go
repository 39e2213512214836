package mcpproxy

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/agentos/agentos/internal/jsonstr"
)

// The stdio fast path. A tools/call of a fixed data tool (read, search,
// create, update, delete, link, write, skills, status) is most of what an agent
// sends, and mcp-go spends more on one than the engine does: it decodes the
// message six times, reflects over the result to decorate it, and its
// encoder compacts every nested MarshalJSON again (docs/performance.md).
// So the stdio transport answers those calls itself, with the same tool
// handler and the same bytes on the wire, and hands mcp-go everything
// else: any other method or tool, a call with a task, a progress token or
// any other _meta than the three every 2026-07-28 request carries, a call
// from a session not yet initialized, and anything malformed (mcp-go's
// error is the answer). fastcall_test.go holds the two paths to the same
// answers. A notifications/cancelled reaches a fast call as it reaches
// mcp-go's (fastCalls).

// fastRequest is the part of a tools/call the fast path reads.
type fastRequest struct {
	JSONRPC string `json:"jsonrpc"`
	Params  struct {
		Name      string          `json:"name"`
		Arguments json.RawMessage `json:"arguments"`
		Meta      *fastMeta       `json:"_meta"`
		Task      json.RawMessage `json:"task"`
	} `json:"params"`
}

// fastMeta is what of a request's _meta bears on a fixed tool's call: the
// three fields every 2026-07-28 request carries, and a log level (which
// mcp-go keeps for the session). A progress token needs nothing: fixed
// tools report no progress. Other fields (tracing) mcp-go ignores here.
type fastMeta struct {
	ProtocolVersion    string          `json:"io.modelcontextprotocol/protocolVersion"`
	ClientCapabilities json.RawMessage `json:"io.modelcontextprotocol/clientCapabilities"`
	LogLevel           json.RawMessage `json:"io.modelcontextprotocol/logLevel"`
}

// fastCalls are the fast calls running, by request id, to cancel.
type fastCalls struct {
	mu sync.Mutex
	m  map[string]context.CancelFunc
}

func (f *fastCalls) add(key string, cancel context.CancelFunc) {
	f.mu.Lock()
	if f.m == nil {
		f.m = map[string]context.CancelFunc{}
	}
	f.m[key] = cancel
	f.mu.Unlock()
}

func (f *fastCalls) done(key string) {
	f.mu.Lock()
	delete(f.m, key)
	f.mu.Unlock()
}

// cancel cancels the fast call of key, if one runs.
func (f *fastCalls) cancel(key string) {
	f.mu.Lock()
	c := f.m[key]
	f.mu.Unlock()
	if c != nil {
		c()
	}
}

// serveFast answers a tools/call on the fast path, if it can, and writes
// the answer: true when it did. key is the request's id as the client's
// notifications/cancelled names it.
// req is msg decoded, when the read loop has done it already, or nil.
func (p *Proxy) serveFast(ctx context.Context, w *lineWriter, calls *fastCalls, key string, rawID json.RawMessage, msg []byte, req *fastRequest) (served bool) {
	defer func() {
		if r := recover(); r != nil { // answered, not run again: it may have written
			p.log.Error("MCP tool call panicked", "panic", r)
			var id any
			_ = json.Unmarshal(rawID, &id)
			if err := w.send(mcp.JSONRPCError{JSONRPC: mcp.JSONRPC_VERSION, ID: mcp.NewRequestId(id),
				Error: mcp.NewJSONRPCErrorDetails(mcp.INTERNAL_ERROR, fmt.Sprintf("internal error: %v", r), nil)}); err != nil {
				p.log.Warn("write response", "err", err)
			}
			served = true
		}
	}()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	calls.add(key, cancel)
	defer calls.done(key)
	if req == nil {
		req = new(fastRequest)
		if json.Unmarshal(msg, req) != nil {
			return false
		}
	}
	line, ok := p.fastCallOf(ctx, server.ClientSessionFromContext(ctx), rawID, req)
	if !ok {
		return false
	}
	if err := w.w.WriteLine(line); err != nil {
		p.log.Warn("write response", "err", err)
	}
	return true
}

// fastCall answers msg, a tools/call with the given raw id, when the fast
// path can: the response line, and true. With false, msg is mcp-go's.
func (p *Proxy) fastCall(ctx context.Context, sess server.ClientSession, rawID json.RawMessage, msg []byte) ([]byte, bool) {
	var req fastRequest
	if json.Unmarshal(msg, &req) != nil {
		return nil, false
	}
	return p.fastCallOf(ctx, sess, rawID, &req)
}

// fastCallOf is fastCall of the request decoded.
func (p *Proxy) fastCallOf(ctx context.Context, sess server.ClientSession, rawID json.RawMessage, req *fastRequest) ([]byte, bool) {
	if req.JSONRPC != mcp.JSONRPC_VERSION || len(req.Params.Task) > 0 {
		return nil, false
	}
	h := p.fixed[req.Params.Name]
	if h == nil {
		return nil, false
	}
	modern, ok := fastEra(req.Params.Meta)
	if !ok || !modern && (sess == nil || !sess.Initialized()) {
		return nil, false
	}
	args := map[string]any{}
	raw := bytes.TrimSpace(req.Params.Arguments)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		raw = nil
	} else if raw[0] != '{' || json.Unmarshal(raw, &args) != nil {
		return nil, false // mcp-go says what is wrong
	}
	res := h.call(ctx, args, raw, nil)
	line, err := p.encodeToolResponse(rawID, res, modern)
	if err != nil {
		p.log.Warn("encode a tool result", "tool", req.Params.Name, "err", err)
		return nil, false
	}
	return line, true
}

// fastEra says whether meta is a 2026-07-28 request's or of the era
// initialize settled, and false when it asks what mcp-go must do: an
// unknown version or capabilities that do not decode (its error), a log
// level (session state).
func fastEra(meta *fastMeta) (modern, ok bool) {
	if meta == nil || meta.ProtocolVersion == "" && meta.ClientCapabilities == nil && meta.LogLevel == nil {
		return false, true
	}
	v := meta.ProtocolVersion
	if len(meta.LogLevel) > 0 || !mcp.IsModernProtocol(v) || !mcp.IsValidProtocolVersion(v) {
		return false, false
	}
	var caps *mcp.ClientCapabilities
	if json.Unmarshal(meta.ClientCapabilities, &caps) != nil || caps == nil {
		return false, false
	}
	return true, true
}

// encodeToolResponse writes the JSON-RPC response carrying res, as mcp-go
// would (with modern, the resultType and serverInfo protocol 2026-07-28
// results carry), in one pass: text and resource-link content, the
// structured content as the engine sent it. A result of other content is
// encoded by mcp-go's own MarshalJSON.
func (p *Proxy) encodeToolResponse(rawID json.RawMessage, res *mcp.CallToolResult, modern bool) ([]byte, error) {
	b := make([]byte, 0, 256+2*len(res.RawStructuredContent))
	b = append(b, `{"jsonrpc":"2.0","id":`...)
	b = append(b, rawID...)
	b = append(b, `,"result":`...)
	if modern && res.GetResultType() == "" {
		res.SetResultType(mcp.ResultTypeComplete)
	}
	simple := res.Meta == nil && len(res.InputRequests) == 0 && res.RequestState == "" && res.StructuredContent == nil
	for _, c := range res.Content {
		switch c.(type) {
		case mcp.TextContent, mcp.ResourceLink:
		default:
			simple = false
		}
	}
	if !simple {
		if modern { // as mcp-go decorates a result
			if meta := res.EnsureResultMeta(); meta.ServerInfo() == nil {
				meta.SetServerInfo(p.info)
			}
		}
		r, err := res.MarshalJSON()
		if err != nil {
			return nil, err
		}
		b = append(b, r...)
		return append(b, '}'), nil
	}
	b = append(b, '{')
	if modern {
		b = append(b, `"_meta":{"`+mcp.MetaKeyServerInfo+`":`...)
		b = append(b, p.serverInfo...)
		b = append(b, `},`...)
	}
	b = append(b, `"content":[`...)
	for i, c := range res.Content {
		if i > 0 {
			b = append(b, ',')
		}
		switch c := c.(type) {
		case mcp.TextContent:
			if c.Annotations != nil || c.Meta != nil {
				r, err := json.Marshal(c)
				if err != nil {
					return nil, err
				}
				b = append(b, r...)
				continue
			}
			b = append(b, `{"text":`...)
			b = appendJSONString(b, c.Text)
			b = append(b, `,"type":"text"}`...)
		default:
			r, err := json.Marshal(c)
			if err != nil {
				return nil, err
			}
			b = append(b, r...)
		}
	}
	b = append(b, ']')
	if res.IsError {
		b = append(b, `,"isError":true`...)
	}
	if modern {
		b = append(b, `,"resultType":`...)
		b = appendJSONString(b, string(res.GetResultType()))
	}
	if len(res.RawStructuredContent) > 0 {
		b = append(b, `,"structuredContent":`...)
		b = append(b, res.RawStructuredContent...)
	}
	return append(b, "}}"...), nil
}

// appendJSONString appends s as a JSON string, escaped as json.Marshal
// escapes it (HTML characters included), so both paths answer alike.
func appendJSONString(b []byte, s string) []byte { return jsonstr.Append(b, s, true) }
