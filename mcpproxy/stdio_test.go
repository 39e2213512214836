package mcpproxy

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/agentos/agentos/internal/testkit"

	"golang.org/x/sys/unix"
)

// Tests of the stdio transport (stdio.go) over real pipes, in this process;
// cmd/agentos/mcp_e2e_test.go drives the built binary.

// stdioPeer is the client end of a ServeStdio session.
type stdioPeer struct {
	t      *testing.T
	in     *os.File             // the server's stdin, written here
	msgs   chan json.RawMessage // every message the server writes
	done   chan error           // ServeStdio's return
	cancel context.CancelFunc   // cancels ServeStdio's ctx
	seen   map[string]json.RawMessage
}

// serveStdioPeer runs the proxy of home on a blocking pipe for stdin, as an
// MCP client hands it over, and a pipe for stdout.
func serveStdioPeer(t *testing.T, home string) *stdioPeer {
	t.Helper()
	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	inR, inW := os.NewFile(uintptr(fds[0]), "stdin"), os.NewFile(uintptr(fds[1]), "stdin-w")
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p, err := New(ctx, Options{Home: home, Version: "test", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	s := &stdioPeer{t: t, in: inW, msgs: make(chan json.RawMessage, 1024), done: make(chan error, 1), cancel: cancel, seen: map[string]json.RawMessage{}}
	go func() {
		s.done <- p.ServeStdio(ctx, inR, outW)
		inR.Close()
		outW.Close()
	}()
	go func() {
		sc := bufio.NewScanner(outR)
		sc.Buffer(nil, 32<<20)
		for sc.Scan() {
			s.msgs <- json.RawMessage(bytes.Clone(sc.Bytes()))
		}
		close(s.msgs)
	}()
	t.Cleanup(func() {
		cancel()
		inW.Close()
		s.wait()
		outR.Close()
		p.Close()
	})
	return s
}

func (s *stdioPeer) send(msg string) {
	s.t.Helper()
	if _, err := s.in.WriteString(msg + "\n"); err != nil {
		s.t.Fatalf("write %s: %v", msg, err)
	}
}

// response waits for the response of id (its JSON text) and returns it.
func (s *stdioPeer) response(id string) json.RawMessage {
	s.t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		if m, ok := s.seen[id]; ok {
			delete(s.seen, id)
			return m
		}
		select {
		case m, ok := <-s.msgs:
			if !ok {
				s.t.Fatalf("stdout ended before the response of id %s", id)
			}
			var env struct {
				ID     json.RawMessage `json:"id"`
				Method string          `json:"method"`
			}
			if json.Unmarshal(m, &env) != nil {
				s.t.Fatalf("the server wrote %s", m)
			}
			if env.Method == "" { // not a notification
				s.seen[string(env.ID)] = m
			}
		case <-timeout:
			s.t.Fatalf("no response of id %s", id)
		}
	}
}

// wait waits for ServeStdio to return and returns its error.
func (s *stdioPeer) wait() error {
	s.t.Helper()
	select {
	case err := <-s.done:
		s.done <- err
		return err
	case <-time.After(30 * time.Second):
		s.t.Fatal("ServeStdio did not return")
		return nil
	}
}

func (s *stdioPeer) initialize() {
	s.t.Helper()
	s.send(`{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"0"}}}`)
	if m := s.response("0"); !strings.Contains(string(m), `"serverInfo"`) {
		s.t.Fatalf("initialize: %s", m)
	}
	s.send(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)
}

// errorCode returns the code of a JSON-RPC error response, 0 for a result.
func errorCode(t *testing.T, m json.RawMessage) int {
	t.Helper()
	var r struct {
		Error *struct {
			Code int `json:"code"`
		} `json:"error"`
	}
	if err := json.Unmarshal(m, &r); err != nil {
		t.Fatal(err)
	}
	if r.Error == nil {
		return 0
	}
	return r.Error.Code
}

// With every worker busy on a capability call that hangs, the read loop
// still reads: a ping is answered, requests wait in the backlog, one beyond
// it is refused at once as busy, and notifications/cancelled works both for
// a running call (its job and processes end, and its worker goes on with
// the backlog) and for one that waits (it never runs). The end of stdin
// then cancels the calls still running, their jobs included.
func TestStdioBusyWorkersStillAnswerPingAndCancellation(t *testing.T) {
	defer func(w, b int) { stdioWorkers, stdioBacklog = w, b }(stdioWorkers, stdioBacklog)
	stdioWorkers, stdioBacklog = 4, 4

	home := testkit.Home(t)
	testkit.AddSkill(t, home, "hanger", "capability(hang)", testkit.HangTools)
	testkit.RunEngine(t, home)
	s := serveStdioPeer(t, home)
	s.initialize()

	pidfile := func(id int) string { return filepath.Join(home, fmt.Sprintf("pids-%d", id)) }
	call := func(id int) {
		s.send(fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"hang","arguments":{"pidfile":%q}}}`, id, pidfile(id)))
	}
	running := map[int][]int{}
	for id := 1; id <= 4; id++ { // one a worker
		call(id)
		running[id] = testkit.WaitPIDs(t, pidfile(id), 2)
	}
	for id := 5; id <= 8; id++ { // the backlog
		call(id)
	}
	call(9)
	if m := s.response("9"); errorCode(t, m) != stdioBusy || !strings.Contains(string(m), "busy") {
		t.Fatalf("a request beyond the backlog: %s, want a busy error", m)
	}
	s.send(`{"jsonrpc":"2.0","id":"p","method":"ping"}`)
	if m := s.response(`"p"`); errorCode(t, m) != 0 {
		t.Fatalf("ping with every worker busy: %s", m)
	}

	// 5 waits: cancelled, it never runs. 1 runs: cancelled, its job
	// ends, and its worker takes the backlog on: 5 is skipped, 6 runs.
	s.send(`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":5}}`)
	s.send(`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1,"reason":"test"}}`)
	for _, pid := range running[1] {
		testkit.WaitGone(t, pid, "the cancelled tool call")
	}
	delete(running, 1)
	running[6] = testkit.WaitPIDs(t, pidfile(6), 2)
	if _, err := os.Stat(pidfile(5)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the call cancelled while it waited ran: %v", err)
	}

	// The client closes stdin: the session ends, and the calls still
	// running are cancelled with their jobs.
	s.in.Close()
	if err := s.wait(); err != nil {
		t.Fatalf("ServeStdio at the end of stdin: %v", err)
	}
	for id, pids := range running {
		for _, pid := range pids {
			testkit.WaitGone(t, pid, fmt.Sprintf("call %d, running when stdin ended", id))
		}
	}
}

// A request with a null id is not a notification: it gets an Invalid
// Request error. A message with an id but no method (a response to a
// request the server never sent) gets nothing.
func TestStdioNullIDIsAnInvalidRequest(t *testing.T) {
	s := serveStdioPeer(t, testkit.Home(t))
	s.initialize()
	s.send(`{"jsonrpc":"2.0","id":null,"method":"tools/list"}`)
	if m := s.response("null"); errorCode(t, m) != -32600 || !strings.Contains(string(m), "null") {
		t.Fatalf("a request with a null id: %s, want an Invalid Request error", m)
	}
	s.send(`{"jsonrpc":"2.0","id":7,"result":{}}`)
	s.send(`{"jsonrpc":"2.0","id":8,"method":"ping"}`)
	s.response("8")
	if len(s.seen) > 0 {
		t.Fatalf("unexpected responses: %v", s.seen)
	}
}

// Once ctx is done, ServeStdio returns while the client still holds stdin
// open: at once for a pollable stdin (a blocking pipe, reopened, or a file
// the runtime polls already, whose read deadline is then cleared again), and
// after stdioStopGrace for a reader it cannot interrupt. (The pollable ones
// get a grace longer than the test's deadline: only the interrupted read
// ends them.)
func TestStdioEndsWhenCtxIsDoneWithStdinOpen(t *testing.T) {
	defer func(d time.Duration) { stdioStopGrace = d }(stdioStopGrace)
	home := testkit.Home(t)

	serve := func(t *testing.T, in io.Reader, grace time.Duration) {
		t.Helper()
		stdioStopGrace = grace
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		p, err := New(ctx, Options{Home: home, Version: "test", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		done := make(chan error, 1)
		go func() { done <- p.ServeStdio(ctx, in, io.Discard) }()
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("ServeStdio: %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("ServeStdio went on after ctx was done")
		}
	}

	t.Run("blocking pipe", func(t *testing.T) {
		var fds [2]int
		if err := unix.Pipe2(fds[:], unix.O_CLOEXEC); err != nil {
			t.Fatal(err)
		}
		r, w := os.NewFile(uintptr(fds[0]), "stdin"), os.NewFile(uintptr(fds[1]), "w")
		defer r.Close()
		defer w.Close()
		serve(t, r, time.Hour)
	})
	t.Run("polled pipe", func(t *testing.T) {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		defer w.Close()
		serve(t, r, time.Hour)
		// The caller's file reads again.
		w.WriteString("x")
		if _, err := r.Read(make([]byte, 1)); err != nil {
			t.Fatalf("read stdin after ServeStdio: %v", err)
		}
	})
	t.Run("io.Pipe", func(t *testing.T) {
		r, w := io.Pipe()
		defer w.Close()
		serve(t, r, 200*time.Millisecond)
	})
}

// The line limit counts the message, not its line terminator, and a line
// over it is reported with its length while the lines after it are read.
// (That the buffer a long line needed is given back is internal/jsonl's
// test.)
func TestStdioLineLimit(t *testing.T) {
	msg := bytes.Repeat([]byte("a"), maxStdioLine)
	var in bytes.Buffer
	in.Write(msg)
	in.WriteString("\n")
	in.Write(msg)
	in.WriteString("\r\n")
	in.Write(msg)
	in.WriteString("a\n")
	in.WriteString("{}\n")
	var got []int
	var tooLong []int
	err := newLineReader(&in).run(context.Background(), func(line []byte) {
		got = append(got, len(line))
	}, func(n int) { tooLong = append(tooLong, n) })
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint([]int{maxStdioLine, maxStdioLine, 2}) || fmt.Sprint(tooLong) != fmt.Sprint([]int{maxStdioLine + 1}) {
		t.Fatalf("lines of %v bytes and %v too long; want two of %d, one of 2, and %d too long", got, tooLong, maxStdioLine, maxStdioLine+1)
	}
}

// The backlog is bounded in bytes too: a large request that would push the
// waiting requests over the limit is refused at once, a small one waits.
func TestStdioBacklogIsBoundedInBytes(t *testing.T) {
	defer func(w, b, n int) { stdioWorkers, stdioBacklog, stdioBacklogBytes = w, b, n }(stdioWorkers, stdioBacklog, stdioBacklogBytes)
	stdioWorkers, stdioBacklog, stdioBacklogBytes = 1, 10, 1000

	home := testkit.Home(t)
	testkit.AddSkill(t, home, "hanger", "capability(hang)", testkit.HangTools)
	testkit.RunEngine(t, home)
	s := serveStdioPeer(t, home)
	s.initialize()
	pidfile := filepath.Join(home, "pids")
	s.send(fmt.Sprintf(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"hang","arguments":{"pidfile":%q}}}`, pidfile))
	testkit.WaitPIDs(t, pidfile, 2) // the one worker is busy from now on
	s.send(`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"status","arguments":{}}}`)
	s.send(fmt.Sprintf(`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"search","arguments":{"query":%q}}}`, strings.Repeat("x", 2000)))
	if m := s.response("3"); errorCode(t, m) != stdioBusy || !strings.Contains(string(m), "MiB") {
		t.Fatalf("a request over the backlog's bytes: %s, want a busy error", m)
	}
	// The small one still waits: cancelling the hung call frees the worker for it.
	s.send(`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1}}`)
	if m := s.response("2"); errorCode(t, m) != 0 {
		t.Fatalf("the small waiting request: %s", m)
	}
}
