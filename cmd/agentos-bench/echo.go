package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// The ping floor: a process that reads newline-delimited JSON on a Unix
// socket, decodes each request and answers with an encoded result — the least
// any JSON-RPC server over that socket must do.

func runEchoChild(ctx context.Context, path string) error {
	ln, err := net.Listen("unix", path)
	if err != nil {
		return err
	}
	go func() { <-ctx.Done(); ln.Close() }()
	for {
		c, err := ln.Accept()
		if err != nil {
			return nil
		}
		go func() {
			defer c.Close()
			r := bufio.NewReader(c)
			for {
				line, err := r.ReadBytes('\n')
				if err != nil {
					return
				}
				var req struct {
					ID     json.RawMessage `json:"id"`
					Method string          `json:"method"`
				}
				if json.Unmarshal(line, &req) != nil {
					return
				}
				out, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": req.ID, "result": map[string]bool{"pong": true}})
				if _, err := c.Write(append(out, '\n')); err != nil {
					return
				}
			}
		}()
	}
}

type echoProc struct {
	cmd  *exec.Cmd
	path string
}

func startEcho(dir string) (*echoProc, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	e := &echoProc{path: filepath.Join(dir, "echo.sock")}
	e.cmd = exec.Command(exe, childEcho, e.path)
	e.cmd.Stderr = os.Stderr
	if err := e.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start echo floor: %w", err)
	}
	for i := 0; i < 500; i++ {
		if c, err := net.Dial("unix", e.path); err == nil {
			c.Close()
			return e, nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	e.close()
	return nil, fmt.Errorf("echo floor did not start")
}

// measure does n request/response round trips with a minimal client.
func (e *echoProc) measure(n int) ([]time.Duration, error) {
	c, err := net.Dial("unix", e.path)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	r := bufio.NewReader(c)
	lat := make([]time.Duration, n)
	for i := range lat {
		t0 := time.Now()
		req, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": i, "method": "system.ping"})
		if _, err := c.Write(append(req, '\n')); err != nil {
			return nil, err
		}
		line, err := r.ReadBytes('\n')
		if err != nil {
			return nil, err
		}
		var resp map[string]any
		if err := json.Unmarshal(line, &resp); err != nil {
			return nil, err
		}
		lat[i] = time.Since(t0)
	}
	return lat, nil
}

func (e *echoProc) close() {
	e.cmd.Process.Kill()
	e.cmd.Wait()
	os.Remove(e.path)
}
