package mcpproxy

import (
	"encoding/json"
	"regexp"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"
)

// outputSchema is a capability tool's outputSchema: the shape of what the
// proxy sends as structuredContent. A @returns tool's result is the engine's
// import envelope (its items are the skill's own objects, so they are
// described, not constrained); a plain return annotation is the value itself
// when it is an object, else {"result": value}, as resultOf wraps it. nil
// when nothing is known, or the tool may return content blocks.
func outputSchema(returns string, result json.RawMessage) json.RawMessage {
	if returns != "" {
		shape, many := strings.CutSuffix(returns, "[]")
		item := map[string]any{"type": "object", "description": "a " + shape + " as the skill returned it; the graph keeps it as a " + shape + " node"}
		var s map[string]any
		if many {
			s = map[string]any{"type": "object", "required": []string{"items", "ids"}, "properties": map[string]any{
				"items":    map[string]any{"type": "array", "items": item},
				"ids":      map[string]any{"type": "array", "items": map[string]any{"type": "string"}, "description": "the stored nodes' ids, in order (agentos://nodes/{id})"},
				"created":  map[string]any{"type": "integer"},
				"updated":  map[string]any{"type": "integer"},
				"warnings": map[string]any{"type": "array", "items": map[string]any{"type": "string"}},
			}}
		} else {
			s = map[string]any{"type": "object", "required": []string{"item", "id"}, "properties": map[string]any{
				"item":     item,
				"id":       map[string]any{"type": "string", "description": "the stored node's id (agentos://nodes/{id})"},
				"created":  map[string]any{"type": "boolean"},
				"warnings": map[string]any{"type": "array", "items": map[string]any{"type": "string"}},
			}}
		}
		b, _ := json.Marshal(s)
		return b
	}
	var sch map[string]any
	if len(result) == 0 || json.Unmarshal(result, &sch) != nil || sch == nil {
		return nil
	}
	if sch["type"] == "object" {
		return result
	}
	b, _ := json.Marshal(map[string]any{"type": "object", "required": []string{"result"}, "properties": map[string]any{"result": sch}})
	return b
}

// linkNode is what a resource link needs of a node: its id, and the
// title (or name) of its fields, decoded without a map of them all.
type linkNode struct {
	ID     string `json:"id"`
	Fields struct {
		Title json.RawMessage `json:"title"`
		Name  json.RawMessage `json:"name"`
	} `json:"fields"`
}

// name is the node's title, else its name, when either is a string.
func (n *linkNode) name() string {
	for _, raw := range []json.RawMessage{n.Fields.Title, n.Fields.Name} {
		var s string
		if len(raw) > 0 && raw[0] == '"' && json.Unmarshal(raw, &s) == nil && s != "" {
			return s
		}
	}
	return ""
}

// iconOf is a declared icon (an https URL or a data URI) as MCP icons; nil
// for anything else, so a skill cannot point clients at a plain http or
// file URL.
func iconOf(v any) []mcp.Icon {
	src, _ := v.(string)
	if !strings.HasPrefix(src, "https://") && !strings.HasPrefix(src, "data:image/") {
		return nil
	}
	return []mcp.Icon{{Src: src}}
}

// nodeID is the form of a node id (a ULID).
var nodeID = regexp.MustCompile(`^[0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{26}$`)

// maxNodeLinks bounds the resource links one result gets.
const maxNodeLinks = 20

// nodeLinks are resource links to the nodes a result names: its id or ids
// (a write, a @returns import), the nodes of a page and the nodes of
// search hits, so a client can open or subscribe to them.
func nodeLinks(raw []byte) []mcp.Content {
	if len(raw) == 0 || raw[0] != '{' {
		return nil
	}
	// One pass over the result; one that is not shaped as nodes (a skill's
	// own "fields" or "nodes") gets no links.
	var v struct {
		linkNode
		IDs   []string   `json:"ids"`
		Nodes []linkNode `json:"nodes"`
		Hits  []struct {
			Node linkNode `json:"node"`
		} `json:"hits"`
	}
	if json.Unmarshal(raw, &v) != nil {
		return nil
	}
	var out []mcp.Content
	seen := map[string]bool{}
	add := func(n *linkNode) {
		if len(out) == maxNodeLinks || seen[n.ID] || !nodeID.MatchString(n.ID) {
			return
		}
		seen[n.ID] = true
		name := n.name()
		if name == "" {
			name = "node " + n.ID
		}
		out = append(out, mcp.NewResourceLink(nodeURI+n.ID, name, "", "application/json"))
	}
	add(&v.linkNode)
	for _, id := range v.IDs {
		add(&linkNode{ID: id})
	}
	for i := range v.Nodes {
		add(&v.Nodes[i])
	}
	for i := range v.Hits {
		add(&v.Hits[i].Node)
	}
	return out
}
