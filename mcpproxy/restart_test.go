package mcpproxy

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/agentos/agentos/internal/testkit"

	"github.com/mark3labs/mcp-go/mcp"
)

// An engine that stops (and does not come back within rejoinWithin) during a
// long capability call ends the call with an isError result that says the
// call was interrupted and how to start the engine; once it runs again, the
// same session's next calls work. (cmd/agentos/mcp_e2e_test.go covers a
// restart, clean and after a crash, with the real binary.)
func TestMCPEngineStoppedDuringACallSaysSoAndTheSessionRecovers(t *testing.T) {
	defer func(d time.Duration) { rejoinWithin = d }(rejoinWithin)
	rejoinWithin = 300 * time.Millisecond

	home := testkit.Home(t)
	testkit.AddSkill(t, home, "counter", "", testkit.CountTools)
	testkit.AddSkill(t, home, "hanger", "capability(hang)", testkit.HangTools)
	stop := testkit.RunEngine(t, home)
	url := serveHTTP(t, home)
	c := httpSession(t, url, mcp.LATEST_LEGACY_PROTOCOL_VERSION)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	pidfile := filepath.Join(home, "pids")
	done := testkit.CallHang(ctx, c, pidfile)
	pids := testkit.WaitPIDs(t, pidfile, 2)
	stop() // a clean stop cancels the engine's jobs
	o := <-done
	if o.Err != nil {
		t.Fatalf("the interrupted call failed at the protocol level: %v", o.Err)
	}
	text := toolText(o.Result)
	if !o.Result.IsError {
		t.Fatalf("want isError, got %s", text)
	}
	for _, w := range []string{"hang", "interrupted", "engine stopped", "did not complete", "agentos start"} {
		if !strings.Contains(text, w) {
			t.Fatalf("error %q does not say %q", text, w)
		}
	}
	for _, pid := range pids {
		testkit.WaitGone(t, pid, "the engine that ran it")
	}

	// Without an engine, calls say how to start it; with one, they work.
	if res, err := c.CallTool(ctx, statusCall()); err != nil || !res.IsError || !strings.Contains(toolText(res), "agentos start") {
		t.Fatalf("status without an engine: %v %+v", err, res)
	}
	testkit.RunEngine(t, home)
	var req mcp.CallToolRequest
	req.Params.Name = "count"
	req.Params.Arguments = map[string]any{"n": 1}
	if res, err := c.CallTool(ctx, req); err != nil || res.IsError || toolText(res) != `{"counted":1}` {
		t.Fatalf("count once the engine is back: %v %+v", err, res)
	}
	if res, err := c.CallTool(ctx, statusCall()); err != nil || res.IsError {
		t.Fatalf("status once the engine is back: %v %+v", err, res)
	}
}

func toolText(res *mcp.CallToolResult) string {
	var b strings.Builder
	for _, ct := range res.Content {
		if tc, ok := ct.(mcp.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}
