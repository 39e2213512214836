package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"time"

	"github.com/agentos/agentos/engine"
	"github.com/agentos/agentos/engine/wire"
)

// partialLines is the memory row of issue 9: n connections each send all
// but the newline of a 16 MiB request and stall. The engine buffers each
// partial line until the line timeout drops the connection; the row reports
// RSS before, while they hold, and after they were dropped.
func (b *bench) partialLines(ctx context.Context, n int) error {
	before := rssKB(b.engine.Process.Pid)
	half := append([]byte(`{"jsonrpc":"2.0","id":1,"method":"data.create","params":{"shape":"note","fields":{"text":"`),
		bytes.Repeat([]byte("x"), wire.MaxRequestLine-200)...)
	conns := make([]net.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range n {
		c, err := net.Dial("unix", wire.PathsFor(b.home).Socket)
		if err != nil {
			return err
		}
		conns = append(conns, c)
		c.SetWriteDeadline(time.Now().Add(time.Minute))
		if _, err := c.Write(half); err != nil {
			return fmt.Errorf("send a partial line: %w", err)
		}
	}
	time.Sleep(time.Second) // the engine has read what was sent
	holding := rssKB(b.engine.Process.Pid)
	// Each connection is dropped once its line is DefaultLineTimeout old.
	for _, c := range conns {
		c.SetReadDeadline(time.Now().Add(engine.DefaultLineTimeout + 30*time.Second))
		if _, err := c.Read(make([]byte, 1)); err == nil {
			return fmt.Errorf("the engine answered a partial line")
		}
	}
	dropped := time.Now()
	var after int64
	for time.Since(dropped) < 10*time.Second {
		time.Sleep(time.Second)
		after = rssKB(b.engine.Process.Pid)
	}
	if err := b.client.Call(ctx, wire.MethodPing, nil, nil); err != nil {
		return fmt.Errorf("ping after the partial lines: %w", err)
	}
	b.rows = append(b.rows, row{
		Path:   fmt.Sprintf("RSS with %d connections holding a 16 MiB partial line", n),
		Ours:   fmt.Sprintf("%.0f MB", float64(holding)/1024),
		Floor:  fmt.Sprintf("%.0f MB", float64(before)/1024),
		Target: "given back once dropped",
		Note: fmt.Sprintf("%.0f MB 10 s after the line timeout (%s) dropped them", float64(after)/1024,
			engine.DefaultLineTimeout),
	})
	return nil
}
