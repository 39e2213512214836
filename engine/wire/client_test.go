package wire

import (
	"encoding/json"
	"testing"
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
