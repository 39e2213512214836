package wire

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"path/filepath"
	"testing"
	"time"
)

// An engine from before observer.subscribe took types refuses the param;
// SubscribeTypes then asks for every event and delivers only the asked-for
// types itself.
func TestSubscribeTypesWithAnEngineThatDoesNotFilter(t *testing.T) {
	sock := fakeEngine(t, func(nc net.Conn, req fakeRequest) {
		if _, ok := req.Params["types"]; ok {
			fmt.Fprintf(nc, `{"jsonrpc":"2.0","id":%d,"error":{"code":-32602,"message":"observer.subscribe: unknown param \"types\"; see system.schema for this method's params","data":{"kind":"invalid"}}}`+"\n", req.ID)
			return
		}
		fmt.Fprintf(nc, `{"jsonrpc":"2.0","id":%d,"result":{"subscribed":true,"last_id":5}}`+"\n", req.ID)
		for i, typ := range []string{EventStarted, EventSkillsChanged, EventCompleted, EventSkillsChanged} {
			fmt.Fprintf(nc, `{"jsonrpc":"2.0","method":"observer.event","params":{"id":%d,"type":%q}}`+"\n", 6+i, typ)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Dial(ctx, sock, ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	events := make(chan Event, 8)
	last, err := c.SubscribeTypes(ctx, -1, []string{EventSkillsChanged}, func(ev Event) { events <- ev })
	if err != nil || last != 5 {
		t.Fatalf("SubscribeTypes: %d, %v", last, err)
	}
	for _, want := range []int64{7, 9} {
		select {
		case ev := <-events:
			if ev.Type != EventSkillsChanged || ev.ID != want {
				t.Fatalf("got %s #%d, want skills.changed #%d", ev.Type, ev.ID, want)
			}
		case <-ctx.Done():
			t.Fatal("no skills.changed event")
		}
	}
}

// fakeRequest is a request as a fake engine sees it.
type fakeRequest struct {
	ID     int            `json:"id"`
	Method string         `json:"method"`
	Params map[string]any `json:"params"`
}

// fakeEngine serves one connection on a fresh socket, answering each
// request line with answer (which writes the reply lines itself): an engine
// that speaks the wire format as the test needs it to, old or broken.
func fakeEngine(t *testing.T, answer func(nc net.Conn, req fakeRequest)) (socket string) {
	t.Helper()
	socket = filepath.Join(t.TempDir(), "s")
	ln, err := net.Listen("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		r := bufio.NewReader(nc)
		for {
			line, err := r.ReadBytes('\n')
			if err != nil {
				return
			}
			var req fakeRequest
			json.Unmarshal(line, &req)
			answer(nc, req)
		}
	}()
	return socket
}
