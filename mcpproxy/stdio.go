package mcpproxy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/agentos/agentos/internal/jsonl"
)

// The stdio transport is ours; the protocol is mcp-go's. Every message goes
// to MCPServer.HandleMessage, exactly as mcp-go's StdioServer does, but
// that server reads each line on a goroutine of its own and hands tool calls
// to a worker through a queue: two goroutine wake-ups per request, about
// 40 µs of the proxy's cost on the reference machine (docs/performance.md).
// Here one loop reads the lines and each request runs on one goroutine.
//
// It does not send requests to the client (sampling, elicitation, roots):
// the proxy never asks for them, so responses from the client are ignored.

const (
	// maxStdioLine bounds one message from the client (its line terminator
	// aside): a longer line gets a parse error and is skipped, and the
	// session goes on. The buffer a long line needed is not kept after it
	// (internal/jsonl).
	maxStdioLine = 16 << 20
	// stdioBusy is the JSON-RPC error code of a request refused because
	// the backlog is full (-32000 to -32019: implementation-defined).
	stdioBusy = -32000
)

// Variables, not constants, so tests can lower them.
var (
	// stdioWorkers bounds requests served at once (the engine has its own
	// queue behind this one).
	stdioWorkers = 64
	// stdioBacklog bounds requests waiting for a worker; a request beyond
	// it is answered at once with a busy error. The read loop never waits
	// for a worker, so notifications/cancelled and ping are always read.
	stdioBacklog = 1024
	// stdioBacklogBytes bounds the bytes of the requests waiting, whatever
	// their number (1024 requests of up to 16 MiB each would be 16 GiB).
	stdioBacklogBytes = 64 << 20
	// stdioStopGrace is how long ServeStdio waits, once ctx is done, for a
	// read it could not interrupt (stdin that is not pollable: a terminal,
	// a socket) before returning without it.
	stdioStopGrace = 2 * time.Second
)

// stdioSession is the one client of a stdio server.
type stdioSession struct {
	notifications chan mcp.JSONRPCNotification
	initialized   atomic.Bool
	level         atomic.Value // mcp.LoggingLevel
	clientInfo    atomic.Value // mcp.Implementation
	clientCaps    atomic.Value // mcp.ClientCapabilities
	version       atomic.Value // string
	resourceSubs
	requests clientRequests
}

var (
	_ server.SessionWithLogging               = (*stdioSession)(nil)
	_ server.SessionWithClientInfo            = (*stdioSession)(nil)
	_ server.SessionWithResourceSubscriptions = (*stdioSession)(nil)
)

func (s *stdioSession) SessionID() string { return "stdio" }
func (s *stdioSession) NotificationChannel() chan<- mcp.JSONRPCNotification {
	return s.notifications
}
func (s *stdioSession) Initialize() {
	s.level.CompareAndSwap(nil, mcp.LoggingLevelError)
	s.initialized.Store(true)
}
func (s *stdioSession) Initialized() bool                  { return s.initialized.Load() }
func (s *stdioSession) SetLogLevel(level mcp.LoggingLevel) { s.level.Store(level) }
func (s *stdioSession) GetLogLevel() mcp.LoggingLevel {
	if l, ok := s.level.Load().(mcp.LoggingLevel); ok {
		return l
	}
	return mcp.LoggingLevelError
}
func (s *stdioSession) GetClientInfo() mcp.Implementation {
	v, _ := s.clientInfo.Load().(mcp.Implementation)
	return v
}
func (s *stdioSession) SetClientInfo(v mcp.Implementation) { s.clientInfo.Store(v) }
func (s *stdioSession) GetClientCapabilities() mcp.ClientCapabilities {
	v, _ := s.clientCaps.Load().(mcp.ClientCapabilities)
	return v
}
func (s *stdioSession) SetClientCapabilities(v mcp.ClientCapabilities) { s.clientCaps.Store(v) }
func (s *stdioSession) ProtocolVersion() string {
	v, _ := s.version.Load().(string)
	return v
}
func (s *stdioSession) SetProtocolVersion(v string) { s.version.Store(v) }

// lineWriter writes one JSON message a line, whole, from any goroutine.
type lineWriter struct {
	w *jsonl.Writer
}

func (lw *lineWriter) send(msg any) error {
	data, err := json.Marshal(msg)
	if err != nil {
		return fmt.Errorf("encode message: %w", err)
	}
	return lw.w.WriteLine(data)
}

// serveStdio runs the MCP session of in/out until in ends or ctx is done.
// When in ends (EOF: the client's way to end the session) or ctx is done,
// requests still running are cancelled, and with them their engine jobs;
// it returns once their handlers have. It reads on the calling goroutine
// until then: ServeStdio stops waiting for it when the read cannot be
// interrupted.
func (p *Proxy) serveStdio(ctx context.Context, in io.Reader, out io.Writer) error {
	sess := &stdioSession{notifications: make(chan mcp.JSONRPCNotification, 100)}
	if err := p.srv.RegisterSession(ctx, sess); err != nil {
		return fmt.Errorf("register stdio session: %w", err)
	}
	defer p.srv.UnregisterSession(ctx, sess.SessionID())
	ctx = p.srv.WithContext(ctx, sess)
	// Handlers still running when input ends are released with it.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	w := &lineWriter{w: jsonl.NewWriter(out, 0)}
	sess.requests.mu.Lock()
	sess.requests.w = w
	sess.requests.mu.Unlock()
	go func() {
		for {
			select {
			case n := <-sess.notifications:
				if err := w.send(n); err != nil {
					p.log.Warn("write notification", "err", err)
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	fail := func(id any, code int, msg string) {
		if err := w.send(mcp.JSONRPCError{JSONRPC: mcp.JSONRPC_VERSION, ID: mcp.NewRequestId(id),
			Error: mcp.NewJSONRPCErrorDetails(code, msg, nil)}); err != nil {
			p.log.Warn("write response", "err", err)
		}
	}

	// Requests run on long-lived workers, started as needed up to
	// stdioWorkers: a fresh goroutine per request would grow its stack
	// through mcp-go's deep handler chain every time. Once all are busy,
	// requests wait in a backlog of stdioBacklog, and beyond it are
	// refused: the read loop itself never waits.
	type work struct {
		id     any
		rawID  json.RawMessage // id as sent, for the fast path
		method string
		msg    []byte
		req    *fastRequest // msg decoded for the fast path, when it could be
		// For a request that went to the backlog: its key in waiting, and
		// whether a notifications/cancelled came for it while it waited
		// (mcp-go only knows the requests it has started).
		key       string
		cancelled *atomic.Bool
	}
	maxWorkers, backlog := stdioWorkers, stdioBacklog
	queue := make(chan work, backlog)
	var (
		wg        sync.WaitGroup
		idle      atomic.Int32 // workers free, less requests queued for them
		workers   int
		waitingMu sync.Mutex
		waiting   = map[string]*atomic.Bool{}
		queued    atomic.Int64 // bytes of the requests in queue
		fast      fastCalls    // the fast path's calls running
	)
	startWorker := func() {
		workers++
		wg.Go(func() {
			for wk := range queue {
				queued.Add(-int64(len(wk.msg)))
				skip := false
				if wk.cancelled != nil {
					waitingMu.Lock()
					if waiting[wk.key] == wk.cancelled {
						delete(waiting, wk.key)
					}
					waitingMu.Unlock()
					skip = wk.cancelled.Load() // the client wants no answer
				}
				if !skip && (wk.method != string(mcp.MethodToolsCall) || !p.serveFast(ctx, w, &fast, fmt.Sprint(wk.id), wk.rawID, wk.msg, wk.req)) {
					p.handle(ctx, w, wk.id, wk.msg)
				}
				idle.Add(1)
			}
		})
	}
	// cancelWaiting marks the request a notifications/cancelled names, if
	// it waits in the backlog, so that it never runs.
	cancelWaiting := func(msg []byte) {
		var n struct {
			Params struct {
				RequestID any `json:"requestId"`
			} `json:"params"`
		}
		if json.Unmarshal(msg, &n) != nil || n.Params.RequestID == nil {
			return
		}
		key := fmt.Sprint(n.Params.RequestID)
		waitingMu.Lock()
		if c := waiting[key]; c != nil {
			c.Store(true)
		}
		waitingMu.Unlock()
		fast.cancel(key)
	}

	lr := newLineReader(in)
	err := lr.run(ctx, func(line []byte) {
		// One decode serves both this loop and the fast path: a tools/call
		// is most of what comes. A message whose params do not fit the fast
		// path's form is decoded again for its id and method alone.
		var env struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
			fastRequest
		}
		decoded := json.Unmarshal(line, &env) == nil
		if !decoded {
			var lean struct {
				ID     json.RawMessage `json:"id"`
				Method string          `json:"method"`
			}
			if json.Unmarshal(line, &lean) != nil {
				if !json.Valid(line) {
					fail(nil, mcp.PARSE_ERROR, "Parse error")
					return
				}
				lean.Method = "?" // valid JSON but not an object: mcp-go says what is wrong
			}
			env.ID, env.Method = lean.ID, lean.Method
		}
		switch {
		case env.Method == "":
			sess.requests.deliver(env.ID, line) // an answer to elicitation or sampling; any other is dropped
		case string(env.ID) == "null":
			// Not a notification: MCP requests must have a string or
			// number id, and JSON-RPC reserves null for responses to
			// messages whose id could not be read.
			fail(nil, mcp.INVALID_REQUEST, "Invalid Request: id must be a string or a number, not null")
		case len(env.ID) == 0:
			// Notifications (initialized, cancelled) are handled in order,
			// on the read loop, as mcp-go does: they are quick.
			if env.Method == string(mcp.MethodNotificationCancelled) {
				cancelWaiting(line)
			}
			p.handle(ctx, w, nil, line)
		default:
			var id any
			_ = json.Unmarshal(env.ID, &id)
			if env.Method == string(mcp.MethodPing) {
				p.handle(ctx, w, id, line) // answered even when every worker is busy
				return
			}
			wk := work{id: id, rawID: env.ID, method: env.Method, msg: bytes.Clone(line)}
			if decoded && env.Method == string(mcp.MethodToolsCall) {
				wk.req = &env.fastRequest // its raw parts are copies, not line's bytes
			}
			free := idle.Load()
			start := free <= 0 && workers < maxWorkers
			if free <= 0 && !start { // every worker is busy: it waits
				wk.key, wk.cancelled = fmt.Sprint(id), new(atomic.Bool)
				waitingMu.Lock()
				waiting[wk.key] = wk.cancelled
				waitingMu.Unlock()
			}
			if queued.Add(int64(len(wk.msg))) > int64(stdioBacklogBytes) && wk.cancelled != nil {
				queued.Add(-int64(len(wk.msg)))
				waitingMu.Lock()
				if waiting[wk.key] == wk.cancelled {
					delete(waiting, wk.key)
				}
				waitingMu.Unlock()
				fail(id, stdioBusy, fmt.Sprintf("server busy: the requests waiting hold over %d MiB; try again later", stdioBacklogBytes>>20))
				return
			}
			select {
			case queue <- wk:
			default:
				queued.Add(-int64(len(wk.msg)))
				if wk.cancelled != nil {
					waitingMu.Lock()
					if waiting[wk.key] == wk.cancelled {
						delete(waiting, wk.key)
					}
					waitingMu.Unlock()
				}
				fail(id, stdioBusy, fmt.Sprintf("server busy: %d requests running and %d waiting; try again later", maxWorkers, backlog))
				return
			}
			if start {
				startWorker()
			} else {
				idle.Add(-1)
			}
		}
	}, func(tooLong int) {
		fail(nil, mcp.PARSE_ERROR, fmt.Sprintf("Parse error: message of %d bytes is over the %d-byte limit", tooLong, maxStdioLine))
	})
	cancel()
	close(queue)
	wg.Wait()
	return err
}

// handle runs one message through mcp-go and writes its response; a
// panicking handler becomes an internal error, not the end of the session.
func (p *Proxy) handle(ctx context.Context, w *lineWriter, id any, msg json.RawMessage) {
	resp := func() (resp mcp.JSONRPCMessage) {
		defer func() {
			if r := recover(); r != nil {
				p.log.Error("MCP handler panicked", "panic", r)
				if id != nil {
					resp = mcp.JSONRPCError{JSONRPC: mcp.JSONRPC_VERSION, ID: mcp.NewRequestId(id),
						Error: mcp.NewJSONRPCErrorDetails(mcp.INTERNAL_ERROR, fmt.Sprintf("internal error: %v", r), nil)}
				}
			}
		}()
		if resp, err := p.answerAhead(ctx, server.ClientSessionFromContext(ctx), msg); err == nil {
			return resp
		}
		return p.srv.HandleMessage(ctx, msg)
	}()
	if resp != nil {
		if err := w.send(resp); err != nil {
			p.log.Warn("write response", "err", err)
		}
	}
}

// lineReader reads the client's messages, one a line.
type lineReader struct {
	jr *jsonl.Reader
}

func newLineReader(in io.Reader) *lineReader {
	return &lineReader{jr: jsonl.NewReader(in, maxStdioLine)}
}

// run calls fn for each non-empty line (without its line terminator, "\n"
// or "\r\n") until the input ends or ctx is done (nil) or a read fails;
// a line whose message is over maxStdioLine bytes is skipped and reported
// to tooLong instead. The line is only valid during fn.
func (lr *lineReader) run(ctx context.Context, fn func([]byte), tooLong func(n int)) error {
	for {
		line, err := lr.jr.ReadLine()
		if ctx.Err() != nil {
			return nil // the read may have been interrupted for it
		}
		var tl *jsonl.TooLongError
		switch {
		case errors.As(err, &tl):
			tooLong(tl.Len)
		case errors.Is(err, io.EOF):
			return nil
		case err != nil:
			return err
		default:
			if trimmed := bytes.TrimSpace(line); len(trimmed) > 0 {
				fn(trimmed)
			}
		}
	}
}
