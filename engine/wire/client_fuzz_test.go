package wire

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzSuccessReply checks the client's fast path against a full decode: on
// any line it never panics, and whenever it takes a line, it read the id and
// result a full decode reads, or a result that is not valid JSON (members
// after "result", which the engine never writes), which Call's decode of the
// result then refuses: a misread never passes as data.
func FuzzSuccessReply(f *testing.F) {
	for _, seed := range []string{
		`{"jsonrpc":"2.0","id":42,"result":{"pong":true}}`,
		`{"jsonrpc":"2.0","id":7,"result":"a } string"}`,
		`{"jsonrpc":"2.0","id":7,"error":{"code":-32004,"message":"no","data":{"kind":"not_found"}}}`,
		`{"jsonrpc":"2.0","method":"observer.event","params":{}}`,
		`{"jsonrpc":"2.0","id":99999999999999999999,"result":{}}`,
		`{"jsonrpc":"2.0","id":7,"result":}`,
		`{"jsonrpc":"2.0","id":}`,
		"",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		id, result, ok := successReply(line)
		if !ok {
			return
		}
		if !json.Valid(line) {
			// The fast path does not validate the result: the full decode
			// of the caller's result type does. It must at least have cut
			// the line where the engine's framing puts the result.
			if !bytes.HasSuffix(bytes.TrimRight(line, "\r\n"), append(append([]byte{}, result...), '}')) {
				t.Fatalf("result %q is not the tail of %q", result, line)
			}
			return
		}
		var env struct {
			ID     *uint64         `json:"id"`
			Result json.RawMessage `json:"result"`
		}
		if err := json.Unmarshal(line, &env); err != nil || env.ID == nil {
			return // valid JSON of another shape the fast path misread would show below
		}
		if !json.Valid(result) {
			return
		}
		if *env.ID != id || !bytes.Equal(bytes.TrimSpace(env.Result), bytes.TrimSpace(result)) {
			t.Fatalf("fast path: id %d result %s; full decode: id %d result %s", id, result, *env.ID, env.Result)
		}
	})
}
