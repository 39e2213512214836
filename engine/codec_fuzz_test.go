package engine

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	"github.com/agentos/agentos/engine/wire"
)

// FuzzParseRequest: whatever a client sends on a line, parseRequest does
// not panic, and either returns a request the server can run (a method, a
// valid id or none, jsonrpc 2.0) or an *errBadRequest with a JSON-RPC code
// and, when it found one, an id that can be echoed.
func FuzzParseRequest(f *testing.F) {
	for _, s := range []string{
		`{"jsonrpc":"2.0","id":1,"method":"system.ping"}`,
		`{"jsonrpc":"2.0","id":"a","method":"data.read","params":{"shape":"task"}}`,
		`{"jsonrpc":"2.0","method":"notify"}`,
		`{"jsonrpc":"2.0","id":null,"method":"m"}`,
		`{"jsonrpc":"1.0","id":2,"method":"m"}`,
		`{"jsonrpc":"2.0","id":{},"method":"m"}`,
		`{"jsonrpc":"2.0","id":[1],"method":"m"}`,
		`{"jsonrpc":"2.0","id":true,"method":"m"}`,
		`{"jsonrpc":"2.0","id":7}`,
		`{"jsonrpc":"2.0","id":7,"method":""}`,
		`{"jsonrpc":"2.0","id":7,"method":5}`,
		`{"jsonrpc":"2.0","id":-1.5e3,"method":"m","params":[1,2]}`,
		`[{"jsonrpc":"2.0","id":1,"method":"system.ping"}]`,
		`{oops`, "\x00\xff\xfe", ``, `   `, `null`, `"x"`, `{}`,
		"{\"jsonrpc\":\"2.0\",\"id\":\"\xff\",\"method\":\"m\"}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		req, err := parseRequest(line)
		trimmed := bytes.TrimSpace(line)
		if err == nil {
			if req == nil || req.Method == nil || *req.Method == "" || req.JSONRPC != "2.0" {
				t.Fatalf("%q: accepted as %+v", line, req)
			}
			if req.ID != nil && (validID(req.ID) == nil || !json.Valid(req.ID)) {
				t.Fatalf("%q: accepted with id %q", line, req.ID)
			}
			if !json.Valid(trimmed) {
				t.Fatalf("%q: not JSON, accepted", line)
			}
			return
		}
		var bad *errBadRequest
		if !errors.As(err, &bad) {
			t.Fatalf("%q: error %T %v, want *errBadRequest", line, err, err)
		}
		if bad.code != wire.CodeParseError && bad.code != wire.CodeInvalidRequest || bad.msg == "" {
			t.Fatalf("%q: code %d message %q", line, bad.code, bad.msg)
		}
		if bad.id != nil && (validID(bad.id) == nil || !json.Valid(bad.id)) {
			t.Fatalf("%q: error carries id %q, which cannot be echoed", line, bad.id)
		}
		isBatch := len(trimmed) > 0 && trimmed[0] == '['
		if !isBatch && !json.Valid(trimmed) && bad.code != wire.CodeParseError {
			t.Fatalf("%q: not JSON, code %d, want a parse error", line, bad.code)
		}
		if bad.code == wire.CodeParseError && bad.id != nil {
			t.Fatalf("%q: a parse error with id %q", line, bad.id)
		}
	})
}

// FuzzLeadingID: the id found in the head of a too-long line is nil or looks
// like a string or a number, whatever the head.
func FuzzLeadingID(f *testing.F) {
	for _, s := range []string{
		`{"jsonrpc":"2.0","id":12,"method":"data.write","params":{"items":[`,
		`{"id":"abc","method":`,
		`{"params":{"id":5},"id":6`,
		`  {"id" : -3`,
		`{"id":"a\"b"`,
		`{"id":"\q"`,
		`{"id":0123`,
		`[{"id":1`,
		``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, head []byte) {
		id := leadingID(head)
		if id == nil {
			return
		}
		if validID(id) == nil || !json.Valid(id) {
			t.Fatalf("%q: id %q cannot be echoed in a response", head, id)
		}
		// The head's buffer is reused for the next line: the id is a copy.
		want := bytes.Clone(id)
		for i := range head {
			head[i] = 'x'
		}
		if !bytes.Equal(id, want) {
			t.Fatalf("id %q changed with the buffer it was found in", want)
		}
	})
}

// FuzzParseCanonical: the quick reader of the client's own request format
// takes a line only when encoding/json reads the same request from it.
func FuzzParseCanonical(f *testing.F) {
	for _, s := range []string{
		`{"jsonrpc":"2.0","id":1,"method":"system.ping"}`,
		`{"jsonrpc":"2.0","id":12,"method":"data.read","params":{"id":"01ARZ3NDEKTSV4RRFFQ69G5FAV"}}`,
		`{"jsonrpc":"2.0","id":3,"method":"data.read","params":null}`,
		`{"jsonrpc":"2.0","id":3,"method":"data.read","params":{"a":1},"params":{"b":2}}`,
		`{"jsonrpc":"2.0","id":3,"method":"data.read","params":{"a":1}} `,
		`{"jsonrpc":"2.0","id":3,"method":"data.read","params": {"a":1} }`,
		`{"jsonrpc":"2.0","id":03,"method":"m"}`,
		`{"jsonrpc":"2.0","id":3,"method":"m\u0041"}`,
		`{"jsonrpc":"2.0","id":3,"method":"m","params":{"a":"}"}}`,
		`{"jsonrpc":"2.0","id":99999999999999999999,"method":"m"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		got, ok := parseCanonical(line)
		if !ok {
			return
		}
		var want request
		if err := json.Unmarshal(line, &want); err != nil {
			t.Fatalf("%q: read quickly, but encoding/json refuses it: %v", line, err)
		}
		if want.Method == nil || *got.Method != *want.Method || !bytes.Equal(got.ID, want.ID) || want.JSONRPC != got.JSONRPC || !bytes.Equal(got.Params, want.Params) {
			t.Fatalf("%q: read as %q %s %s, encoding/json reads %+v", line, *got.Method, got.ID, got.Params, want)
		}
	})
}
