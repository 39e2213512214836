package mcpproxy

import (
	"context"
	"io"
	"log/slog"
	"net"
	"testing"
)

// Helpers for tests against a real engine: engine.Run in this process, on a
// real socket and SQLite file in a temporary AGENTOS_HOME, with real skills
// (Python processes) under it.

// serveHTTP runs the proxy of home over Streamable HTTP on a loopback port
// until the test ends and returns its URL.
func serveHTTP(t *testing.T, home string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	p, err := New(ctx, Options{Home: home, Version: "test", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.ServeHTTP(ctx, ln, HTTPOptions{}) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("ServeHTTP: %v", err)
		}
		p.Close()
	})
	return "http://" + ln.Addr().String() + HTTPPath
}
