package mcpproxy

import (
	"context"
	"encoding/json"
	"sort"
	"strings"
	"sync"

	"github.com/agentos/agentos/engine/wire"

	"github.com/mark3labs/mcp-go/mcp"
)

// maxCompletions is the most values one completion/complete answer holds
// (MCP's limit).
const maxCompletions = 100

// completions holds what completion/complete offers, rebuilt with the
// prompts and resources: the enum values of each prompt argument and of
// each skill template's variables (Literal[...] hints, or an enum in
// @schema), by prompt name and by URI template.
type completions struct {
	mu        sync.Mutex
	prompts   map[string]map[string][]string
	templates map[string]map[string][]string
}

func (c *completions) set(prompts, templates map[string]map[string][]string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.prompts, c.templates = prompts, templates
}

func (c *completions) values(byName map[string]map[string][]string, name, arg string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return byName[name][arg]
}

// enumsOf reads the enum values of each property of a tool's params schema.
func enumsOf(params json.RawMessage) map[string][]string {
	var sch struct {
		Properties map[string]struct {
			Enum  []any `json:"enum"`
			Items *struct {
				Enum []any `json:"enum"`
			} `json:"items"`
		} `json:"properties"`
	}
	if json.Unmarshal(params, &sch) != nil {
		return nil
	}
	out := map[string][]string{}
	for name, p := range sch.Properties {
		enum := p.Enum
		if enum == nil && p.Items != nil {
			enum = p.Items.Enum
		}
		for _, v := range enum {
			if s, ok := v.(string); ok {
				out[name] = append(out[name], s)
			}
		}
	}
	return out
}

// completion is the values starting with prefix (case-insensitive), the
// first maxCompletions of them, with the total.
func completion(values []string, prefix string) *mcp.Completion {
	var match []string
	lp := strings.ToLower(prefix)
	for _, v := range values {
		if strings.HasPrefix(strings.ToLower(v), lp) {
			match = append(match, v)
		}
	}
	c := &mcp.Completion{Values: match, Total: len(match)}
	if c.Values == nil {
		c.Values = []string{}
	}
	if len(c.Values) > maxCompletions {
		c.Values, c.HasMore = c.Values[:maxCompletions], true
	}
	return c
}

// promptCompleter answers completion/complete for prompt arguments.
type promptCompleter struct{ p *Proxy }

func (pc promptCompleter) CompletePromptArgument(_ context.Context, prompt string, arg mcp.CompleteArgument, _ mcp.CompleteContext) (*mcp.Completion, error) {
	return completion(pc.p.completions.values(pc.p.completions.prompts, prompt, arg.Name), arg.Value), nil
}

// resourceCompleter answers completion/complete for resource template
// variables: shape names on agentos://shapes/{name}, node ids on
// agentos://nodes/{id} (nodes whose title starts with what was typed, then
// ids starting with it), and the enums of skills' templates.
type resourceCompleter struct{ p *Proxy }

func (rc resourceCompleter) CompleteResourceArgument(ctx context.Context, uri string, arg mcp.CompleteArgument, _ mcp.CompleteContext) (*mcp.Completion, error) {
	switch uri {
	case shapeURI + "{name}":
		return completion(rc.p.shapeNames(), arg.Value), nil
	case nodeURI + "{id}":
		return rc.p.completeNodeID(ctx, arg.Value), nil
	case capabilityURI + "{name}":
		return completion(rc.p.capabilityNames(), arg.Value), nil
	}
	return completion(rc.p.completions.values(rc.p.completions.templates, uri, arg.Name), arg.Value), nil
}

// shapeNames are the shapes served as resources now.
func (p *Proxy) shapeNames() []string {
	p.refreshMu.Lock()
	defer p.refreshMu.Unlock()
	names := make([]string, 0, len(p.shapeRes))
	for _, r := range p.shapeRes {
		names = append(names, strings.TrimPrefix(r.Resource.URI, shapeURI))
	}
	sort.Strings(names)
	return names
}

// capabilityNames are the capabilities served as tools now.
func (p *Proxy) capabilityNames() []string {
	p.refreshMu.Lock()
	defer p.refreshMu.Unlock()
	names := make([]string, 0, len(p.capNames))
	for _, n := range p.capNames {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// completeNodeID offers the ids of nodes whose title (or name) starts with
// typed, best matches first, and typed itself when it is the start of an id.
func (p *Proxy) completeNodeID(ctx context.Context, typed string) *mcp.Completion {
	out := &mcp.Completion{Values: []string{}}
	if strings.TrimSpace(typed) == "" {
		return out
	}
	var res struct {
		Hits []struct {
			Node struct {
				ID     string         `json:"id"`
				Fields map[string]any `json:"fields"`
			} `json:"node"`
		} `json:"hits"`
	}
	if err := p.eng.Call(ctx, wire.MethodSearch, wire.SearchParams{Query: typed, Limit: maxCompletions}, &res, true); err != nil {
		p.log.Debug("node completion: search failed", "err", err)
		return out
	}
	lt := strings.ToLower(typed)
	var rest []string
	for _, h := range res.Hits {
		title, _ := h.Node.Fields["title"].(string)
		if title == "" {
			title, _ = h.Node.Fields["name"].(string)
		}
		if strings.HasPrefix(strings.ToLower(title), lt) {
			out.Values = append(out.Values, h.Node.ID)
		} else {
			rest = append(rest, h.Node.ID)
		}
	}
	out.Values = append(out.Values, rest...)
	out.Total = len(out.Values)
	return out
}
