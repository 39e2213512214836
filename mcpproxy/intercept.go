package mcpproxy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// mcp-go has no hook for methods of a server's own, and serves an older
// tasks protocol than the extension's. So the proxy answers a few messages
// before mcp-go sees them: the Agent Skills extension's methods
// (skillfiles.go), and the tasks extension's tools/call and tasks/*
// (tasks.go). answerAhead is that one place, for both transports; any other
// message goes to mcp-go unchanged.

// answerAhead is the proxy's own answer to msg from sess, or errNotOurs.
func (p *Proxy) answerAhead(ctx context.Context, sess server.ClientSession, msg []byte) (mcp.JSONRPCMessage, error) {
	if resp, err := p.answerSkillMethod(msg); err == nil {
		return resp, nil
	}
	return p.answerTaskMethod(ctx, sess, msg)
}

// httpStatusOf is the HTTP status protocol 2026-07-28 gives a JSON-RPC
// error code.
func httpStatusOf(code int) int {
	switch code {
	case mcp.METHOD_NOT_FOUND:
		return http.StatusNotFound
	case mcp.MISSING_REQUIRED_CLIENT_CAPABILITY, mcp.HEADER_MISMATCH, mcp.INVALID_PARAMS, mcp.INVALID_REQUEST, mcp.PARSE_ERROR:
		return http.StatusBadRequest
	}
	return http.StatusOK
}

// aheadPeek is how much of a POST body is read to tell the requests the
// proxy answers (small objects) from the rest.
const aheadPeek = 64 << 10

// errNotOurs marks a message the proxy leaves to mcp-go.
var errNotOurs = errors.New("a message for mcp-go")

// aheadOverHTTP answers over Streamable HTTP what the proxy answers ahead
// of mcp-go (answerAhead), and hands every other request on as it came.
func (p *Proxy) aheadOverHTTP(next http.Handler, o HTTPOptions) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && p.resumeStream(w, r) {
			return
		}
		if r.Method != http.MethodPost {
			next.ServeHTTP(w, r)
			return
		}
		// The start of the body says which method it is; the rest (a large
		// tools/call) goes on to mcp-go unread.
		orig := r.Body
		body, err := io.ReadAll(io.LimitReader(orig, aheadPeek))
		if err != nil {
			http.Error(w, "read the request: "+err.Error(), http.StatusBadRequest)
			return
		}
		// A session mcp-go does not know (ended, or made up) is mcp-go's to
		// refuse (404), whatever the method.
		sid := r.Header.Get("Mcp-Session-Id")
		sess := p.sessions.get(sid)
		if len(body) < aheadPeek && (sid == "" || sess != nil) {
			resp, err := p.answerAhead(r.Context(), sess, body)
			if err == nil {
				if bad := p.headerMismatch(r.Header, body); bad != "" {
					var id struct {
						ID any `json:"id"`
					}
					_ = json.Unmarshal(body, &id)
					resp = rpcError(id.ID, mcp.HEADER_MISMATCH, bad, nil)
				}
			}
			if err == nil {
				w.Header().Set("Content-Type", "application/json")
				if id := r.Header.Get("Mcp-Session-Id"); id != "" {
					w.Header().Set("Mcp-Session-Id", id)
				}
				if e, ok := resp.(mcp.JSONRPCError); ok && mcp.IsModernProtocol(r.Header.Get("Mcp-Protocol-Version")) {
					w.WriteHeader(httpStatusOf(e.Error.Code)) // as 2026-07-28 prescribes
				}
				_ = json.NewEncoder(w).Encode(resp)
				orig.Close()
				return
			}
			if p.serveResumable(w, r, body, next, o) {
				return
			}
		}
		r.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(body), orig), orig}
		next.ServeHTTP(w, r)
	})
}
