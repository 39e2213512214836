package mcpproxy

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/agentos/agentos/engine/wire"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// clientFeatures are what the session's client offers that a skill may ask
// for (agentos.ask, agentos.sample): the engine refuses the rest with a
// clear unavailable instead of waiting for an answer that cannot come.
func clientFeatures(ctx context.Context) []string {
	sess := server.ClientSessionFromContext(ctx)
	info, ok := sess.(server.SessionWithClientInfo)
	if !ok {
		return nil
	}
	caps := info.GetClientCapabilities()
	var out []string
	if _, ok := sess.(server.SessionWithElicitation); ok && caps.Elicitation != nil {
		out = append(out, wire.FeatureElicitation)
	}
	if _, ok := sess.(server.SessionWithSampling); ok && caps.Sampling != nil {
		out = append(out, wire.FeatureSampling)
	}
	return out
}

// askClient sends a skill's job.input to the MCP client of the call: an
// elicitation/create or a sampling/createMessage, and gives its answer back
// as JSON.
func (p *Proxy) askClient(ctx context.Context, kind string, raw json.RawMessage) (json.RawMessage, error) {
	switch kind {
	case wire.FeatureElicitation:
		var in struct {
			Message string         `json:"message"`
			Schema  map[string]any `json:"schema"`
		}
		if err := json.Unmarshal(raw, &in); err != nil {
			return nil, fmt.Errorf("elicitation params: %w", err)
		}
		if in.Schema == nil {
			in.Schema = map[string]any{"type": "object", "properties": map[string]any{}}
		}
		var req mcp.ElicitationRequest
		req.Params.Message, req.Params.RequestedSchema = in.Message, in.Schema
		res, err := p.srv.RequestElicitation(ctx, req)
		if err != nil {
			return nil, err
		}
		return json.Marshal(map[string]any{"action": res.Action, "content": res.Content})
	case wire.FeatureSampling:
		var in struct {
			Messages []struct {
				Role    string `json:"role"`
				Content any    `json:"content"`
			} `json:"messages"`
			MaxTokens   int      `json:"max_tokens"`
			System      string   `json:"system"`
			Temperature *float64 `json:"temperature"`
		}
		if err := json.Unmarshal(raw, &in); err != nil {
			return nil, fmt.Errorf("sampling params: %w", err)
		}
		var req mcp.CreateMessageRequest
		req.MaxTokens, req.SystemPrompt = in.MaxTokens, in.System
		if in.Temperature != nil {
			req.Temperature = *in.Temperature
		}
		for i, m := range in.Messages {
			var content any
			switch c := m.Content.(type) {
			case string:
				content = mcp.NewTextContent(c)
			case map[string]any:
				parsed, err := mcp.ParseContent(c)
				if err != nil {
					return nil, fmt.Errorf("sampling message %d: %w", i, err)
				}
				content = parsed
			default:
				return nil, fmt.Errorf("sampling message %d: content must be text or a content block", i)
			}
			req.Messages = append(req.Messages, mcp.SamplingMessage{Role: mcp.Role(m.Role), Content: content})
		}
		//lint:ignore SA1019 sampling is what clients of 2025-11-25 and earlier offer; the newer protocol has no replacement the proxy can use
		res, err := p.srv.RequestSampling(ctx, req)
		if err != nil {
			return nil, err
		}
		return json.Marshal(map[string]any{"role": res.Role, "content": res.Content, "model": res.Model, "stopReason": res.StopReason})
	}
	return nil, fmt.Errorf("unknown input kind %q", kind)
}
