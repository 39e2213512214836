package engine

import (
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/agentos/agentos/engine/wire"
	"github.com/agentos/agentos/internal/jsonl"
)

func TestParseRequestTellsParseErrorsFromInvalidRequests(t *testing.T) {
	cases := []struct {
		line   string
		code   int64
		wantID string
	}{
		{`{oops`, wire.CodeParseError, ""},
		{"\x00\xff\xfe", wire.CodeParseError, ""},
		{`[{"jsonrpc":"2.0","id":1,"method":"system.ping"}]`, wire.CodeInvalidRequest, ""},
		{`{"jsonrpc":"2.0","id":7}`, wire.CodeInvalidRequest, "7"},
		{`{"jsonrpc":"2.0","id":"a","method":5}`, wire.CodeInvalidRequest, `"a"`},
		{`{"jsonrpc":"1.0","id":3,"method":"system.ping"}`, wire.CodeInvalidRequest, "3"},
		{`{"jsonrpc":"2.0","id":{"x":1},"method":"system.ping"}`, wire.CodeInvalidRequest, ""},
		{`"just a string"`, wire.CodeInvalidRequest, ""},
	}
	for _, tc := range cases {
		_, err := parseRequest([]byte(tc.line))
		var bad *errBadRequest
		if !errors.As(err, &bad) {
			t.Fatalf("%q: no error", tc.line)
		}
		if bad.code != tc.code || string(bad.id) != tc.wantID {
			t.Errorf("%q: code %d id %q, want %d %q (%s)", tc.line, bad.code, bad.id, tc.code, tc.wantID, bad.msg)
		}
	}
}

func TestParseRequestKeepsIDAndParamsRaw(t *testing.T) {
	r, err := parseRequest([]byte(`{"jsonrpc":"2.0","id":"x-1","method":"data.read","params":{"id":"N"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if string(r.ID) != `"x-1"` || *r.Method != "data.read" || string(r.Params) != `{"id":"N"}` || r.notification() {
		t.Fatalf("parsed %+v", r)
	}
	n, err := parseRequest([]byte(`{"jsonrpc":"2.0","method":"x"}`))
	if err != nil || !n.notification() {
		t.Fatalf("notification: %+v %v", n, err)
	}
}

func TestReadLineSkipsOversizeLinesAndKeepsReading(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	s := newLineStream(a, 64, 0) // net.Pipe: no deadlines once the writer closed
	go func() {
		b.Write([]byte(strings.Repeat("x", 200) + "\n"))
		b.Write([]byte("short\n"))
		b.Write([]byte("last-without-newline"))
		b.Close()
	}()
	if _, err := s.readLine(); !errors.Is(err, jsonl.ErrTooLong) {
		t.Fatalf("oversize line: %v", err)
	}
	for _, want := range []string{"short", "last-without-newline"} {
		line, err := s.readLine()
		if err != nil || string(line) != want {
			t.Fatalf("got %q %v, want %q", line, err, want)
		}
	}
}

func TestPeekIDKeepsOnlyValidIDs(t *testing.T) {
	for in, want := range map[string]string{
		`{"id":7,"method":1}`:     "7",
		`{"id":"a","method":1}`:   `"a"`,
		`{"id":{"x":1}}`:          "",
		`{"method":"x"}`:          "",
		`{"id":-3,"method":null}`: "-3",
	} {
		if got := string(peekID([]byte(in))); got != want {
			t.Errorf("peekID(%s) = %q, want %q", in, got, want)
		}
	}
}
