package wire

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// The client's fast path reads exactly what the engine's encodeResponse
// writes (engine/codec.go: result encoded straight after the id), and
// leaves anything else to the full decode.
func TestSuccessReplyReadsWhatTheServerWrites(t *testing.T) {
	result := map[string]any{"nodes": []any{map[string]any{"id": "x", "fields": map[string]any{"title": `a "quoted", nested } title`}}}}
	res, _ := json.Marshal(result)
	line := []byte(`{"jsonrpc":"2.0","id":42,"result":` + string(res) + "}\n")
	id, got, ok := successReply(line)
	want, _ := json.Marshal(result)
	if !ok || id != 42 || string(got) != string(want) {
		t.Fatalf("successReply = %d %s %v, want 42 %s", id, got, ok, want)
	}
	for _, other := range []string{
		`{"jsonrpc":"2.0","id":7,"error":{"code":-32004,"message":"no","data":{"kind":"not_found"}}}`,
		`{"jsonrpc":"2.0","method":"observer.event","params":{}}`,
		`{"jsonrpc":"2.0","id":"7","result":{}}`,
		`{"jsonrpc":"2.0","id":99999999999999999999,"result":{}}`,
		`{"jsonrpc":"2.0","id":7,"result":}`,
		`{"jsonrpc":"2.0","id":7}`,
	} {
		if _, _, ok := successReply([]byte(other)); ok {
			t.Errorf("successReply took %s", other)
		}
	}
}

// A reply over the client's limit fails its own call only: the line is
// dropped and the connection carries on with the next reply.
func TestOversizeReplyFailsItsCallOnly(t *testing.T) {
	sock := fakeEngine(t, func(nc net.Conn, req fakeRequest) {
		result := `{"pong":true}`
		if req.Method == "big" {
			result = `{"blob":"` + strings.Repeat("x", 1<<20) + `"}`
		}
		fmt.Fprintf(nc, `{"jsonrpc":"2.0","id":%d,"result":%s}`+"\n", req.ID, result)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Dial(ctx, sock, ClientOptions{MaxLine: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	err = c.Call(ctx, "big", nil, nil)
	if !IsKind(err, KindUnavailable) || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("oversize reply: %v", err)
	}
	var pong map[string]bool
	if err := c.Call(ctx, MethodPing, nil, &pong); err != nil || !pong["pong"] {
		t.Fatalf("the next call: %v %v", pong, err)
	}
}
