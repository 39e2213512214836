package mcpproxy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/agentos/agentos/engine/wire"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// Resource URIs: one resource per shape, one template for nodes.
const (
	shapeURI      = "agentos://shapes/"
	nodeURI       = "agentos://nodes/"
	capabilityURI = "agentos://capabilities/"
)

// refresh reads what the engine has now (capabilities, shapes, skills) and
// brings the capability tools, shape resources and skill prompts in line.
// Changed tools make mcp-go send notifications/tools/list_changed.
func (p *Proxy) refresh(ctx context.Context) {
	p.refreshMu.Lock()
	defer p.refreshMu.Unlock()

	var sch struct {
		Capabilities []capability `json:"capabilities"`
	}
	if err := p.eng.Call(ctx, "system.schema", nil, &sch, true); err != nil {
		p.log.Warn("system.schema failed; capability tools left as they are", "err", err)
	} else {
		p.syncTools(p.capTools(sch.Capabilities))
	}

	var shapeRes []server.ServerResource // nil: shapes.list failed, keep those there are
	var shapes struct {
		Shapes []shapeDef `json:"shapes"`
	}
	if err := p.eng.Call(ctx, "shapes.list", nil, &shapes, true); err != nil {
		p.log.Warn("shapes.list failed; shape resources left as they are", "err", err)
	} else {
		p.describeWrite(shapes.Shapes)
		shapeRes = make([]server.ServerResource, 0, len(shapes.Shapes))
		for _, sh := range shapes.Shapes {
			desc := sh.Description
			if desc == "" {
				desc = "The " + sh.Name + " shape."
			}
			shapeRes = append(shapeRes, server.ServerResource{
				Resource: mcp.NewResource(shapeURI+sh.Name, sh.Name, mcp.WithResourceDescription(desc), mcp.WithMIMEType("application/json")),
				Handler:  p.readShape(sh.Name),
			})
		}
	}

	var skills struct {
		Skills []skillEntry `json:"skills"`
	}
	if err := p.eng.Call(ctx, "skills.list", nil, &skills, true); err != nil {
		p.log.Warn("skills.list failed; prompts and skill resources left as they are", "err", err)
		return
	}
	var agents struct {
		Agents []agentEntry `json:"agents"`
	}
	if err := p.eng.Call(ctx, wire.MethodAgentsList, nil, &agents, true); err != nil {
		p.log.Warn("agents.list failed; no agent prompts", "err", err)
	}
	p.syncSkillItems(ctx, skills.Skills, agents.Agents, shapeRes)
}

// describeWrite lists the write tool again with a schema of these shapes,
// when they changed (clients get notifications/tools/list_changed). The
// arguments are still checked against the plain schema: an item that does
// not fit its shape is the graph's to report, with the rest written.
func (p *Proxy) describeWrite(defs []shapeDef) {
	h := p.fixed["write"]
	if h == nil {
		return
	}
	raw := writeSchema(defs)
	if string(raw) == string(h.tool.RawInputSchema) {
		return
	}
	h.tool.RawInputSchema = raw
	p.srv.AddTool(h.tool, h.handler)
}

// syncTools removes capability tools that are gone and adds new or changed
// ones; unchanged tools are left alone so no notification goes out for them.
func (p *Proxy) syncTools(want map[string]server.ServerTool) {
	var gone []string
	for name := range p.capJSON {
		if _, ok := want[name]; !ok {
			gone = append(gone, name)
			delete(p.capJSON, name)
		}
	}
	var add []server.ServerTool
	for name, st := range want {
		b, _ := json.Marshal(st.Tool)
		if p.capJSON[name] != string(b) {
			p.capJSON[name] = string(b)
			add = append(add, st)
		}
	}
	sort.Strings(gone)
	sort.Slice(add, func(i, j int) bool { return add[i].Tool.Name < add[j].Tool.Name })
	if len(gone) > 0 {
		p.log.Info("capability tools removed", "tools", gone)
		p.srv.DeleteTools(gone...)
	}
	if len(add) > 0 {
		p.log.Info("capability tools added or changed", "count", len(add))
		p.srv.AddTools(add...)
	}
}

// readShape answers resources/read for one shape with shapes.get.
func (p *Proxy) readShape(name string) server.ResourceHandlerFunc {
	return func(ctx context.Context, req mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
		return p.readJSON(ctx, req.Params.URI, "shapes.get", map[string]any{"name": name})
	}
}

// readShapeTemplate answers resources/read for agentos://shapes/{name}: a
// shape not listed (made since the last refresh) is read all the same.
func (p *Proxy) readShapeTemplate(ctx context.Context, req mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
	return p.readJSON(ctx, req.Params.URI, "shapes.get", map[string]any{"name": templateVar(req, "name")})
}

// readCapability answers resources/read for agentos://capabilities/{name}:
// the capability's providers, ranked, with the reason for each.
func (p *Proxy) readCapability(ctx context.Context, req mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
	name := templateVar(req, "name")
	var all struct {
		Capabilities []json.RawMessage `json:"capabilities"`
	}
	if err := p.eng.Call(ctx, wire.MethodCapList, nil, &all, true); err != nil {
		return nil, fmt.Errorf("%s: %w", req.Params.URI, err)
	}
	for _, c := range all.Capabilities {
		var head struct {
			Capability string `json:"capability"`
		}
		if json.Unmarshal(c, &head) == nil && head.Capability == name {
			return []mcp.ResourceContents{mcp.TextResourceContents{URI: req.Params.URI, MIMEType: "application/json", Text: string(c)}}, nil
		}
	}
	return nil, fmt.Errorf("%w: no capability %q", mcp.ErrResourceNotFound, name)
}

// templateVar is the value of a URI template's variable in a read.
func templateVar(req mcp.ReadResourceRequest, name string) string {
	switch v := req.Params.Arguments[name].(type) {
	case string:
		return v
	case []string:
		if len(v) > 0 {
			return v[0]
		}
	}
	return ""
}

// readNode answers resources/read for agentos://nodes/{id} with data.read.
func (p *Proxy) readNode(ctx context.Context, req mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
	id := templateVar(req, "id")
	if id == "" {
		return nil, fmt.Errorf("%w: %s names no node id", mcp.ErrResourceNotFound, req.Params.URI)
	}
	return p.readJSON(ctx, req.Params.URI, "data.read", map[string]any{"id": id})
}

func (p *Proxy) readJSON(ctx context.Context, uri, method string, params any) ([]mcp.ResourceContents, error) {
	var raw json.RawMessage
	if err := p.eng.Call(ctx, method, params, &raw, true); err != nil {
		var ee *wire.Error
		if errors.As(err, &ee) && ee.Kind == wire.KindNotFound {
			return nil, fmt.Errorf("%w: %s: %s", mcp.ErrResourceNotFound, uri, ee.Message)
		}
		return nil, fmt.Errorf("%s: %w", uri, err)
	}
	return []mcp.ResourceContents{mcp.TextResourceContents{URI: uri, MIMEType: "application/json", Text: string(raw)}}, nil
}

// watch follows the engine's observer events on a connection of its own and
// refreshes on skills.changed, and after each (re)connection since the
// engine may have changed meanwhile (unchanged tools send no notification). It ends with ctx.
func (p *Proxy) watch(ctx context.Context) {
	kick := make(chan struct{}, 1)
	signal := func() {
		select {
		case kick <- struct{}{}:
		default:
		}
	}
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-kick:
				rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
				p.refresh(rctx)
				cancel()
			}
		}
	}()
	for ctx.Err() == nil {
		c, err := p.eng.Fresh(ctx)
		if err == nil {
			// skills.changed, agents.changed and graph.changed only: every other event (two
			// per call made by anyone) would wake this process for nothing.
			_, err = c.SubscribeTypes(ctx, -1, []string{wire.EventSkillsChanged, wire.EventAgentsChanged, wire.EventGraphChanged}, func(ev wire.Event) {
				switch ev.Type {
				case wire.EventAgentsChanged:
					signal()
				case wire.EventSkillsChanged:
					signal()
					// a reloaded skill or shape may read differently now
					p.notifyUpdated(func(uri string) bool { return !strings.HasPrefix(uri, nodeURI) })
				case wire.EventGraphChanged:
					p.graphChanged(ev)
				}
			})
			if err == nil {
				signal()
				select {
				case <-ctx.Done():
				case <-c.Done():
				}
			}
			c.Close()
		}
		if err != nil {
			p.log.Debug("observer subscription failed; retrying", "err", err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}
