package mcpproxy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/agentos/agentos/engine/wire"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// skillEntry is one skill as skills.list gives it, with what the proxy
// serves from it: its guide as a prompt, and its @prompt and @resource
// functions.
type skillEntry struct {
	ID          string      `json:"id"`
	Dir         string      `json:"dir"`
	Source      string      `json:"source"`
	Description string      `json:"description"`
	Invalid     string      `json:"invalid"`
	Tools       []skillTool `json:"tools"`
}

type skillTool struct {
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Params      json.RawMessage `json:"params"`
	Prompt      *struct {
		Name  string `json:"name"`
		Title string `json:"title"`
	} `json:"prompt"`
	Resource *struct {
		URI      string `json:"uri"`
		Name     string `json:"name"`
		Title    string `json:"title"`
		MIME     string `json:"mime"`
		Template bool   `json:"template"`
	} `json:"resource"`
}

// paramSchema is the part of a tool's JSON Schema prompts need.
type paramSchema struct {
	Properties map[string]struct {
		Type        any    `json:"type"`
		Description string `json:"description"`
	} `json:"properties"`
	Required []string `json:"required"`
}

// served is what the proxy last handed mcp-go, as JSON, so a refresh that
// changes nothing sends no list_changed notification.
type served struct{ prompts, resources, templates string }

// syncSkillItems serves the skills' prompts and resources, with the shapes'
// resources (nil: keep those served now) and the node template.
func (p *Proxy) syncSkillItems(ctx context.Context, skills []skillEntry, agents []agentEntry, shapeRes []server.ServerResource) {
	if shapeRes != nil {
		p.shapeRes = shapeRes
	}
	p.skillFiles.set(skills)
	prompts := []server.ServerPrompt{}
	resources := append(append([]server.ServerResource{}, p.shapeRes...), p.skillManifests(skills)...)
	templates := []server.ServerResourceTemplate{{
		Template: mcp.NewResourceTemplate(nodeURI+"{id}", "node",
			mcp.WithTemplateDescription("One node of the agentos graph by id, as data.read gives it."),
			mcp.WithTemplateMIMEType("application/json")),
		Handler: p.readNode,
	}}
	templates = append(templates, server.ServerResourceTemplate{
		Template: mcp.NewResourceTemplate(shapeURI+"{name}", "shape",
			mcp.WithTemplateDescription("One shape of the agentos graph by name, as shapes.get gives it."),
			mcp.WithTemplateMIMEType("application/json")),
		Handler: p.readShapeTemplate,
	}, server.ServerResourceTemplate{
		Template: mcp.NewResourceTemplate(capabilityURI+"{name}", "capability",
			mcp.WithTemplateDescription("One capability: its providers, ranked, and why (capabilities.list)."),
			mcp.WithTemplateMIMEType("application/json")),
		Handler: p.readCapability,
	}, skillFileTemplate(p))
	promptEnums, templateEnums := map[string]map[string][]string{}, map[string]map[string][]string{}
	taken := map[string]bool{}
	for _, sk := range skills {
		if sk.Invalid != "" {
			continue
		}
		if pr, ok := p.guidePrompt(ctx, sk); ok {
			taken[pr.Prompt.Name] = true
			prompts = append(prompts, pr)
		}
	}
	for _, sk := range skills {
		if sk.Invalid != "" {
			continue
		}
		for _, t := range sk.Tools {
			switch {
			case t.Prompt != nil:
				name := uniqueName(t.Prompt.Name, taken)
				taken[name] = true
				prompts = append(prompts, p.toolPrompt(sk.ID, t, name))
				promptEnums[name] = enumsOf(t.Params)
			case t.Resource != nil && t.Resource.Template:
				templates = append(templates, p.toolTemplate(sk.ID, t))
				templateEnums[t.Resource.URI] = enumsOf(t.Params)
			case t.Resource != nil:
				resources = append(resources, p.toolResource(sk.ID, t))
			}
		}
	}
	for _, a := range agents {
		name := uniqueName(a.Name, taken)
		taken[name] = true
		prompts = append(prompts, agentPrompt(name, a))
	}
	sort.Slice(prompts, func(i, j int) bool { return prompts[i].Prompt.Name < prompts[j].Prompt.Name })
	p.completions.set(promptEnums, templateEnums)

	var now served
	now.prompts = fingerprint(prompts, func(sp server.ServerPrompt) any { return sp.Prompt })
	now.resources = fingerprint(resources, func(sr server.ServerResource) any { return sr.Resource })
	now.templates = fingerprint(templates, func(st server.ServerResourceTemplate) any { return st.Template })
	if now.prompts != p.served.prompts {
		p.srv.SetPrompts(prompts...)
	}
	if now.resources != p.served.resources {
		p.srv.SetResources(resources...)
	}
	if now.templates != p.served.templates {
		p.srv.SetResourceTemplates(templates...)
	}
	p.served = now
}

func fingerprint[T any](items []T, decl func(T) any) string {
	out := make([]any, len(items))
	for i, it := range items {
		out[i] = decl(it)
	}
	b, _ := json.Marshal(out)
	return string(b)
}

// guidePrompt is the skill's SKILL.md guide as a prompt named by its id.
func (p *Proxy) guidePrompt(ctx context.Context, sk skillEntry) (server.ServerPrompt, bool) {
	var full struct {
		Guide      string            `json:"guide"`
		Extensions map[string]any    `json:"extensions"`
		Metadata   map[string]string `json:"metadata"`
	}
	if err := p.eng.Call(ctx, "skills.get", map[string]any{"id": sk.ID}, &full, true); err != nil {
		p.log.Warn("skills.get failed; no prompt for the skill", "skill", sk.ID, "err", err)
		return server.ServerPrompt{}, false
	}
	guide, desc := full.Guide, sk.Description
	opts := []mcp.PromptOption{mcp.WithPromptDescription(desc)}
	if icons := iconOf(full.Metadata["icon"]); icons != nil { // SKILL.md metadata: icon: https://...
		opts = append(opts, mcp.WithPromptIcons(icons...))
	}
	// A Claude Code skill takes arguments: argument-hint says which, and
	// the guide's $ARGUMENTS (or $1, $2, ...) is where they go.
	hint, _ := full.Extensions["argument-hint"].(string)
	takesArgs := hint != "" || strings.Contains(guide, "$ARGUMENTS") || positionalArg.MatchString(guide)
	if takesArgs {
		what := "what to work on"
		if hint != "" {
			what += ", as " + hint
		}
		opts = append(opts, mcp.WithArgument("arguments", mcp.ArgumentDescription(what)))
	}
	return server.ServerPrompt{
		Prompt: mcp.NewPrompt(sk.ID, opts...),
		Handler: func(_ context.Context, req mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
			text := guide
			if takesArgs {
				text = substituteArguments(guide, req.Params.Arguments["arguments"])
			}
			return mcp.NewGetPromptResult(desc, []mcp.PromptMessage{mcp.NewPromptMessage(mcp.RoleUser, mcp.NewTextContent(text))}), nil
		},
	}, true
}

// positionalArg is $1 ... $9 in a guide.
var positionalArg = regexp.MustCompile(`\$[1-9]\b`)

// substituteArguments fills a guide's $ARGUMENTS with args and $1..$9 with
// its words, as Claude Code does; a guide with neither gets the arguments
// appended, so they are never lost.
func substituteArguments(guide, args string) string {
	words := strings.Fields(args)
	out := strings.ReplaceAll(guide, "$ARGUMENTS", args)
	out = positionalArg.ReplaceAllStringFunc(out, func(m string) string {
		if i := int(m[1] - '1'); i < len(words) {
			return words[i]
		}
		return ""
	})
	if out == guide && strings.TrimSpace(args) != "" {
		out += "\n\nARGUMENTS: " + args
	}
	return out
}

// toolPrompt is a @prompt function: its parameters are the arguments, and
// prompts/get runs it.
func (p *Proxy) toolPrompt(skill string, t skillTool, name string) server.ServerPrompt {
	var sch paramSchema
	_ = json.Unmarshal(t.Params, &sch)
	opts := []mcp.PromptOption{mcp.WithPromptDescription(orDefault(t.Description, "Prompt "+name+" of the "+skill+" skill."))}
	if t.Prompt.Title != "" {
		opts = append(opts, mcp.WithPromptTitle(t.Prompt.Title))
	}
	args := make([]string, 0, len(sch.Properties))
	for a := range sch.Properties {
		args = append(args, a)
	}
	sort.Strings(args)
	for _, a := range args {
		ao := []mcp.ArgumentOption{mcp.ArgumentDescription(sch.Properties[a].Description)}
		for _, r := range sch.Required {
			if r == a {
				ao = append(ao, mcp.RequiredArgument())
			}
		}
		opts = append(opts, mcp.WithArgument(a, ao...))
	}
	prompt := mcp.NewPrompt(name, opts...)
	desc := prompt.Description
	return server.ServerPrompt{Prompt: prompt, Handler: func(ctx context.Context, req mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
		params := map[string]any{}
		for k, v := range req.Params.Arguments {
			params[k] = typedArgument(v, sch.Properties[k].Type)
		}
		for _, r := range sch.Required {
			if _, ok := params[r]; !ok {
				return nil, fmt.Errorf("%w: prompt %s needs the argument %q", mcp.ErrInvalidParams, name, r)
			}
		}
		raw, err := p.runSkillTool(ctx, skill, t.Name, params)
		if err != nil {
			return nil, fmt.Errorf("prompt %s: %w", name, err)
		}
		msgs, err := promptMessages(raw)
		if err != nil {
			return nil, fmt.Errorf("prompt %s: %w", name, err)
		}
		return mcp.NewGetPromptResult(desc, msgs), nil
	}}
}

// typedArgument is a prompt argument (always a string in MCP) as the
// parameter's type wants it: "3" for an integer is 3. A string that does not
// parse stays a string, and the tool's own check names the mistake.
func typedArgument(v string, typ any) any {
	if t, _ := typ.(string); t == "" || t == "string" {
		return v
	}
	var out any
	if json.Unmarshal([]byte(v), &out) != nil {
		return v
	}
	return out
}

func (p *Proxy) toolResource(skill string, t skillTool) server.ServerResource {
	r := t.Resource
	opts := []mcp.ResourceOption{mcp.WithResourceDescription(orDefault(t.Description, "Resource "+r.Name+" of the "+skill+" skill."))}
	if r.Title != "" {
		opts = append(opts, mcp.WithResourceTitle(r.Title))
	}
	if r.MIME != "" {
		opts = append(opts, mcp.WithMIMEType(r.MIME))
	}
	return server.ServerResource{Resource: mcp.NewResource(r.URI, r.Name, opts...),
		Handler: func(ctx context.Context, req mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
			return p.readSkillResource(ctx, skill, t, req.Params.URI, map[string]any{})
		}}
}

func (p *Proxy) toolTemplate(skill string, t skillTool) server.ServerResourceTemplate {
	r := t.Resource
	opts := []mcp.ResourceTemplateOption{mcp.WithTemplateDescription(orDefault(t.Description, "Resources "+r.Name+" of the "+skill+" skill."))}
	if r.Title != "" {
		opts = append(opts, mcp.WithTemplateTitle(r.Title))
	}
	if r.MIME != "" {
		opts = append(opts, mcp.WithTemplateMIMEType(r.MIME))
	}
	return server.ServerResourceTemplate{Template: mcp.NewResourceTemplate(r.URI, r.Name, opts...),
		Handler: func(ctx context.Context, req mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
			params := map[string]any{}
			for k, v := range req.Params.Arguments { // the URI's variables
				switch v := v.(type) {
				case []string:
					params[k] = strings.Join(v, ",")
				default:
					params[k] = v
				}
			}
			return p.readSkillResource(ctx, skill, t, req.Params.URI, params)
		}}
}

func (p *Proxy) readSkillResource(ctx context.Context, skill string, t skillTool, uri string, params map[string]any) ([]mcp.ResourceContents, error) {
	raw, err := p.runSkillTool(ctx, skill, t.Name, params)
	if err != nil {
		var ee *wire.Error
		if errors.As(err, &ee) && ee.Kind == wire.KindNotFound {
			return nil, fmt.Errorf("%w: %s: %s", mcp.ErrResourceNotFound, uri, ee.Message)
		}
		return nil, fmt.Errorf("%s: %w", uri, err)
	}
	return resourceContents(raw, uri, t.Resource.MIME)
}

// runSkillTool runs one of a skill's functions through the engine, as any
// tool call: its own sandbox, permissions and audit.
func (p *Proxy) runSkillTool(ctx context.Context, skill, tool string, params map[string]any) (json.RawMessage, error) {
	var raw json.RawMessage
	err := p.eng.Call(ctx, wire.MethodSkillsRun, map[string]any{"skill": skill, "tool": tool, "params": params}, &raw, false)
	return raw, err
}

// agentEntry is an agent as agents.list gives it.
type agentEntry struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Prompt      string `json:"prompt"`
}

// agentPrompt is an agent as a prompt whose argument is the task: the
// agent's instructions and the task, for a client whose own model takes
// the agent's part, with the way to have agentos run it instead.
func agentPrompt(name string, a agentEntry) server.ServerPrompt {
	return server.ServerPrompt{
		Prompt: mcp.NewPrompt(name, mcp.WithPromptTitle("Agent: "+a.Name), mcp.WithPromptDescription(a.Description),
			mcp.WithArgument("task", mcp.ArgumentDescription("what the agent should do"), mcp.RequiredArgument())),
		Handler: func(_ context.Context, req mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
			task := req.Params.Arguments["task"]
			text := a.Prompt + "\n\n## Task\n\n" + task + "\n\n(To have agentos run the " + a.Name +
				" agent itself, with its own tools and a record of the run, call the agent_run tool with agent \"" + a.Name + "\" and this task.)"
			return mcp.NewGetPromptResult(a.Description, []mcp.PromptMessage{mcp.NewPromptMessage(mcp.RoleUser, mcp.NewTextContent(text))}), nil
		},
	}
}
