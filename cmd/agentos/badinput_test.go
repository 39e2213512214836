package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/agentos/agentos/engine/wire"
	"github.com/agentos/agentos/internal/testkit"
)

// rawConn speaks newline JSON on the socket by hand, to send what no
// well-behaved client would.
type rawConn struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

func dialRaw(t *testing.T, home string) *rawConn {
	t.Helper()
	c, err := net.Dial("unix", wire.PathsFor(home).Socket)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawConn{t: t, c: c, r: bufio.NewReaderSize(c, 1<<20)}
}

func (rc *rawConn) send(b []byte) {
	rc.t.Helper()
	rc.c.SetWriteDeadline(time.Now().Add(30 * time.Second))
	if _, err := rc.c.Write(b); err != nil {
		rc.t.Fatalf("write: %v", err)
	}
}

type rpcReply struct {
	ID     json.RawMessage `json:"id"`
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    int64  `json:"code"`
		Message string `json:"message"`
		Data    struct {
			Kind string `json:"kind"`
		} `json:"data"`
	} `json:"error"`
}

func (rc *rawConn) recv() rpcReply {
	rc.t.Helper()
	rc.c.SetReadDeadline(time.Now().Add(30 * time.Second))
	line, err := rc.r.ReadBytes('\n')
	if err != nil {
		rc.t.Fatalf("read reply: %v", err)
	}
	var r rpcReply
	if err := json.Unmarshal(line, &r); err != nil {
		rc.t.Fatalf("reply is not JSON: %q", line)
	}
	return r
}

func (rc *rawConn) ping() {
	rc.t.Helper()
	rc.send([]byte(`{"jsonrpc":"2.0","id":"p","method":"system.ping"}` + "\n"))
	r := rc.recv()
	if r.Error != nil || !bytes.Contains(r.Result, []byte(`"pong":true`)) {
		rc.t.Fatalf("ping after bad input: %+v %s", r.Error, r.Result)
	}
}

func TestBadInputGetsAClearErrorAndTheEngineKeepsServing(t *testing.T) {
	home := testkit.Home(t)
	startDaemon(t, home)
	garbage := make([]byte, 4096)
	rand.Read(garbage)
	garbage = bytes.ReplaceAll(garbage, []byte("\n"), []byte("x"))
	huge := append([]byte(`{"jsonrpc":"2.0","id":9,"method":"data.create","params":{"shape":"note","fields":{"content":"`),
		bytes.Repeat([]byte("a"), 20<<20)...)
	huge = append(huge, []byte(`"}}}`+"\n")...)

	cases := []struct {
		name   string
		line   []byte
		code   int64
		kind   string
		inMsg  string
		wantID string
	}{
		{"malformed JSON", []byte(`{"jsonrpc":"2.0","id":1,"method":` + "\n"), wire.CodeParseError, "invalid", "not valid JSON", "null"},
		{"binary garbage", append(garbage, '\n'), wire.CodeParseError, "invalid", "not valid JSON", "null"},
		{"not a request object", []byte(`{"hello":"world"}` + "\n"), wire.CodeInvalidRequest, "invalid", "invalid request", "null"},
		{"batch", []byte(`[{"jsonrpc":"2.0","id":1,"method":"system.ping"}]` + "\n"), wire.CodeInvalidRequest, "invalid", "batch", "null"},
		{"unknown method", []byte(`{"jsonrpc":"2.0","id":2,"method":"data.frobnicate"}` + "\n"), wire.CodeMethodNotFound, "not_found", "data.frobnicate", "2"},
		{"wrong param type", []byte(`{"jsonrpc":"2.0","id":3,"method":"data.read","params":{"id":42}}` + "\n"), wire.CodeInvalidParams, "invalid", `"id" must be a string`, "3"},
		{"unknown param", []byte(`{"jsonrpc":"2.0","id":4,"method":"data.read","params":{"shap":"task"}}` + "\n"), wire.CodeInvalidParams, "invalid", "unknown param", "4"},
		{"params not an object", []byte(`{"jsonrpc":"2.0","id":5,"method":"data.read","params":[1]}` + "\n"), wire.CodeInvalidParams, "invalid", "must be a JSON object", "5"},
		{"unknown shape", []byte(`{"jsonrpc":"2.0","id":6,"method":"data.create","params":{"shape":"tsk","fields":{"title":"x"}}}` + "\n"), wire.CodeInvalidParams, "invalid", "tsk", "6"},
		{"20 MiB line", huge, wire.CodeInvalidRequest, "invalid", "limit", "9"},
	}
	rc := dialRaw(t, home)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rc.t = t
			rc.send(tc.line)
			r := rc.recv()
			if r.Error == nil {
				t.Fatalf("no error for %s: %s", tc.name, r.Result)
			}
			if r.Error.Code != tc.code || r.Error.Data.Kind != tc.kind || !strings.Contains(r.Error.Message, tc.inMsg) {
				t.Fatalf("got code %d kind %q msg %q; want code %d kind %q msg containing %q",
					r.Error.Code, r.Error.Data.Kind, r.Error.Message, tc.code, tc.kind, tc.inMsg)
			}
			if string(r.ID) != tc.wantID {
				t.Fatalf("reply id %s, want %s", r.ID, tc.wantID)
			}
			rc.ping()               // same connection
			dialRaw(t, home).ping() // new connection
		})
	}
}

func TestClientSeesKindsAsTypedErrors(t *testing.T) {
	home := testkit.Home(t)
	d := startDaemon(t, home)
	c := d.client(t)
	err := c.Call(context.Background(), "data.read", map[string]any{"id": "01ARZ3NDEKTSV4RRFFQ69G5FAV"}, nil)
	var ee *wire.Error
	if !errors.As(err, &ee) || ee.Kind != wire.KindNotFound {
		t.Fatalf("read of a missing id: %v", err)
	}
}
