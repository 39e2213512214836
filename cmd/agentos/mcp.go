package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os"

	"github.com/agentos/agentos/engine/wire"
	"github.com/agentos/agentos/internal/loopback"
	"github.com/agentos/agentos/mcpproxy"
)

// runMCP serves MCP on stdio, forwarding to the engine (DESIGN §10). Stdout
// is the MCP channel: everything else goes to stderr.
func runMCP(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "mcp", "", "Serve MCP on stdin/stdout, forwarding to the engine socket. Starts the engine when none answers\n"+
		"(unless --no-autostart) and reconnects transparently when it restarts. Logs go to stderr.\n"+
		"With --http ADDR, serve MCP over Streamable HTTP at http://ADDR/mcp instead (loopback only, and only to\n"+
		"processes of your own account).")
	noAutostart := f.Bool("no-autostart", false, "do not start the engine when none answers")
	httpAddr := f.String("http", "", "serve Streamable HTTP at http://`ADDR`/mcp instead of stdio (a bare port binds 127.0.0.1)")
	ssePoll := f.Duration("sse-poll", 0, "with --http: close a call's event stream after `DURATION` while the call runs; the client resumes it with\n"+
		"Last-Event-ID (SSE polling, for proxies that cut long connections). 0 keeps streams open")
	if _, err := f.parseN(args, 0, 0); err != nil {
		return err
	}
	if *ssePoll < 0 || (*ssePoll > 0 && *httpAddr == "") {
		return usagef("mcp: --sse-poll takes a positive duration, and only with --http")
	}
	var ln net.Listener
	if *httpAddr != "" {
		addr, err := mcpproxy.ListenAddr(*httpAddr)
		if err != nil {
			return usagef("mcp: %v", err)
		}
		// Loopback only, and only this user's connections (DESIGN §11).
		l, err := loopback.Listen(ctx, addr, loopback.Options{Name: "mcp"})
		if errors.Is(err, loopback.ErrNotLoopback) {
			return usagef("mcp: --http: %v", err)
		} else if err != nil {
			return err
		}
		defer l.Close()
		ln = l
		// The engine's http op refuses what this home's own processes listen on.
		remove, err := wire.AnnounceListener(wire.PathsFor(e.home), "mcp", l.Addr().String())
		if err != nil {
			return err
		}
		defer remove()
	}
	lg := slog.New(slog.NewTextHandler(e.stderr, nil)).With("component", "mcp")
	p, err := mcpproxy.New(ctx, mcpproxy.Options{Home: e.home, Autostart: !*noAutostart, Version: version, Logger: lg})
	if err != nil {
		return err
	}
	defer p.Close()
	if ln != nil {
		return p.ServeHTTP(ctx, ln, mcpproxy.HTTPOptions{SSEPoll: *ssePoll})
	}
	mcpproxy.UseOneCPU()
	in := e.stdin
	if in == nil {
		in = os.Stdin
	}
	return p.ServeStdio(ctx, in, e.stdout)
}
