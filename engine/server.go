package engine

import (
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
	"time"

	"github.com/agentos/agentos/graph"
	"github.com/agentos/agentos/shapes"
	"github.com/sourcegraph/jsonrpc2"
)

// ServerOptions tune the JSON-RPC server.
type ServerOptions struct {
	Workers  int // requests handled at once across all connections (default 4×GOMAXPROCS, min 16)
	MaxQueue int // requests waiting for a worker before new ones are refused as unavailable (default 4096)
	MaxLine  int // largest request line in bytes (default 16 MiB)
	Version  string
	Home     string
	Socket   string
}

// Server serves the method table over any number of connections.
type Server struct {
	opts    ServerOptions
	log     *slog.Logger
	store   *graph.Store
	shapes  atomic.Pointer[shapes.Registry]
	bus     *Bus
	methods map[string]*method
	started time.Time

	sem    chan struct{}
	queued atomic.Int64
	callID atomic.Int64

	mu       sync.Mutex
	closing  bool
	inflight sync.WaitGroup
	conns    map[*jsonrpc2.Conn]struct{}
	connWG   sync.WaitGroup
}

// NewServer builds a server over an open store.
func NewServer(store *graph.Store, reg *shapes.Registry, bus *Bus, log *slog.Logger, opts ServerOptions) *Server {
	if opts.Workers <= 0 {
		opts.Workers = 64
	}
	if opts.MaxQueue <= 0 {
		opts.MaxQueue = 4096
	}
	if opts.MaxLine <= 0 {
		opts.MaxLine = DefaultMaxLine
	}
	s := &Server{
		opts:    opts,
		log:     log,
		store:   store,
		bus:     bus,
		started: time.Now(),
		sem:     make(chan struct{}, opts.Workers),
		conns:   map[*jsonrpc2.Conn]struct{}{},
	}
	s.shapes.Store(reg)
	s.methods = s.methodTable()
	return s
}

// Serve accepts connections until the listener is closed.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	for {
		nc, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			return fmt.Errorf("accept: %w", err)
		}
		caller, err := checkPeer(nc)
		if err != nil {
			s.log.Warn("refused connection", "err", err)
			nc.Close()
			continue
		}
		s.serveConn(ctx, nc, caller)
	}
}

// connState is what the server knows about one connection.
type connState struct {
	stream *lineStream
	mu     sync.Mutex
	caller string
	subs   []*Subscription
}

func (c *connState) getCaller() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.caller
}

func (s *Server) serveConn(ctx context.Context, nc net.Conn, caller string) {
	cs := &connState{caller: caller, stream: newLineStream(nc, s.opts.MaxLine)}
	h := handlerFunc(func(ctx context.Context, conn *jsonrpc2.Conn, req *jsonrpc2.Request) {
		s.handle(ctx, cs, conn, req)
	})
	conn := jsonrpc2.NewConn(ctx, cs.stream, h, jsonrpc2.SetLogger(slogPrintf{s.log}))
	s.mu.Lock()
	s.conns[conn] = struct{}{}
	s.mu.Unlock()
	s.connWG.Add(1)
	go func() {
		defer s.connWG.Done()
		<-conn.DisconnectNotify()
		cs.mu.Lock()
		for _, sub := range cs.subs {
			sub.Close()
		}
		cs.mu.Unlock()
		s.mu.Lock()
		delete(s.conns, conn)
		s.mu.Unlock()
	}()
}

type handlerFunc func(context.Context, *jsonrpc2.Conn, *jsonrpc2.Request)

func (f handlerFunc) Handle(ctx context.Context, c *jsonrpc2.Conn, r *jsonrpc2.Request) { f(ctx, c, r) }

type slogPrintf struct{ log *slog.Logger }

func (l slogPrintf) Printf(format string, v ...any) {
	l.log.Debug("jsonrpc2", "msg", fmt.Sprintf(format, v...))
}

// handle runs on the connection's read loop: it must return at once, so the
// work goes to a goroutine bounded by the worker semaphore.
func (s *Server) handle(ctx context.Context, cs *connState, conn *jsonrpc2.Conn, req *jsonrpc2.Request) {
	if req.Notif {
		return // no client notifications are defined yet; ignoring them is what JSON-RPC asks
	}
	m := s.methods[req.Method]
	if m == nil {
		s.reply(cs, req, nil, &Error{Code: CodeMethodNotFound, Kind: KindNotFound,
			Message: fmt.Sprintf("unknown method %q; system.schema lists every method", req.Method)})
		return
	}
	inline := m.runsInline(req.Params)
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		s.reply(cs, req, nil, Errorf(KindUnavailable, "the engine is shutting down; retry once it is back"))
		return
	}
	if !inline && s.queued.Add(1) > int64(s.opts.MaxQueue) {
		s.queued.Add(-1)
		s.mu.Unlock()
		s.reply(cs, req, nil, Errorf(KindUnavailable, "the engine is busy (%d requests queued); retry shortly", s.opts.MaxQueue))
		return
	}
	s.inflight.Add(1)
	s.mu.Unlock()
	if inline {
		defer s.inflight.Done()
		s.run(ctx, cs, conn, req, m)
		return
	}
	go func() {
		defer s.inflight.Done()
		s.sem <- struct{}{}
		s.queued.Add(-1)
		defer func() { <-s.sem }()
		s.run(ctx, cs, conn, req, m)
	}()
}

// call is what a method handler sees of the request.
type call struct {
	conn   *jsonrpc2.Conn
	state  *connState
	caller string
	// afterReply runs once the response is on the wire (observer.subscribe
	// must not send notifications before its own result).
	afterReply func()
}

func (s *Server) run(ctx context.Context, cs *connState, conn *jsonrpc2.Conn, req *jsonrpc2.Request, m *method) {
	c := &call{conn: conn, state: cs, caller: cs.getCaller()}
	ctx = graph.WithActor(ctx, c.caller)
	var callID string
	start := time.Now()
	if !m.quiet {
		callID = strconv.FormatInt(s.callID.Add(1), 10)
		s.bus.Publish(Event{Type: EventStarted, Method: m.name, Caller: c.caller, CallID: callID})
	}
	result, err := s.safeInvoke(ctx, c, m, req.Params)
	if !m.quiet {
		ev := Event{Type: EventCompleted, Method: m.name, Caller: c.caller, CallID: callID,
			LatencyMS: float64(time.Since(start).Microseconds()) / 1000}
		if err != nil {
			ev.Type, ev.Error, ev.ErrorKind = EventFailed, err.Error(), KindOf(err)
		}
		s.bus.Publish(ev)
	}
	if err != nil && KindOf(err) == KindInternal {
		s.log.Error("method failed", "method", m.name, "caller", c.caller, "err", err)
	}
	s.reply(cs, req, result, err)
	if err == nil && c.afterReply != nil {
		c.afterReply()
	}
}

func (s *Server) safeInvoke(ctx context.Context, c *call, m *method, params *json.RawMessage) (result any, err error) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("panic in method", "method", m.name, "panic", r, "stack", string(debug.Stack()))
			err = Errorf(KindInternal, "internal error in %s: %v (see logs/engine.log)", m.name, r)
		}
	}()
	var raw json.RawMessage
	if params != nil {
		raw = *params
	}
	return m.handle(ctx, c, raw)
}

// reply writes the response straight to the stream: going through
// jsonrpc2.Response would encode the result three more times.
func (s *Server) reply(cs *connState, req *jsonrpc2.Request, result any, err error) {
	id, _ := req.ID.MarshalJSON()
	var res []byte
	if err == nil {
		var merr error
		if res, merr = json.Marshal(result); merr != nil {
			err = Errorf(KindInternal, "encode result of %s: %v", req.Method, merr)
		}
	}
	var b []byte
	b = append(b, `{"jsonrpc":"2.0","id":`...)
	b = append(b, id...)
	if err != nil {
		e, _ := json.Marshal(toRPCError(err))
		b = append(b, `,"error":`...)
		b = append(b, e...)
	} else {
		b = append(b, `,"result":`...)
		b = append(b, res...)
	}
	b = append(b, '}')
	if werr := cs.stream.writeLine(b); werr != nil {
		s.log.Debug("send response", "method", req.Method, "err", werr)
	}
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
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.connWG.Wait()
	return err
}

// SetShapes swaps the shape registry (after a reload).
func (s *Server) SetShapes(reg *shapes.Registry) {
	s.shapes.Store(reg)
	s.store.SetShapes(reg)
}
