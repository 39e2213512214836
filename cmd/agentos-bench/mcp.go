package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/agentos/agentos/mcpproxy"
	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
)

const childMCP = "__mcp"

// runMCPChild is the proxy under test: `agentos mcp` wiring, on stdio.
func runMCPChild(ctx context.Context, home string) error {
	p, err := mcpproxy.New(ctx, mcpproxy.Options{Home: home, Version: "bench"})
	if err != nil {
		return err
	}
	defer p.Close()
	return p.ServeStdio(ctx, os.Stdin, os.Stdout)
}

// mcpRead measures tools/call read {id} through the MCP proxy against the
// same data.read {id} straight on the socket, in the same run.
func (b *bench) mcpRead(ctx context.Context) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	c, err := client.NewStdioMCPClient(exe, nil, childMCP, b.home)
	if err != nil {
		return fmt.Errorf("start the MCP proxy: %w", err)
	}
	defer c.Close()
	var init mcp.InitializeRequest
	init.Params.ProtocolVersion = mcp.LATEST_PROTOCOL_VERSION
	init.Params.ClientInfo = mcp.Implementation{Name: "agentos-bench", Version: "0"}
	if _, err := c.Initialize(ctx, init); err != nil {
		return fmt.Errorf("initialize MCP: %w", err)
	}
	n := b.pings / 4
	direct := make([]time.Duration, n)
	proxied := make([]time.Duration, n)
	for i := 0; i < n; i++ {
		id := b.ids[i%len(b.ids)]
		t0 := time.Now()
		if err := b.client.Call(ctx, "data.read", map[string]any{"id": id}, nil); err != nil {
			return err
		}
		direct[i] = time.Since(t0)
		var req mcp.CallToolRequest
		req.Params.Name = "read"
		req.Params.Arguments = map[string]any{"id": id}
		t0 = time.Now()
		res, err := c.CallTool(ctx, req)
		if err != nil {
			return fmt.Errorf("tools/call read: %w", err)
		}
		proxied[i] = time.Since(t0)
		if res.IsError {
			return fmt.Errorf("tools/call read failed: %v", res.Content)
		}
	}
	p50, d50 := percentile(proxied, .5), percentile(direct, .5)
	added := p50 - d50
	met := added <= 100*time.Microsecond
	b.rows = append(b.rows, row{
		Path:   "MCP tools/call read {id} via the proxy (p50)",
		Ours:   us(p50),
		Floor:  us(d50),
		Ratio:  float64(p50) / float64(d50),
		Target: "adds ≤ 100 µs p50",
		Met:    &met,
		Note:   fmt.Sprintf("adds %s; p99 %s vs %s straight on the socket", us(added), us(percentile(proxied, .99)), us(percentile(direct, .99))),
	})
	return nil
}
