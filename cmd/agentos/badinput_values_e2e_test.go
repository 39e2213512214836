package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/agentos/agentos/engine/wire"
	"github.com/agentos/agentos/internal/testkit"
)

// Values that used to be stored and then break every read of their shape
// (issue 9) are refused over the socket with a clear invalid error, and the
// shape's reads, ordered ones included, keep working.
func TestBadValuesAreRefusedAndTheShapeStaysReadable(t *testing.T) {
	home := testkit.Home(t)
	startDaemon(t, home)
	rc := dialRaw(t, home)
	rc.send([]byte(`{"jsonrpc":"2.0","id":1,"method":"data.create","params":{"shape":"task","fields":{"title":"kept","priority":2}}}` + "\n"))
	if r := rc.recv(); r.Error != nil {
		t.Fatalf("seed: %+v", r.Error)
	}
	deep := strings.Repeat(`{"a":`, 1001) + "1" + strings.Repeat("}", 1001)
	cases := []struct {
		name, params, inMsg string
	}{
		{"a value nested 1001 deep", `{"shape":"task","fields":{"title":"deep","meta":` + deep + `}}`, "nested"},
		{"a number beyond float64", `{"shape":"task","fields":{"title":"huge","priority":1e400}}`, "1e400"},
		{"a null batch item", `{"shape":"task","items":[{"title":"a"},null]}`, "items[1]"},
		{"an id that is not UTF-8", "{\"id\":\"\xff\xfe\"}", "UTF-8"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rc.t = t
			method := wire.MethodCreate
			switch {
			case strings.Contains(tc.params, `"items"`):
				method = wire.MethodWrite
			case strings.HasPrefix(tc.params, `{"id"`):
				method = wire.MethodRead
			}
			line, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 10 + i, "method": method})
			line = append(bytes.TrimSuffix(line, []byte("}")), []byte(`,"params":`+tc.params+"}\n")...)
			rc.send(line)
			r := rc.recv()
			if r.Error == nil || r.Error.Data.Kind != "invalid" || !strings.Contains(r.Error.Message, tc.inMsg) {
				t.Fatalf("got %+v %s, want invalid mentioning %q", r.Error, r.Result, tc.inMsg)
			}
			if strings.ContainsRune(r.Error.Message, '\uFFFD') || strings.Contains(r.Error.Message, "\xff") {
				t.Fatalf("the message echoes the bad bytes: %q", r.Error.Message)
			}
			// Nothing of it was stored, and the shape reads whole, ordered too.
			for _, q := range []string{
				`{"jsonrpc":"2.0","id":"r1","method":"data.read","params":{"shape":"task","order":"-priority"}}`,
				`{"jsonrpc":"2.0","id":"r2","method":"data.read","params":{"shape":"item","order":"title"}}`,
			} {
				rc.send([]byte(q + "\n"))
				page := rc.recv()
				if page.Error != nil {
					t.Fatalf("read after the refused write: %+v", page.Error)
				}
				var res struct {
					Nodes []struct {
						Fields map[string]any `json:"fields"`
					} `json:"nodes"`
				}
				json.Unmarshal(page.Result, &res)
				if len(res.Nodes) != 1 || res.Nodes[0].Fields["title"] != "kept" {
					t.Fatalf("%s: got %s, want only the seeded task", q, page.Result)
				}
			}
		})
	}
}
