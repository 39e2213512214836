package mcpproxy

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/agentos/agentos/internal/testkit"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
)

// Progress and cancellation over Streamable HTTP, with mcp-go's streamable
// HTTP client, as cmd/agentos/mcp_e2e_test.go checks them over stdio. Both
// protocol eras: the current one (stateless: a request is cancelled by
// closing its stream) and the last one with sessions (cancelled with
// notifications/cancelled).

var httpEras = []string{mcp.LATEST_PROTOCOL_VERSION, mcp.LATEST_LEGACY_PROTOCOL_VERSION}

// httpSession connects an MCP client over Streamable HTTP at version.
func httpSession(t *testing.T, url, version string) *client.Client {
	t.Helper()
	c, err := client.NewStreamableHttpClient(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	var init mcp.InitializeRequest
	init.Params.ProtocolVersion = version
	init.Params.ClientInfo = mcp.Implementation{Name: "agentos-test", Version: "0"}
	if _, err := c.Initialize(ctx, init); err != nil {
		t.Fatalf("initialize %s: %v", version, err)
	}
	return c
}

// progressLog collects notifications/progress by token.
type progressLog struct {
	mu  sync.Mutex
	got map[string][]map[string]any
}

func watchProgress(c *client.Client) *progressLog {
	l := &progressLog{got: map[string][]map[string]any{}}
	c.OnNotification(func(n mcp.JSONRPCNotification) {
		if n.Method != string(mcp.MethodNotificationProgress) {
			return
		}
		l.mu.Lock()
		defer l.mu.Unlock()
		tok := fmt.Sprint(n.Params.AdditionalFields["progressToken"])
		l.got[tok] = append(l.got[tok], n.Params.AdditionalFields)
	})
	return l
}

// wait returns the notifications of tok once there are at least n.
func (l *progressLog) wait(t *testing.T, tok string, n int) []map[string]any {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		l.mu.Lock()
		got := slices.Clone(l.got[tok])
		l.mu.Unlock()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("progress for token %s: %v, want %d notifications", tok, got, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestMCPHTTPProgressNotifications(t *testing.T) {
	home := testkit.Home(t)
	testkit.AddSkill(t, home, "counter", "", testkit.CountTools)
	testkit.RunEngine(t, home)
	url := serveHTTP(t, home)
	for _, era := range httpEras {
		t.Run(era, func(t *testing.T) {
			c := httpSession(t, url, era)
			progress := watchProgress(c)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()

			// A capability tool with a progress token: each job.progress
			// becomes a notifications/progress, then the result comes.
			var req mcp.CallToolRequest
			req.Params.Name = "count"
			req.Params.Arguments = map[string]any{"n": 3}
			req.Params.Meta = &mcp.Meta{ProgressToken: "count-" + era}
			res, err := c.CallTool(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			if tc, ok := res.Content[0].(mcp.TextContent); res.IsError || !ok || tc.Text != `{"counted":3}` {
				t.Fatalf("count: %+v", res)
			}
			got := progress.wait(t, "count-"+era, 3)
			if last := got[2]; last["progress"] != 3.0 || last["total"] != 3.0 || last["message"] != "step 3" {
				t.Fatalf("last progress: %v", last)
			}

			// invoke too, with a numeric token.
			req.Params.Name = "invoke"
			req.Params.Arguments = map[string]any{"capability": "count", "params": map[string]any{"n": 2}}
			req.Params.Meta = &mcp.Meta{ProgressToken: 7}
			if res, err = c.CallTool(ctx, req); err != nil || res.IsError {
				t.Fatalf("invoke count: %v %+v", err, res)
			}
			progress.wait(t, "7", 2)
		})
	}
}

func TestMCPHTTPCancellationCancelsTheJob(t *testing.T) {
	home := testkit.Home(t)
	testkit.AddSkill(t, home, "hanger", "capability(hang)", testkit.HangTools)
	testkit.RunEngine(t, home)
	url := serveHTTP(t, home)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	// Current protocol: the client ends the request's stream, which is
	// how a stateless request is cancelled.
	t.Run(mcp.LATEST_PROTOCOL_VERSION, func(t *testing.T) {
		c := httpSession(t, url, mcp.LATEST_PROTOCOL_VERSION)
		pidfile := filepath.Join(home, "pids-stream")
		cctx, ccancel := context.WithCancel(ctx)
		defer ccancel()
		done := testkit.CallHang(cctx, c, pidfile)
		pids := testkit.WaitPIDs(t, pidfile, 2)
		ccancel()
		if o := <-done; o.Err == nil {
			t.Fatal("cancelled tools/call: want an error")
		}
		for _, pid := range pids {
			testkit.WaitGone(t, pid, "the cancelled tool call")
		}
		if res, err := c.CallTool(ctx, statusCall()); err != nil || res.IsError {
			t.Fatalf("status after the cancel: %v %+v", err, res)
		}
	})

	// The last protocol with sessions: notifications/cancelled naming the
	// request, sent on the same session while the request still waits.
	t.Run(mcp.LATEST_LEGACY_PROTOCOL_VERSION, func(t *testing.T) {
		c := httpSession(t, url, mcp.LATEST_LEGACY_PROTOCOL_VERSION)
		tr := c.GetTransport()
		pidfile := filepath.Join(home, "pids-notification")
		rctx, rcancel := context.WithCancel(ctx)
		defer rcancel()
		const id = 9001
		done := make(chan error, 1)
		go func() {
			_, err := tr.SendRequest(rctx, transport.JSONRPCRequest{
				JSONRPC: mcp.JSONRPC_VERSION, ID: mcp.NewRequestId(int64(id)), Method: string(mcp.MethodToolsCall),
				Params: map[string]any{"name": "hang", "arguments": map[string]any{"pidfile": pidfile}},
			})
			done <- err
		}()
		pids := testkit.WaitPIDs(t, pidfile, 2)
		err := tr.SendNotification(ctx, mcp.JSONRPCNotification{
			JSONRPC: mcp.JSONRPC_VERSION,
			Notification: mcp.Notification{
				Method: string(mcp.MethodNotificationCancelled),
				Params: mcp.NotificationParams{AdditionalFields: map[string]any{"requestId": id, "reason": "the user changed their mind"}},
			},
		})
		if err != nil {
			t.Fatalf("notifications/cancelled: %v", err)
		}
		for _, pid := range pids {
			testkit.WaitGone(t, pid, "the tool call cancelled with notifications/cancelled")
		}
		// The server owes no answer to a cancelled request: stop waiting.
		rcancel()
		<-done
		if res, err := c.CallTool(ctx, statusCall()); err != nil || res.IsError {
			t.Fatalf("status after the cancel: %v %+v", err, res)
		}
	})
}

func statusCall() mcp.CallToolRequest {
	var req mcp.CallToolRequest
	req.Params.Name = "status"
	return req
}
