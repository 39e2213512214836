package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentos/agentos/engine/wire"
	"github.com/agentos/agentos/internal/testkit"
	"github.com/mark3labs/mcp-go/mcp"
)

// invoiceShape is a strict shape: a value that does not fit is refused,
// not guessed at.
const invoiceShape = `invoice:
  plural: invoices
  strict: true
  identity: [number]
  fields:
    number: string
    amount: integer
  relations:
    customer: person
`

func invoiceHome(t *testing.T) string {
	t.Helper()
	home := testkit.Home(t)
	dir := filepath.Join(home, "shapes")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "invoice.yaml"), []byte(invoiceShape), 0o600); err != nil {
		t.Fatal(err)
	}
	return home
}

type writeAnswer struct {
	IDs     []string `json:"ids"`
	Created int      `json:"created"`
	Updated int      `json:"updated"`
	Errors  []struct {
		Index   int    `json:"index"`
		Kind    string `json:"kind"`
		Message string `json:"message"`
	} `json:"errors"`
}

// The write tool stores a batch of one shape in one call, through mcp-go's
// client: the items that fit are written, one that does not (or names a
// node that does not exist) is reported by its index with the rest
// written; its schema follows the shapes; a call again updates by identity.
func TestMCPWriteToolStoresABatch(t *testing.T) {
	home := invoiceHome(t)
	d := startDaemon(t, home)
	c := mcpSession(t, home, "--no-autostart")
	// The schema as sent (mcp-go's client keeps only part of a schema).
	schema := rawToolSchema(t, home, "write")
	if !strings.Contains(schema, `"const":"invoice"`) || !strings.Contains(schema, `"amount":{"type":"integer"}`) || !strings.Contains(schema, `"const":"task"`) {
		t.Fatalf("the write tool's schema does not follow the shapes: %.600s", schema)
	}

	var w writeAnswer
	okTool(t, c, "write", map[string]any{"shape": "invoice", "items": []any{
		map[string]any{"number": "INV-1", "amount": 10},
		map[string]any{"number": "INV-2", "amount": "ten"},
		map[string]any{"number": "INV-3", "amount": 30, "customer": "01ARZ3NDEKTSV4RRFFQ69G5FAV"},
		map[string]any{"number": "INV-4", "amount": 40},
	}}, &w)
	if len(w.IDs) != 4 || w.IDs[0] == "" || w.IDs[3] == "" || w.IDs[1] != "" || w.IDs[2] != "" || w.Created != 2 ||
		len(w.Errors) != 2 || w.Errors[0].Index != 1 || w.Errors[0].Kind != "invalid" || !strings.Contains(w.Errors[0].Message, "items[1]") ||
		w.Errors[1].Index != 2 || w.Errors[1].Kind != "not_found" {
		t.Fatalf("write: %+v", w)
	}
	ec := d.client(t)
	var page struct {
		Nodes []struct{ Fields map[string]any }
	}
	call(t, ec, wire.MethodRead, map[string]any{"shape": "invoice", "order": "number"}, &page)
	if len(page.Nodes) != 2 || page.Nodes[0].Fields["number"] != "INV-1" || page.Nodes[1].Fields["number"] != "INV-4" {
		t.Fatalf("the invoices stored: %+v", page.Nodes)
	}
	// The same identities again: updated, not duplicated.
	w = writeAnswer{}
	okTool(t, c, "write", map[string]any{"shape": "invoice", "items": []any{
		map[string]any{"number": "INV-1", "amount": 11}, map[string]any{"number": "INV-4", "amount": 41}}}, &w)
	if w.Updated != 2 || w.Created != 0 || len(w.Errors) != 0 {
		t.Fatalf("write again: %+v", w)
	}
	errTool(t, c, "write", map[string]any{"shape": "invoice", "items": []any{}}, "items")
	errTool(t, c, "write", map[string]any{"shape": "nosuch", "items": []any{map[string]any{"title": "x"}}}, "nosuch")
}

// A crash during batch writes over MCP loses nothing acknowledged: an
// MCP client writes batches while the engine is killed (-9) at a random
// moment; after a restart every batch the client got an answer for is
// there, whole.
func TestMCPBatchWritesSurviveAnEngineCrash(t *testing.T) {
	home := testkit.Home(t)
	d := startDaemon(t, home)
	c := mcpSession(t, home, "--no-autostart")
	var mu sync.Mutex
	var acked []string
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for batch := 0; ; batch++ {
			select {
			case <-stop:
				return
			default:
			}
			items := make([]any, 50)
			for i := range items {
				items[i] = map[string]any{"title": fmt.Sprintf("batch %d note %d", batch, i), "path": fmt.Sprintf("/crash/%d/%d.md", batch, i)}
			}
			var req mcp.CallToolRequest
			req.Params.Name = "write"
			req.Params.Arguments = map[string]any{"shape": "note", "items": items}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			res, err := c.CallTool(ctx, req)
			cancel()
			if err != nil || res.IsError {
				continue // the engine is down: not acknowledged
			}
			var w writeAnswer
			if b, _ := json.Marshal(res.StructuredContent); json.Unmarshal(b, &w) != nil || len(w.IDs) != 50 || len(w.Errors) != 0 {
				t.Errorf("a batch answered %+v", res.StructuredContent)
				return
			}
			mu.Lock()
			acked = append(acked, w.IDs...)
			mu.Unlock()
		}
	}()
	time.Sleep(time.Duration(800+rand.IntN(1500)) * time.Millisecond)
	d.kill()
	time.Sleep(300 * time.Millisecond)
	close(stop)
	<-done
	mu.Lock()
	defer mu.Unlock()
	if len(acked) == 0 {
		t.Fatal("no batch was acknowledged before the crash")
	}
	d = startDaemon(t, home)
	got := noteIDs(t, d.client(t))
	for _, id := range acked {
		if !got[id] {
			t.Fatalf("note %s, acknowledged before the crash, is gone (%d acknowledged, %d there)", id, len(acked), len(got))
		}
	}
	if len(got)%50 != 0 {
		t.Errorf("%d notes after the crash: a batch was stored in part", len(got))
	}
	t.Logf("%d notes acknowledged in %d batches before the kill; %d there after the restart", len(acked), len(acked)/50, len(got))
}

// rawToolSchema is the input schema of tool as `agentos mcp` sends it in
// tools/list, read off its stdout.
func rawToolSchema(t *testing.T, home, tool string) string {
	t.Helper()
	cmd := exec.Command(binPath, "mcp", "--no-autostart")
	cmd.Env = append(os.Environ(), "AGENTOS_HOME="+home)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { stdin.Close(); cmd.Wait() }()
	fmt.Fprint(stdin, `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"0"}}}`+"\n"+
		`{"jsonrpc":"2.0","method":"notifications/initialized"}`+"\n"+`{"jsonrpc":"2.0","id":2,"method":"tools/list"}`+"\n")
	sc := bufio.NewScanner(stdout)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var resp struct {
			ID     int `json:"id"`
			Result struct {
				Tools []struct {
					Name        string          `json:"name"`
					InputSchema json.RawMessage `json:"inputSchema"`
				} `json:"tools"`
			} `json:"result"`
		}
		if json.Unmarshal(sc.Bytes(), &resp) != nil || resp.ID != 2 {
			continue
		}
		for _, tl := range resp.Result.Tools {
			if tl.Name == tool {
				return string(tl.InputSchema)
			}
		}
		t.Fatalf("tools/list has no %s", tool)
	}
	t.Fatal("no tools/list answer")
	return ""
}
