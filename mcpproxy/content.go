package mcpproxy

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/mark3labs/mcp-go/mcp"
)

// A skill's rich result arrives as JSON in one of two forms the SDK's
// agentos.content writes (docs/worker-protocol.md, "Results"):
// {"$content": [blocks]} or {"$messages": [{role, content}]}, the blocks in
// MCP's own form.
type richResult struct {
	Content  []map[string]any `json:"$content"`
	Messages []struct {
		Role    string         `json:"role"`
		Content map[string]any `json:"content"`
	} `json:"$messages"`
}

// richOf reads raw as a rich result; ok is false for any other value.
func richOf(raw json.RawMessage) (r richResult, ok bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' || !(bytes.Contains(raw, []byte(`"$content"`)) || bytes.Contains(raw, []byte(`"$messages"`))) {
		return r, false
	}
	var keys map[string]json.RawMessage
	if json.Unmarshal(raw, &keys) != nil || len(keys) != 1 {
		return r, false
	}
	if json.Unmarshal(raw, &r) != nil || (r.Content == nil && r.Messages == nil) {
		return r, false
	}
	return r, true
}

// blocks parses content blocks; an embedded resource without a URI (bytes a
// skill returned) gets fallbackURI.
func blocks(in []map[string]any, fallbackURI string) ([]mcp.Content, error) {
	out := make([]mcp.Content, 0, len(in))
	for i, b := range in {
		if res, _ := b["resource"].(map[string]any); b["type"] == "resource" && res != nil {
			if u, _ := res["uri"].(string); u == "" {
				res["uri"] = fallbackURI
			}
		}
		c, err := mcp.ParseContent(b)
		if err != nil {
			return nil, fmt.Errorf("content block %d: %w", i, err)
		}
		out = append(out, c)
	}
	return out, nil
}

// promptMessages turns a prompt function's result into prompt messages: a
// string is one user message, JSON data one user message of its text,
// content blocks one user message each, and messages as they are.
func promptMessages(raw json.RawMessage) ([]mcp.PromptMessage, error) {
	if r, ok := richOf(raw); ok {
		if r.Messages != nil {
			out := make([]mcp.PromptMessage, 0, len(r.Messages))
			for i, m := range r.Messages {
				cs, err := blocks([]map[string]any{m.Content}, "agentos://prompt")
				if err != nil {
					return nil, fmt.Errorf("message %d: %w", i, err)
				}
				out = append(out, mcp.NewPromptMessage(mcp.Role(m.Role), cs[0]))
			}
			return out, nil
		}
		cs, err := blocks(r.Content, "agentos://prompt")
		if err != nil {
			return nil, err
		}
		out := make([]mcp.PromptMessage, len(cs))
		for i, c := range cs {
			out[i] = mcp.NewPromptMessage(mcp.RoleUser, c)
		}
		return out, nil
	}
	return []mcp.PromptMessage{mcp.NewPromptMessage(mcp.RoleUser, mcp.NewTextContent(plainText(raw)))}, nil
}

// plainText is a result as text: a JSON string as the string itself, any
// other value as compact JSON.
func plainText(raw json.RawMessage) string {
	var s string
	if len(raw) > 0 && raw[0] == '"' && json.Unmarshal(raw, &s) == nil {
		return s
	}
	var buf bytes.Buffer
	if json.Compact(&buf, raw) != nil {
		return string(raw)
	}
	return buf.String()
}

// resourceContents turns a resource function's result into the contents of
// uri: a string is text of the declared MIME type (text/plain if none),
// other JSON data is application/json text, and content blocks map one to
// one (text as text, images, audio and embedded resources as what they hold).
func resourceContents(raw json.RawMessage, uri, mime string) ([]mcp.ResourceContents, error) {
	r, ok := richOf(raw)
	if !ok || r.Content == nil {
		text := plainText(raw)
		if mime == "" {
			mime = "application/json"
			if len(raw) > 0 && raw[0] == '"' {
				mime = "text/plain"
			}
		}
		return []mcp.ResourceContents{mcp.TextResourceContents{URI: uri, MIMEType: mime, Text: text}}, nil
	}
	cs, err := blocks(r.Content, uri)
	if err != nil {
		return nil, err
	}
	out := make([]mcp.ResourceContents, 0, len(cs))
	for _, c := range cs {
		switch c := c.(type) {
		case mcp.TextContent:
			out = append(out, mcp.TextResourceContents{URI: uri, MIMEType: orDefault(mime, "text/plain"), Text: c.Text})
		case mcp.ImageContent:
			out = append(out, mcp.BlobResourceContents{URI: uri, MIMEType: c.MIMEType, Blob: c.Data})
		case mcp.AudioContent:
			out = append(out, mcp.BlobResourceContents{URI: uri, MIMEType: c.MIMEType, Blob: c.Data})
		case mcp.EmbeddedResource:
			out = append(out, withMIME(c.Resource, mime))
		default:
			return nil, fmt.Errorf("a resource cannot hold a %T block", c)
		}
	}
	return out, nil
}

// withMIME gives a resource's contents the declared MIME type where the
// skill gave none (bytes come as application/octet-stream).
func withMIME(rc mcp.ResourceContents, mime string) mcp.ResourceContents {
	if mime == "" {
		return rc
	}
	switch c := rc.(type) {
	case mcp.TextResourceContents:
		if c.MIMEType == "" {
			c.MIMEType = mime
		}
		return c
	case mcp.BlobResourceContents:
		if c.MIMEType == "" || c.MIMEType == "application/octet-stream" {
			c.MIMEType = mime
		}
		return c
	}
	return rc
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// richToolResult is a tool result of content blocks (prompt messages give
// their blocks), or nil when raw is plain JSON.
func richToolResult(raw json.RawMessage) *mcp.CallToolResult {
	r, ok := richOf(raw)
	if !ok {
		return nil
	}
	in := r.Content
	for _, m := range r.Messages {
		in = append(in, m.Content)
	}
	cs, err := blocks(in, "agentos://result")
	if err != nil {
		return mcp.NewToolResultError("the skill returned content MCP cannot carry: " + err.Error())
	}
	return &mcp.CallToolResult{Content: cs}
}
