package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/agentos/agentos/internal/testkit"

	"github.com/mark3labs/mcp-go/mcp"
)

// briefTools is a skill with a prompt, a resource template and a tool that
// returns rich content, each written with the SDK's general features.
const briefTools = `
from typing import Literal
from agentos import prompt, provides, resource
from agentos.content import Image, Link, Message, Text


@prompt(title="A brief")
def brief(topic: str, tone: Literal["plain", "playful", "precise"] = "plain") -> list:
    """Write a brief on a topic.

    Args:
        topic: what the brief is about
        tone: how it reads
    """
    return [Message("user", f"Write a {tone} brief about {topic}."), Message("assistant", "Sure.")]


@resource("brief://{tone}/intro", mime="text/markdown")
def intro(tone: Literal["plain", "playful"]) -> str:
    """The intro of a brief in one tone."""
    return f"# A {tone} intro"


@provides("brief.count", title="Count words", icon="data:image/svg+xml;base64,PHN2Zy8+")
def count(text: str) -> int:
    """Count the words of a text."""
    return len(text.split())


@provides("brief.tag", icon="http://plain.example/icon.png")
def tag(tags: list[str], note: str | None = None) -> dict:
    """Tag a brief."""
    return {"tags": tags, "note": note}


@provides("brief.draw")
def draw(title: str) -> list:
    """Draw the brief's cover."""
    return [Text(title), Image(b"\x89PNG fake", "image/png"), Link("agentos://nodes/01J", "the brief")]
`

func TestMCPServesSkillPromptsResourcesAndRichContent(t *testing.T) {
	home := testkit.Home(t)
	testkit.AddSkill(t, home, "briefs", "", briefTools)
	d := startDaemon(t, home)
	var n struct{ ID string }
	call(t, d.client(t), "data.create", map[string]any{"shape": "note", "fields": map[string]any{"title": "Garden planner"}}, &n)
	c := mcpSession(t, home, "--no-autostart")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	// The prompt: listed with its arguments and title, run by prompts/get.
	prompts, err := c.ListPrompts(ctx, mcp.ListPromptsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(prompts.Prompts, func(p mcp.Prompt) bool { return p.Name == "brief" })
	if i < 0 {
		t.Fatalf("prompts/list has no brief: %+v", prompts.Prompts)
	}
	if p := prompts.Prompts[i]; p.Title != "A brief" || len(p.Arguments) != 2 || p.Arguments[0].Name != "tone" || p.Arguments[0].Required ||
		p.Arguments[1].Name != "topic" || !p.Arguments[1].Required || p.Arguments[1].Description != "what the brief is about" {
		t.Errorf("brief prompt %+v", p)
	}
	var get mcp.GetPromptRequest
	get.Params.Name = "brief"
	get.Params.Arguments = map[string]string{"topic": "bees", "tone": "playful"}
	got, err := c.GetPrompt(ctx, get)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Messages) != 2 || got.Messages[0].Role != mcp.RoleUser || got.Messages[1].Role != mcp.RoleAssistant ||
		got.Messages[0].Content.(mcp.TextContent).Text != "Write a playful brief about bees." {
		t.Errorf("prompts/get brief: %+v", got.Messages)
	}
	get.Params.Arguments = map[string]string{"tone": "plain"}
	if _, err := c.GetPrompt(ctx, get); err == nil || !strings.Contains(err.Error(), `needs the argument "topic"`) {
		t.Errorf("prompts/get without a required argument: %v", err)
	}

	complete := func(ref any, arg, value string) []string {
		t.Helper()
		var req mcp.CompleteRequest
		req.Params.Ref = ref
		req.Params.Argument.Name, req.Params.Argument.Value = arg, value
		res, err := c.Complete(ctx, req)
		if err != nil {
			t.Fatalf("complete %s=%q: %v", arg, value, err)
		}
		return res.Completion.Values
	}
	if got := complete(mcp.PromptReference{Type: "ref/prompt", Name: "brief"}, "tone", "p"); !slices.Equal(got, []string{"plain", "playful", "precise"}) {
		t.Errorf("tone completions for p: %v", got)
	}
	if got := complete(mcp.PromptReference{Type: "ref/prompt", Name: "brief"}, "tone", "pr"); !slices.Equal(got, []string{"precise"}) {
		t.Errorf("tone completions for pr: %v", got)
	}
	if got := complete(mcp.ResourceReference{Type: "ref/resource", URI: "agentos://shapes/{name}"}, "name", "ta"); !slices.Equal(got, []string{"tag", "task"}) {
		t.Errorf("shape completions for ta: %v", got)
	}
	if got := complete(mcp.ResourceReference{Type: "ref/resource", URI: "agentos://nodes/{id}"}, "id", "gard"); !slices.Equal(got, []string{n.ID}) {
		t.Errorf("node completions for gard: %v, want %s", got, n.ID)
	}
	if got := complete(mcp.ResourceReference{Type: "ref/resource", URI: "brief://{tone}/intro"}, "tone", "pl"); !slices.Equal(got, []string{"plain", "playful"}) {
		t.Errorf("template completions: %v", got)
	}
	if got := complete(mcp.ResourceReference{Type: "ref/resource", URI: "agentos://capabilities/{name}"}, "name", "brief."); !slices.Equal(got, []string{"brief.count", "brief.draw", "brief.tag"}) {
		t.Errorf("capability completions: %v", got)
	}
	var capRead mcp.ReadResourceRequest
	capRead.Params.URI = "agentos://capabilities/brief.count"
	if res, err := c.ReadResource(ctx, capRead); err != nil || !strings.Contains(res.Contents[0].(mcp.TextResourceContents).Text, `"skill":"briefs"`) {
		t.Errorf("read %s: %v %+v", capRead.Params.URI, err, res)
	}

	// The template: listed, and read with its variable.
	tmpls, err := c.ListResourceTemplates(ctx, mcp.ListResourceTemplatesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var uris []string
	for _, tm := range tmpls.ResourceTemplates {
		uris = append(uris, tm.URITemplate.Raw())
	}
	for _, want := range []string{"agentos://nodes/{id}", "agentos://shapes/{name}", "brief://{tone}/intro"} {
		if !slices.Contains(uris, want) {
			t.Errorf("resources/templates/list %v lacks %s", uris, want)
		}
	}
	var read mcp.ReadResourceRequest
	read.Params.URI = "brief://playful/intro"
	res, err := c.ReadResource(ctx, read)
	if err != nil {
		t.Fatal(err)
	}
	if tc, ok := res.Contents[0].(mcp.TextResourceContents); !ok || tc.Text != "# A playful intro" || tc.MIMEType != "text/markdown" || tc.URI != read.Params.URI {
		t.Errorf("read %s: %+v", read.Params.URI, res.Contents)
	}

	// Titles and output schemas: a return annotation is the result's schema
	// (a non-object wrapped as result, as structuredContent is), a tool
	// without one has none.
	tools, err := c.ListTools(ctx, mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]mcp.Tool{}
	for _, tl := range tools.Tools {
		byName[tl.Name] = tl
	}
	countTool := byName["brief_count"]
	listed, _ := json.Marshal(countTool)
	if countTool.Title != "Count words" || !strings.Contains(string(listed), `"outputSchema":{"properties":{"result":{"type":"integer"}},"required":["result"],"type":"object"}`) {
		t.Errorf("brief_count as listed: %s", listed)
	}
	if icons := countTool.Icons; len(icons) != 1 || icons[0].Src != "data:image/svg+xml;base64,PHN2Zy8+" {
		t.Errorf("brief_count's icons %+v", icons)
	}
	if icons := byName["brief_tag"].Icons; len(icons) != 0 {
		t.Errorf("a plain http icon was passed on: %+v", icons)
	}
	if byName["read"].Title != "Read the graph" {
		t.Errorf("read's title %q", byName["read"].Title)
	}
	if drawn, _ := json.Marshal(byName["brief_draw"]); strings.Contains(string(drawn), "outputSchema") {
		t.Errorf("a tool returning content blocks declares an output schema: %s", drawn)
	}
	var countReq mcp.CallToolRequest
	countReq.Params.Name = "brief_count"
	countReq.Params.Arguments = map[string]any{"text": "one two three"}
	if res, err := c.CallTool(ctx, countReq); err != nil || res.IsError || fmt.Sprint(res.StructuredContent) != "map[result:3]" {
		t.Errorf("brief_count: %v %+v", err, res)
	}
	// A written node comes back with a link to its resource.
	var create mcp.CallToolRequest
	create.Params.Name = "create"
	create.Params.Arguments = map[string]any{"shape": "task", "fields": map[string]any{"title": "Linked"}}
	created, err := c.CallTool(ctx, create)
	if err != nil || created.IsError || len(created.Content) != 2 {
		t.Fatalf("create: %v %+v", err, created)
	}
	if link, ok := created.Content[1].(mcp.ResourceLink); !ok || !strings.HasPrefix(link.URI, "agentos://nodes/") || link.Name != "Linked" {
		t.Errorf("create's link %+v", created.Content[1])
	}

	// Arguments are checked against the whole schema; an Optional takes null.
	var tagReq mcp.CallToolRequest
	tagReq.Params.Name = "brief_tag"
	tagReq.Params.Arguments = map[string]any{"tags": []any{"a"}, "note": nil}
	if res, err := c.CallTool(ctx, tagReq); err != nil || res.IsError {
		t.Errorf("brief_tag with note null: %v %+v", err, res)
	}
	tagReq.Params.Arguments = map[string]any{"tags": []any{1, 2}}
	if res, err := c.CallTool(ctx, tagReq); err != nil || !res.IsError || !strings.Contains(res.Content[0].(mcp.TextContent).Text, `argument "tags" at /0: got number, want string`) {
		t.Errorf("brief_tag with numbers for list[str]: %v %+v", err, res)
	}
	var search mcp.CallToolRequest
	search.Params.Name = "search"
	search.Params.Arguments = map[string]any{"query": "x", "limit": 5000}
	if res, err := c.CallTool(ctx, search); err != nil || !res.IsError || !strings.Contains(res.Content[0].(mcp.TextContent).Text, `argument "limit": maximum`) {
		t.Errorf("search with limit 5000: %v %+v", err, res)
	}

	// Rich content: each block as the skill returned it.
	var draw mcp.CallToolRequest
	draw.Params.Name = "brief_draw"
	draw.Params.Arguments = map[string]any{"title": "Bees"}
	out, err := c.CallTool(ctx, draw)
	if err != nil || out.IsError || len(out.Content) != 3 {
		t.Fatalf("brief_draw: %v %+v", err, out)
	}
	img, ok := out.Content[1].(mcp.ImageContent)
	raw, _ := base64.StdEncoding.DecodeString(img.Data)
	link, lok := out.Content[2].(mcp.ResourceLink)
	if out.Content[0].(mcp.TextContent).Text != "Bees" || !ok || img.MIMEType != "image/png" || string(raw) != "\x89PNG fake" ||
		!lok || link.URI != "agentos://nodes/01J" || link.Name != "the brief" {
		t.Errorf("brief_draw content %+v", out.Content)
	}
}
