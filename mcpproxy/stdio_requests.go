package mcpproxy

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// clientRequests are the requests the stdio session sends its client
// (elicitation/create, sampling/createMessage) and the answers the read
// loop hands back by id.
type clientRequests struct {
	mu      sync.Mutex
	w       *lineWriter
	next    int64
	pending map[string]chan clientAnswer
}

type clientAnswer struct {
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

var (
	_ server.SessionWithElicitation = (*stdioSession)(nil)
	_ server.SessionWithSampling    = (*stdioSession)(nil)
)

// call sends method to the client and waits for its answer or ctx.
func (r *clientRequests) call(ctx context.Context, method string, params any) (json.RawMessage, error) {
	r.mu.Lock()
	if r.w == nil {
		r.mu.Unlock()
		return nil, fmt.Errorf("%s: the session is not serving", method)
	}
	r.next++
	id := "agentos-" + strconv.FormatInt(r.next, 10)
	ch := make(chan clientAnswer, 1)
	if r.pending == nil {
		r.pending = map[string]chan clientAnswer{}
	}
	r.pending[id] = ch
	w := r.w
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		delete(r.pending, id)
		r.mu.Unlock()
	}()
	if err := w.send(map[string]any{"jsonrpc": mcp.JSONRPC_VERSION, "id": id, "method": method, "params": params}); err != nil {
		return nil, fmt.Errorf("%s: %w", method, err)
	}
	select {
	case a := <-ch:
		if a.Error != nil {
			return nil, fmt.Errorf("%s: the client answered error %d: %s", method, a.Error.Code, a.Error.Message)
		}
		return a.Result, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("%s: %w", method, ctx.Err())
	}
}

// deliver hands a response line from the client to the request it answers;
// false when no request of ours waits for it.
func (r *clientRequests) deliver(rawID json.RawMessage, line []byte) bool {
	var id string
	if json.Unmarshal(rawID, &id) != nil {
		return false
	}
	r.mu.Lock()
	ch := r.pending[id]
	r.mu.Unlock()
	if ch == nil {
		return false
	}
	var a clientAnswer
	if err := json.Unmarshal(line, &a); err != nil {
		a.Error = &struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		}{mcp.PARSE_ERROR, err.Error()}
	}
	select {
	case ch <- a:
	default:
	}
	return true
}

func (s *stdioSession) RequestElicitation(ctx context.Context, req mcp.ElicitationRequest) (*mcp.ElicitationResult, error) {
	raw, err := s.requests.call(ctx, string(mcp.MethodElicitationCreate), req.Params)
	if err != nil {
		return nil, err
	}
	var res mcp.ElicitationResult
	if err := json.Unmarshal(raw, &res); err != nil {
		return nil, fmt.Errorf("elicitation answer: %w", err)
	}
	return &res, nil
}

func (s *stdioSession) RequestSampling(ctx context.Context, req mcp.CreateMessageRequest) (*mcp.CreateMessageResult, error) {
	raw, err := s.requests.call(ctx, string(mcp.MethodSamplingCreateMessage), req.CreateMessageParams)
	if err != nil {
		return nil, err
	}
	var res mcp.CreateMessageResult
	if err := json.Unmarshal(raw, &res); err != nil {
		return nil, fmt.Errorf("sampling answer: %w", err)
	}
	content, err := mcp.ParseSamplingContent(res.Content)
	if err != nil {
		return nil, fmt.Errorf("sampling answer: %w", err)
	}
	res.Content = content
	return &res, nil
}
