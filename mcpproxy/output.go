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

// titled is what a link's name needs of a node's fields, decoded without a
// map of them all.
type titled struct {
	Title string `json:"-"`
	Name  string `json:"-"`
}

func (t *titled) UnmarshalJSON(b []byte) error {
	var f struct {
		Title any `json:"title"`
		Name  any `json:"name"`
	}
	if json.Unmarshal(b, &f) != nil {
		return nil // fields that are not an object name nothing
	}
	t.Title, _ = f.Title.(string)
	t.Name, _ = f.Name.(string)
	return nil
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
	var v struct {
		ID     string            `json:"id"`
		IDs    []string          `json:"ids"`
		Fields titled            `json:"fields"`
		Nodes  []json.RawMessage `json:"nodes"`
		Hits   []struct {
			Node json.RawMessage `json:"node"`
		} `json:"hits"`
	}
	if json.Unmarshal(raw, &v) != nil {
		return nil
	}
	var out []mcp.Content
	seen := map[string]bool{}
	add := func(id string, fields titled) {
		if len(out) == maxNodeLinks || seen[id] || !nodeID.MatchString(id) {
			return
		}
		seen[id] = true
		name := fields.Title
		if name == "" {
			name = fields.Name
		}
		if name == "" {
			name = "node " + id
		}
		out = append(out, mcp.NewResourceLink(nodeURI+id, name, "", "application/json"))
	}
	add(v.ID, v.Fields)
	for _, id := range v.IDs {
		add(id, titled{})
	}
	nodes := v.Nodes
	for _, h := range v.Hits {
		nodes = append(nodes, h.Node)
	}
	for _, n := range nodes {
		var node struct {
			ID     string `json:"id"`
			Fields titled `json:"fields"`
		}
		if json.Unmarshal(n, &node) == nil {
			add(node.ID, node.Fields)
		}
	}
	return out
}
