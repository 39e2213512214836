package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/agentos/agentos/agents"
	"github.com/agentos/agentos/broker"
	"github.com/agentos/agentos/engine/wire"
	"github.com/agentos/agentos/graph"
	"github.com/agentos/agentos/internal/jsonl"
)

// ServerOptions tune the JSON-RPC server.
type ServerOptions struct {
	Workers  int // requests handled at once across all connections (default 64)
	MaxQueue int // requests waiting for a worker before new ones are refused as unavailable (default 4096)
	MaxLine  int // largest request line in bytes (default 16 MiB)
	// LineTimeout is how long a request line may take once it has started
	// (default DefaultLineTimeout).
	LineTimeout time.Duration
	Version     string
	Home        string
	Socket      string
	Bridge      string // URL of the bridge serving this home, "" when none (shown by system.status)
	BridgeError string // why the engine serves no bridge although it was meant to (shown by system.status)
}

// Server serves the method table over any number of connections.
type Server struct {
	opts     ServerOptions
	log      *slog.Logger
	store    *graph.Store
	shapes   *shapeSet
	bus      *Bus
	methods  map[string]*method
	skills   *skillsRuntime
	resolver *broker.Resolver
	jobs     *jobTable
	calls    *callMetrics
	started  time.Time

	cfgMu   sync.RWMutex
	fileCfg *FileConfig
	cfgPath string
	repl    *replication // the graph's replica, nil when none is configured

	release  memRelease
	missions agents.Missions

	sem    chan struct{}
	queued atomic.Int64
	callID atomic.Int64

	mu       sync.Mutex
	closing  bool
	inflight sync.WaitGroup
	conns    map[*conn]net.Conn
	connWG   sync.WaitGroup
}

// serverDeps is what a server is built over: everything it needs, ready.
type serverDeps struct {
	store  *graph.Store
	shapes *shapeSet
	bus    *Bus
	log    *slog.Logger
	// skills runs the skills' tools; nil: an engine without them, whose
	// skills methods say so.
	skills *skillsRuntime
	// config is config.yaml as loaded, and configPath where pins are saved
	// ("": capabilities.prefer is refused).
	config     *FileConfig
	configPath string
	// replication is the graph's replica, nil when none is configured.
	replication *replication
}

// newServer builds a complete server, ready to Serve.
func newServer(d serverDeps, opts ServerOptions) *Server {
	opts = opts.withDefaults()
	if d.skills == nil {
		d.skills = &skillsRuntime{bus: d.bus, log: d.log, unusable: "this server was started without a skills runtime"}
	}
	if d.config == nil {
		d.config = &FileConfig{}
	}
	calls := &callMetrics{}
	s := &Server{
		opts:    opts,
		log:     d.log,
		store:   d.store,
		shapes:  d.shapes,
		bus:     d.bus,
		skills:  d.skills,
		calls:   calls,
		jobs:    newJobTable(d.bus, calls, 1000),
		fileCfg: d.config,
		cfgPath: d.configPath,
		repl:    d.replication,
		started: time.Now(),
		sem:     make(chan struct{}, opts.Workers),
		conns:   map[*conn]net.Conn{},
	}
	s.resolver = broker.NewResolver(d.skills.list, s.capabilityPolicy, s.secretSet).WithModels(s.skillModels)
	s.methods = s.methodTable()
	return s
}

func (o ServerOptions) withDefaults() ServerOptions {
	if o.Workers <= 0 {
		o.Workers = 64
	}
	if o.MaxQueue <= 0 {
		o.MaxQueue = 4096
	}
	if o.LineTimeout <= 0 {
		o.LineTimeout = DefaultLineTimeout
	}
	if o.MaxLine <= 0 {
		o.MaxLine = wire.MaxRequestLine
	}
	return o
}

// Serve accepts connections until the listener is closed. Running out of
// file descriptors is waited out, not fatal.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	backoff := 5 * time.Millisecond
	for {
		nc, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			var ne net.Error
			if (errors.As(err, &ne) && ne.Timeout()) || errors.Is(err, syscall.EMFILE) ||
				errors.Is(err, syscall.ENFILE) || errors.Is(err, syscall.ECONNABORTED) {
				s.log.Warn("accept failed; retrying", "err", err, "in", backoff)
				time.Sleep(backoff)
				backoff = min(2*backoff, time.Second)
				continue
			}
			return fmt.Errorf("accept: %w", err)
		}
		backoff = 5 * time.Millisecond
		caller, err := checkPeer(nc)
		if err != nil {
			s.log.Warn("refused connection", "err", err)
			nc.Close()
			continue
		}
		s.serveConn(ctx, nc, caller)
	}
}

// conn is one client connection: its read loop, its writer and what the
// server knows about its caller.
type conn struct {
	stream *lineStream
	ctx    context.Context // cancelled when the connection ends
	done   chan struct{}   // closed when the connection ends

	mu     sync.Mutex
	caller string
	quiet  bool // system.hello {quiet}: this connection's calls are not observer events
	subs   []*Subscription
}

func (c *conn) getCaller() (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.caller, c.quiet
}

// notify sends a notification on this connection.
func (c *conn) notify(method string, params any) error {
	b, err := encodeNotification(method, params)
	if err != nil {
		return err
	}
	return c.stream.writeLine(b)
}

func (c *conn) writeError(id json.RawMessage, code int64, msg string) {
	_ = c.stream.writeLine(encodeResponse(id, nil, &wire.Error{Code: code, Kind: wire.KindInvalid, Message: msg}))
}

func (s *Server) serveConn(ctx context.Context, nc net.Conn, caller string) {
	ctx, cancel := context.WithCancel(ctx)
	c := &conn{stream: newLineStream(nc, s.opts.MaxLine, s.opts.LineTimeout), ctx: ctx, done: make(chan struct{}), caller: caller}
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		cancel()
		nc.Close()
		return
	}
	s.conns[c] = nc
	s.connWG.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.connWG.Done()
		s.readLoop(c)
		if c.stream.held() >= releaseAfter {
			// A partial line of megabytes went with the connection: give
			// that memory back to the system, not just to the heap.
			s.release.soon()
		}
		cancel()
		close(c.done)
		nc.Close()
		c.mu.Lock()
		for _, sub := range c.subs {
			sub.Close()
		}
		c.mu.Unlock()
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
	}()
}

// readLoop reads requests until the connection ends. Bad lines are answered
// and skipped: only I/O errors end the loop.
//
// The loop is ours rather than jsonrpc2.Conn's: its Request decoder turns
// params into generic maps and encodes them again (the whole batch, for a
// data.write), and any line it cannot decode closes the connection.
func (s *Server) readLoop(c *conn) {
	for {
		line, err := c.stream.readLine()
		var tooLong *jsonl.TooLongError
		if errors.As(err, &tooLong) {
			// Head holds the start of the oversize request: enough to find
			// its id, so the caller's wait ends with this error.
			c.writeError(leadingID(tooLong.Head), wire.CodeInvalidRequest, fmt.Sprintf(
				"request line is larger than the %d MiB limit; send smaller requests (split a batch into several data.write calls)", tooLong.Max>>20))
			continue
		}
		if errors.Is(err, jsonl.ErrLineTimeout) {
			s.log.Warn("dropped a connection that left a request line unfinished", "after", s.opts.LineTimeout)
			return
		}
		if err != nil {
			return
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		req, err := parseRequest(line)
		if err != nil {
			var bad *errBadRequest
			errors.As(err, &bad)
			c.writeError(bad.id, bad.code, bad.msg)
			continue
		}
		if req.notification() {
			continue // no client notifications are defined; JSON-RPC says ignore them
		}
		s.handle(c, req)
	}
}

// handle runs on the connection's read loop, so it returns at once: the work
// goes to a goroutine bounded by the worker semaphore. Only inline methods,
// whose work is bounded and shorter than a goroutine handoff, run here.
func (s *Server) handle(c *conn, req *request) {
	m := s.methods[*req.Method]
	if m == nil {
		s.reply(c, req, nil, &wire.Error{Code: wire.CodeMethodNotFound, Kind: wire.KindNotFound,
			Message: fmt.Sprintf("unknown method %q; system.schema lists every method", *req.Method)})
		return
	}
	inline := m.runsInline(req)
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		s.reply(c, req, nil, wire.Errorf(wire.KindUnavailable, "the engine is shutting down; retry once it is back"))
		return
	}
	if !inline && s.queued.Add(1) > int64(s.opts.MaxQueue) {
		s.queued.Add(-1)
		s.mu.Unlock()
		s.reply(c, req, nil, wire.Errorf(wire.KindUnavailable, "the engine is busy (%d requests queued); retry shortly", s.opts.MaxQueue))
		return
	}
	s.inflight.Add(1)
	s.mu.Unlock()
	if inline {
		defer s.inflight.Done()
		s.run(c, req, m, func() {})
		return
	}
	go func() {
		defer s.inflight.Done()
		s.sem <- struct{}{}
		s.queued.Add(-1)
		// The slot is given back before the reply is written: a client that
		// stops reading must not hold a worker.
		s.run(c, req, m, func() { <-s.sem })
	}()
}

// call is what a method handler sees of the request.
type call struct {
	conn   *conn
	caller string
	params any // the request's params when decoded before the handler (request.decoded)
	// afterReply runs once the response is on the wire (observer.subscribe
	// must not send notifications before its own result).
	afterReply func()
}

func (s *Server) run(c *conn, req *request, m *method, release func()) {
	caller, quietConn := c.getCaller()
	cl := &call{conn: c, caller: caller, params: req.decoded}
	ctx := graph.WithActor(c.ctx, cl.caller)
	var callID string
	start := time.Now()
	quiet := m.quiet || quietConn
	if !quiet {
		callID = strconv.FormatInt(s.callID.Add(1), 10)
		// The graph changes this call makes carry its id, so an observer
		// can put them with its started/completed pair. A quiet call has
		// no events of its own to tie them to: its changes carry none.
		ctx = graph.WithCall(ctx, callID)
		s.bus.Publish(wire.Event{Type: wire.EventStarted, Method: m.name, Caller: cl.caller, CallID: callID})
	}
	result, err := s.safeInvoke(ctx, cl, m, req.Params)
	outcome := "ok"
	if err != nil {
		outcome = string(KindOf(err))
	}
	s.calls.observe("method", m.name, outcome, time.Since(start))
	if !quiet {
		ev := wire.Event{Type: wire.EventCompleted, Method: m.name, Caller: cl.caller, CallID: callID,
			LatencyMS: float64(time.Since(start).Microseconds()) / 1000}
		if err != nil {
			ev.Type, ev.Error, ev.ErrorKind = wire.EventFailed, err.Error(), KindOf(err)
		}
		s.bus.Publish(ev)
	}
	if err != nil && KindOf(err) == wire.KindInternal {
		s.log.Error("method failed", "method", m.name, "caller", cl.caller, "err", err)
	}
	release()
	s.reply(c, req, result, err)
	if err == nil && cl.afterReply != nil {
		cl.afterReply()
	}
}

func (s *Server) safeInvoke(ctx context.Context, c *call, m *method, params json.RawMessage) (result any, err error) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("panic in method", "method", m.name, "panic", r, "stack", string(debug.Stack()))
			err = wire.Errorf(wire.KindInternal, "internal error in %s: %v (see logs/engine.log)", m.name, r)
		}
	}()
	return m.handle(ctx, c, params)
}

// reply writes the response for req.
func (s *Server) reply(c *conn, req *request, result any, err error) {
	if werr := c.stream.writeLine(encodeResponse(req.ID, result, err)); werr != nil {
		s.log.Debug("send response", "method", *req.Method, "err", werr)
	}
}

func (s *Server) isClosing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closing
}

// Shutdown refuses new requests, waits for in-flight ones (up to ctx), then
// closes every connection.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.inflight.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = fmt.Errorf("in-flight requests did not finish: %w", ctx.Err())
	}
	s.jobs.cancelAll(ctx) // async jobs outlive requests, not the engine
	s.mu.Lock()
	for _, nc := range s.conns {
		nc.Close()
	}
	s.mu.Unlock()
	s.connWG.Wait()
	return err
}

// releaseAfter is the buffer a dropped connection must have held for its
// memory to be handed back to the system at once.
const releaseAfter = 1 << 20

// memRelease returns freed heap to the system shortly after large buffers
// were dropped. Go's runtime gives memory back gradually on its own; an
// engine that 20 half-sent 16 MiB lines pushed to 500 MB should not stay
// there for minutes. Drops close together share one release.
type memRelease struct{ pending atomic.Bool }

func (m *memRelease) soon() {
	if m.pending.CompareAndSwap(false, true) {
		time.AfterFunc(time.Second, func() {
			m.pending.Store(false)
			debug.FreeOSMemory()
		})
	}
}
