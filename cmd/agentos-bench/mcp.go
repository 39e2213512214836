package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"runtime/trace"
	"strconv"
	"time"

	"github.com/agentos/agentos/engine/wire"
	"github.com/agentos/agentos/mcpproxy"
	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
)

const childMCP = "__mcp"

// profileEnv names a directory: when set, the MCP step writes CPU profiles
// and execution traces of the proxy child and of the measuring client there
// (mcp-child-PID.cpu and .trace for each proxy child, mcp-client.cpu, mcp-client.trace),
// and the engine children write a CPU profile of their whole run
// (engine-PID.cpu).
const profileEnv = "AGENTOS_BENCH_PROFILE"

// cpuProfile starts a CPU profile into path; the returned func stops it.
func cpuProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// profile starts a CPU profile and an execution trace into dir/name.*; the
// returned func stops both. Without dir it does nothing.
func profile(dir, name string) (stop func(), err error) {
	if dir == "" {
		return func() {}, nil
	}
	cpu, err := os.Create(filepath.Join(dir, name+".cpu"))
	if err != nil {
		return nil, err
	}
	tr, err := os.Create(filepath.Join(dir, name+".trace"))
	if err != nil {
		cpu.Close()
		return nil, err
	}
	if err := pprof.StartCPUProfile(cpu); err != nil {
		cpu.Close()
		tr.Close()
		return nil, err
	}
	if err := trace.Start(tr); err != nil {
		pprof.StopCPUProfile()
		cpu.Close()
		tr.Close()
		return nil, err
	}
	return func() {
		trace.Stop()
		pprof.StopCPUProfile()
		cpu.Close()
		tr.Close()
	}, nil
}

// runMCPChild is the proxy under test: `agentos mcp` wiring, on stdio.
func runMCPChild(ctx context.Context, home string) error {
	if os.Getenv(relayEnv) != "" {
		return runRelay(ctx, home)
	}
	stop, err := profile(os.Getenv(profileEnv), "mcp-child-"+strconv.Itoa(os.Getpid())) // one per child: the bench starts several
	if err != nil {
		return err
	}
	defer stop()
	p, err := mcpproxy.New(ctx, mcpproxy.Options{Home: home, Version: "bench"})
	if err != nil {
		return err
	}
	defer p.Close()
	mcpproxy.UseOneCPU() // as `agentos mcp` does on stdio
	return p.ServeStdio(ctx, os.Stdin, os.Stdout)
}

// mcpRead measures tools/call read {id} through the MCP proxy against the
// same data.read {id} straight on the socket, in the same run, twice: with
// mcp-go's stdio client, and with a lean client that writes a request line
// and reads the answer line on the calling goroutine (as the engine client
// does on the direct side), so the second row is what the proxy itself adds.
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
	stop, err := profile(os.Getenv(profileEnv), "mcp-client")
	if err != nil {
		return err
	}
	_, err = b.mcpRow(ctx, "MCP tools/call read {id} via the proxy (p50)", "mcp-go's stdio client", func(id string) error {
		var req mcp.CallToolRequest
		req.Params.Name = "read"
		req.Params.Arguments = map[string]any{"id": id}
		res, err := c.CallTool(ctx, req)
		if err != nil {
			return fmt.Errorf("tools/call read: %w", err)
		}
		if res.IsError {
			return fmt.Errorf("tools/call read failed: %v", res.Content)
		}
		return nil
	})
	stop()
	if err != nil {
		return err
	}

	lean, err := startLeanMCP(exe, b.home, false)
	if err != nil {
		return err
	}
	defer lean.close()
	leanAdds, err := b.mcpRow(ctx, "MCP tools/call read {id} via the proxy, lean client (p50)", "a lean client", lean.read)
	if err != nil {
		return err
	}
	relay, err := startLeanMCP(exe, b.home, true)
	if err != nil {
		return err
	}
	defer relay.close()
	relayAdds, err := b.mcpRow(ctx, "floor: data.read {id} through a raw line relay (p50)", "a process that only copies lines between its pipes and the socket", relay.relayRead)
	if err != nil {
		return err
	}
	// The relay is not held to the target: it is what any proxy process
	// costs, so the lean row says how much of its cost is ours.
	floor, leanRow := &b.rows[len(b.rows)-1], &b.rows[len(b.rows)-2]
	floor.Target, floor.Met = "— (the floor of any proxy process)", nil
	leanRow.Note += fmt.Sprintf("; the raw relay floor adds %s of it, the proxy's own work %s", us(relayAdds), us(leanAdds-relayAdds))
	return nil
}

// relayEnv makes the proxy child a raw relay: each line from stdin goes to
// the engine socket as it is, each line back goes to stdout. No MCP, no
// JSON: what is left is the two extra process hops every proxy costs, the
// floor of the MCP rows.
const relayEnv = "AGENTOS_BENCH_RELAY"

func runRelay(ctx context.Context, home string) error {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "unix", wire.PathsFor(home).Socket)
	if err != nil {
		return err
	}
	defer nc.Close()
	in := bufio.NewReaderSize(os.Stdin, 64<<10)
	back := bufio.NewReaderSize(nc, 64<<10)
	for {
		line, err := in.ReadSlice('\n')
		if err != nil {
			return nil // stdin closed: done
		}
		if _, err := nc.Write(line); err != nil {
			return err
		}
		reply, err := back.ReadSlice('\n')
		if err != nil {
			return err
		}
		if _, err := os.Stdout.Write(reply); err != nil {
			return err
		}
	}
}

// relayRead sends data.read {id} through the relay child.
func (l *leanMCP) relayRead(id string) error {
	l.next++
	q, _ := json.Marshal(id)
	l.buf = append(l.buf[:0], `{"jsonrpc":"2.0","id":`...)
	l.buf = strconv.AppendInt(l.buf, int64(l.next), 10)
	l.buf = append(l.buf, `,"method":"data.read","params":{"id":`...)
	l.buf = append(l.buf, q...)
	l.buf = append(l.buf, "}}\n"...)
	if _, err := l.in.Write(l.buf); err != nil {
		return fmt.Errorf("relay data.read: %w", err)
	}
	line, err := l.out.ReadSlice('\n')
	if err != nil {
		return fmt.Errorf("relay data.read: %w", err)
	}
	if !bytes.Contains(line, []byte(`"result"`)) {
		return fmt.Errorf("relay data.read: %.200s", line)
	}
	return nil
}

// mcpRow interleaves call with the same data.read on the socket and adds the
// row.
func (b *bench) mcpRow(ctx context.Context, path, client string, call func(id string) error) (added time.Duration, err error) {
	n := b.pings / 4
	direct := make([]time.Duration, n)
	proxied := make([]time.Duration, n)
	for i := 0; i < n; i++ {
		id := b.ids[i%len(b.ids)]
		t0 := time.Now()
		if err := b.client.Call(ctx, "data.read", map[string]any{"id": id}, nil); err != nil {
			return 0, err
		}
		direct[i] = time.Since(t0)
		t0 = time.Now()
		if err := call(id); err != nil {
			return 0, err
		}
		proxied[i] = time.Since(t0)
	}
	p50, d50 := percentile(proxied, .5), percentile(direct, .5)
	added = p50 - d50
	met := added <= 100*time.Microsecond
	b.rows = append(b.rows, row{
		Path:   path,
		Ours:   us(p50),
		Floor:  us(d50),
		Ratio:  float64(p50) / float64(d50),
		Target: "adds ≤ 100 µs p50",
		Met:    &met,
		Note: fmt.Sprintf("adds %s with %s; p99 %s vs %s straight on the socket",
			us(added), client, us(percentile(proxied, .99)), us(percentile(direct, .99))),
	})
	return added, nil
}

// leanMCP is a proxy child driven over raw pipes: one request line out, one
// answer line in, decoded once, on the caller's goroutine.
type leanMCP struct {
	cmd  *exec.Cmd
	in   io.WriteCloser
	out  *bufio.Reader
	next int
	buf  []byte
}

func startLeanMCP(exe, home string, relay bool) (*leanMCP, error) {
	cmd := exec.Command(exe, childMCP, home)
	if relay {
		cmd.Env = append(os.Environ(), relayEnv+"=1")
	}
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the MCP proxy: %w", err)
	}
	return &leanMCP{cmd: cmd, in: in, out: bufio.NewReaderSize(out, 64<<10)}, nil
}

// leanMeta is what mcp-go's client sends with every request at the protocol
// version the first row negotiates, so both rows take the same server path.
var leanMeta = `{"io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/clientInfo":{"name":"agentos-bench","version":"0"},` +
	`"io.modelcontextprotocol/protocolVersion":"` + mcp.LATEST_PROTOCOL_VERSION + `"}`

func (l *leanMCP) read(id string) error {
	l.next++
	q, _ := json.Marshal(id)
	l.buf = append(l.buf[:0], `{"jsonrpc":"2.0","id":`...)
	l.buf = strconv.AppendInt(l.buf, int64(l.next), 10)
	l.buf = append(l.buf, `,"method":"tools/call","params":{"_meta":`...)
	l.buf = append(l.buf, leanMeta...)
	l.buf = append(l.buf, `,"name":"read","arguments":{"id":`...)
	l.buf = append(l.buf, q...)
	l.buf = append(l.buf, "}}}\n"...)
	if _, err := l.in.Write(l.buf); err != nil {
		return fmt.Errorf("lean tools/call read: %w", err)
	}
	line, err := l.out.ReadSlice('\n')
	if err != nil {
		return fmt.Errorf("lean tools/call read: %w", err)
	}
	var resp struct {
		ID     int `json:"id"`
		Result *struct {
			Content []struct {
				Type string `json:"type"`
				Text string `json:"text"`
			} `json:"content"`
			StructuredContent json.RawMessage `json:"structuredContent"`
			IsError           bool            `json:"isError"`
		} `json:"result"`
		Error *struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(line, &resp); err != nil {
		return fmt.Errorf("lean tools/call read: %w", err)
	}
	switch {
	case resp.Error != nil:
		return fmt.Errorf("lean tools/call read: %s", resp.Error.Message)
	case resp.ID != l.next || resp.Result == nil:
		return fmt.Errorf("lean tools/call read: unexpected answer %.200s", line)
	case resp.Result.IsError || len(resp.Result.Content) == 0 || len(resp.Result.StructuredContent) == 0:
		return fmt.Errorf("lean tools/call read failed: %.200s", line)
	}
	return nil
}

func (l *leanMCP) close() {
	l.in.Close() // EOF ends the proxy
	done := make(chan struct{})
	go func() { l.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		l.cmd.Process.Kill()
		<-done
	}
}

// call makes one tools/call through the lean client and returns the
// result's structured content.
func (l *leanMCP) call(name string, args []byte) (json.RawMessage, error) {
	l.next++
	l.buf = append(l.buf[:0], `{"jsonrpc":"2.0","id":`...)
	l.buf = strconv.AppendInt(l.buf, int64(l.next), 10)
	l.buf = append(l.buf, `,"method":"tools/call","params":{"_meta":`...)
	l.buf = append(l.buf, leanMeta...)
	l.buf = append(l.buf, `,"name":"`...)
	l.buf = append(l.buf, name...)
	l.buf = append(l.buf, `","arguments":`...)
	l.buf = append(l.buf, args...)
	l.buf = append(l.buf, "}}\n"...)
	if _, err := l.in.Write(l.buf); err != nil {
		return nil, fmt.Errorf("lean tools/call %s: %w", name, err)
	}
	line, err := l.out.ReadSlice('\n')
	if err != nil {
		return nil, fmt.Errorf("lean tools/call %s: %w", name, err)
	}
	var resp struct {
		ID     int `json:"id"`
		Result *struct {
			StructuredContent json.RawMessage `json:"structuredContent"`
			IsError           bool            `json:"isError"`
		} `json:"result"`
	}
	if err := json.Unmarshal(line, &resp); err != nil || resp.ID != l.next || resp.Result == nil || resp.Result.IsError {
		return nil, fmt.Errorf("lean tools/call %s: %.300s", name, line)
	}
	return resp.Result.StructuredContent, nil
}

// mcpWrites compares storing n notes over MCP with the write tool (batches
// of 100) against one create call a note, in the same run, through the
// lean client.
func (b *bench) mcpWrites(ctx context.Context) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	lean, err := startLeanMCP(exe, b.home, false)
	if err != nil {
		return err
	}
	defer lean.close()
	const n, batch = 2000, 100
	note := func(run string, i int) map[string]any {
		return map[string]any{"title": fmt.Sprintf("mcp %s %d", run, i), "path": fmt.Sprintf("/mcp/%s/%d.md", run, i), "content": noteText(i)}
	}
	t0 := time.Now()
	for i := 0; i < n; i++ {
		args, _ := json.Marshal(map[string]any{"shape": "note", "fields": note("one", i)})
		if _, err := lean.call("create", args); err != nil {
			return err
		}
	}
	one := float64(n) / time.Since(t0).Seconds()
	t0 = time.Now()
	for start := 0; start < n; start += batch {
		items := make([]map[string]any, 0, batch)
		for i := start; i < start+batch; i++ {
			items = append(items, note("batch", i))
		}
		args, _ := json.Marshal(map[string]any{"shape": "note", "items": items})
		out, err := lean.call("write", args)
		if err != nil {
			return err
		}
		var w struct {
			IDs    []string          `json:"ids"`
			Errors []json.RawMessage `json:"errors"`
		}
		if json.Unmarshal(out, &w) != nil || len(w.IDs) != batch || len(w.Errors) != 0 {
			return fmt.Errorf("write: %.300s", out)
		}
	}
	batched := float64(n) / time.Since(t0).Seconds()
	b.rows = append(b.rows, row{
		Path:   fmt.Sprintf("MCP write tool, %d notes in batches of %d", n, batch),
		Ours:   fmt.Sprintf("%.0f items/s", batched),
		Floor:  fmt.Sprintf("%.0f items/s one create a call", one),
		Ratio:  batched / one,
		Target: "none (reported)",
		Note:   "both through agentos mcp with the lean client, in the same run",
	})
	return nil
}
