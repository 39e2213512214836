package main

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentos/agentos/engine/wire"
	"github.com/agentos/agentos/internal/testkit"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
)

// askTools asks the user, then the client's model, and returns both.
const askTools = `
from agentos import ask, provides, sample


@provides("trip.ask", requires=["elicitation"])
def ask_only() -> str:
    """Only works with a client that can ask the user."""
    return ask("Sure?", {"type": "object", "properties": {"ok": {"type": "boolean"}}})["action"]


@provides("trip.plan")
def plan() -> str:
    """Plan a trip."""
    where = ask("Where to?", {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]})
    if where["action"] != "accept":
        return "no trip: " + where["action"]
    idea = sample("One line on " + where["content"]["city"], max_tokens=50, system="Be brief.")
    return where["content"]["city"] + ": " + idea["content"]["text"] + " (" + idea["model"] + ")"
`

// mcpClient starts `agentos mcp --no-autostart` on home with mcp-go's
// client built with opts (its elicitation and sampling handlers declare
// those capabilities), initialized on protocol 2025-11-25 with caps.
func mcpClient(t *testing.T, home string, caps mcp.ClientCapabilities, opts ...client.ClientOption) (*client.Client, *mcp.InitializeResult) {
	t.Helper()
	c := client.NewClient(transport.NewStdio(binPath, []string{"AGENTOS_HOME=" + home}, "mcp", "--no-autostart"), opts...)
	// The process lives as long as Start's context: the test's.
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var req mcp.InitializeRequest
	req.Params.ProtocolVersion = mcp.ProtocolVersion20251125
	req.Params.ClientInfo = mcp.Implementation{Name: "agentos-test", Version: "0"}
	req.Params.Capabilities = caps
	init, err := c.Initialize(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	return c, init
}

type fakeUser struct {
	asked  atomic.Value // the elicitation request
	action string
}

func (u *fakeUser) Elicit(_ context.Context, req mcp.ElicitationRequest) (*mcp.ElicitationResult, error) {
	u.asked.Store(req)
	res := &mcp.ElicitationResult{}
	res.Action = mcp.ElicitationResponseAction(u.action)
	if u.action == "accept" {
		res.Content = map[string]any{"city": "Lisbon"}
	}
	return res, nil
}

// stuckUser never answers.
type stuckUser struct{}

func (stuckUser) Elicit(ctx context.Context, _ mcp.ElicitationRequest) (*mcp.ElicitationResult, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

type fakeModel struct{ asked atomic.Value }

func (m *fakeModel) CreateMessage(_ context.Context, req mcp.CreateMessageRequest) (*mcp.CreateMessageResult, error) {
	m.asked.Store(req)
	res := &mcp.CreateMessageResult{Model: "client-model", StopReason: "endTurn"}
	res.Role = mcp.RoleAssistant
	res.Content = mcp.NewTextContent("tiles and tarts")
	return res, nil
}

// A skill's agentos.ask and agentos.sample reach the MCP client that made
// the call (elicitation/create, sampling/createMessage) over stdio and come
// back with its answers; a client that offers neither gets a clear error,
// as does the CLI; an ungranted skill is denied.
func TestSkillsAskTheUserAndSampleThroughTheMCPClient(t *testing.T) {
	home := testkit.Home(t)
	testkit.AddSkill(t, home, "trips", "client(elicit) client(sample)", askTools)
	testkit.AddSkill(t, home, "nosy", "", strings.ReplaceAll(askTools, "trip.plan", "nosy.plan"))
	d := startDaemon(t, home)

	session := func(t *testing.T, opts ...client.ClientOption) *client.Client {
		t.Helper()
		c, _ := mcpClient(t, home, mcp.ClientCapabilities{}, opts...)
		return c
	}
	plan := func(t *testing.T, c *client.Client, tool string) (*mcp.CallToolResult, string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		var req mcp.CallToolRequest
		req.Params.Name = tool
		res, err := c.CallTool(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		return res, res.Content[0].(mcp.TextContent).Text
	}

	t.Run("answered", func(t *testing.T) {
		user, model := &fakeUser{action: "accept"}, &fakeModel{}
		c := session(t, client.WithElicitationHandler(user), client.WithSamplingHandler(model))
		res, text := plan(t, c, "trip_plan")
		if res.IsError || text != "Lisbon: tiles and tarts (client-model)" {
			t.Fatalf("trip_plan: %v %s", res.IsError, text)
		}
		asked := user.asked.Load().(mcp.ElicitationRequest)
		if asked.Params.Message != "Where to?" {
			t.Errorf("elicitation %+v", asked.Params)
		}
		sampled := model.asked.Load().(mcp.CreateMessageRequest)
		if sampled.MaxTokens != 50 || sampled.SystemPrompt != "Be brief." || len(sampled.Messages) != 1 ||
			sampled.Messages[0].Content.(mcp.TextContent).Text != "One line on Lisbon" {
			t.Errorf("sampling request %+v", sampled.CreateMessageParams)
		}
	})
	t.Run("declined", func(t *testing.T) {
		c := session(t, client.WithElicitationHandler(&fakeUser{action: "decline"}), client.WithSamplingHandler(&fakeModel{}))
		if res, text := plan(t, c, "trip_plan"); res.IsError || text != "no trip: decline" {
			t.Fatalf("trip_plan declined: %v %s", res.IsError, text)
		}
	})
	t.Run("a tool that requires elicitation, from a client without it", func(t *testing.T) {
		c := session(t)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		var req mcp.CallToolRequest
		req.Params.Name = "trip_ask"
		_, err := c.CallTool(ctx, req)
		var missing mcp.MissingRequiredClientCapabilityError
		if !errors.As(err, &missing) || missing.Capability != "elicitation" {
			t.Fatalf("trip_ask without elicitation: %v", err)
		}
		raw, rpcErr := rawRequest(t, c, 77, "tools/call", map[string]any{"name": "trip_ask", "arguments": map[string]any{}})
		if rpcErr == nil || rpcErr.Code != mcp.MISSING_REQUIRED_CLIENT_CAPABILITY {
			t.Fatalf("trip_ask: %s %+v", raw, rpcErr)
		}
	})
	t.Run("a client without elicitation", func(t *testing.T) {
		c := session(t)
		res, text := plan(t, c, "trip_plan")
		if !res.IsError || !strings.Contains(text, "cannot answer elicitation") || !strings.Contains(text, "unavailable") {
			t.Fatalf("trip_plan without elicitation: %v %s", res.IsError, text)
		}
	})
	t.Run("not granted", func(t *testing.T) {
		c := session(t, client.WithElicitationHandler(&fakeUser{action: "accept"}), client.WithSamplingHandler(&fakeModel{}))
		res, text := plan(t, c, "nosy_plan")
		if !res.IsError || !strings.Contains(text, "client(elicit)") || !strings.Contains(text, "denied") {
			t.Fatalf("nosy_plan: %v %s", res.IsError, text)
		}
	})
	t.Run("cancelled while the user thinks", func(t *testing.T) {
		c := session(t, client.WithElicitationHandler(stuckUser{}))
		ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
		defer cancel()
		var req mcp.CallToolRequest
		req.Params.Name = "trip_plan"
		if _, err := c.CallTool(ctx, req); err == nil {
			t.Fatal("the call returned while the user had not answered")
		}
		// The job waiting for the answer is cancelled, not left waiting.
		deadline := time.Now().Add(10 * time.Second)
		for {
			var jobs struct{ Jobs []wire.Job }
			call(t, d.client(t), "jobs.list", nil, &jobs)
			var last wire.Job
			for _, j := range jobs.Jobs {
				if j.Capability == "trip.plan" && !j.StartedAt.Before(last.StartedAt) {
					last = j // the newest
				}
			}
			if last.State == wire.JobCancelled {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the asking job is %s, want cancelled", last.State)
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
	t.Run("the CLI", func(t *testing.T) {
		r := agentos(t, home, "invoke", "trip.plan")
		if r.code == 0 || !strings.Contains(r.stderr, "cannot answer elicitation") {
			t.Fatalf("invoke trip.plan: %+v", r)
		}
	})
}

// On protocol 2026-07-28, which has no server-initiated requests, the same
// skill asks through multi-round-trip results: the call answers
// input_required, mcp-go's client asks its user (and model) and calls
// again with the answers, and the job, parked meanwhile, goes on to its
// result. A requestState the proxy did not give out is refused.
func TestSkillsAskTheUserOverMultiRoundTrips(t *testing.T) {
	home := testkit.Home(t)
	testkit.AddSkill(t, home, "trips", "client(elicit) client(sample)", askTools)
	startDaemon(t, home)
	user, model := &fakeUser{action: "accept"}, &fakeModel{}
	c := client.NewClient(transport.NewStdio(binPath, []string{"AGENTOS_HOME=" + home}, "mcp", "--no-autostart"),
		client.WithElicitationHandler(user), client.WithSamplingHandler(model))
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var init mcp.InitializeRequest
	init.Params.ProtocolVersion = mcp.LATEST_PROTOCOL_VERSION
	init.Params.ClientInfo = mcp.Implementation{Name: "agentos-test", Version: "0"}
	got, err := c.Initialize(ctx, init)
	if err != nil || !mcp.IsModernProtocol(got.ProtocolVersion) {
		t.Fatalf("initialize: %v %+v", err, got)
	}
	var req mcp.CallToolRequest
	req.Params.Name = "trip_plan"
	res, err := c.CallTool(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if text := res.Content[0].(mcp.TextContent).Text; res.IsError || text != "Lisbon: tiles and tarts (client-model)" {
		t.Fatalf("trip_plan over multi round trips: %v %s", res.IsError, text)
	}
	if asked, _ := user.asked.Load().(mcp.ElicitationRequest); asked.Params.Message != "Where to?" {
		t.Errorf("elicitation %+v", asked.Params)
	}

	meta := map[string]any{"io.modelcontextprotocol/protocolVersion": got.ProtocolVersion,
		"io.modelcontextprotocol/clientCapabilities": map[string]any{"elicitation": map[string]any{}}}
	raw, rpcErr := rawRequest(t, c, 91, "tools/call", map[string]any{"name": "trip_plan", "arguments": map[string]any{},
		"requestState": "mrtr:forged", "inputResponses": map[string]any{"input-1": map[string]any{"action": "accept"}}, "_meta": meta})
	if rpcErr != nil || !strings.Contains(string(raw), `"isError":true`) || !strings.Contains(string(raw), "requestState names no call") {
		t.Fatalf("a forged requestState: %s %+v", raw, rpcErr)
	}
	// Round one by hand: the question, with a state to answer it under.
	raw, rpcErr = rawRequest(t, c, 92, "tools/call", map[string]any{"name": "trip_plan", "arguments": map[string]any{}, "_meta": meta})
	var round struct {
		ResultType    string `json:"resultType"`
		RequestState  string `json:"requestState"`
		InputRequests map[string]struct {
			Method string
			Params struct{ Message string }
		} `json:"inputRequests"`
	}
	if rpcErr != nil || json.Unmarshal(raw, &round) != nil || round.ResultType != "input_required" || !strings.HasPrefix(round.RequestState, "mrtr:") ||
		round.InputRequests["input-1"].Method != "elicitation/create" || round.InputRequests["input-1"].Params.Message != "Where to?" {
		t.Fatalf("round one: %s %+v", raw, rpcErr)
	}
	raw, _ = rawRequest(t, c, 93, "tools/call", map[string]any{"name": "trip_plan", "arguments": map[string]any{}, "_meta": meta,
		"requestState": round.RequestState, "inputResponses": map[string]any{"input-1": map[string]any{"action": "decline"}}})
	if !strings.Contains(string(raw), "no trip: decline") {
		t.Fatalf("round two: %s", raw)
	}
}
