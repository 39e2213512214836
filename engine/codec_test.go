package engine

import (
	"bufio"
	"encoding/json"
	"net"
	"strings"
	"testing"
	"time"
)

// pipeStream returns a lineStream over one end of a pipe and the other end.
func pipeStream(t *testing.T, maxLine int) (*lineStream, net.Conn, *bufio.Reader) {
	a, b := net.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	return newLineStream(a, maxLine), b, bufio.NewReader(b)
}

func TestLineStreamAnswersBadLinesAndReadsTheNextGoodOne(t *testing.T) {
	s, peer, replies := pipeStream(t, 64)
	go func() {
		peer.Write([]byte("{oops\n"))
		peer.Write([]byte(`{"jsonrpc":"2.0","id":1,"method":"` + strings.Repeat("x", 100) + `"}` + "\n"))
		peer.Write([]byte("\n   \n"))
		peer.Write([]byte(`{"jsonrpc":"2.0","id":2,"method":"system.ping"}` + "\n"))
	}()
	got := make(chan map[string]any, 1)
	go func() {
		var m map[string]any
		if err := s.ReadObject(&m); err != nil {
			t.Error(err)
		}
		got <- m
	}()
	for _, wantCode := range []float64{-32700, -32600} {
		peer.SetReadDeadline(time.Now().Add(5 * time.Second))
		line, err := replies.ReadBytes('\n')
		if err != nil {
			t.Fatal(err)
		}
		var r struct {
			Error struct{ Code float64 } `json:"error"`
		}
		json.Unmarshal(line, &r)
		if r.Error.Code != wantCode {
			t.Fatalf("reply %s, want code %v", line, wantCode)
		}
	}
	select {
	case m := <-got:
		if m["method"] != "system.ping" {
			t.Fatalf("read %v", m)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the good line after bad ones was never read")
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
