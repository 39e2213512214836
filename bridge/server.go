package bridge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/agentos/agentos/engine/wire"
	"github.com/agentos/agentos/graph"
	"github.com/agentos/agentos/internal/loopback"
	"github.com/agentos/agentos/shapes"
)

// DefaultAddr is where the bridge listens unless told otherwise (DESIGN §9).
const DefaultAddr = "127.0.0.1:3456"

// Options configure a bridge.
type Options struct {
	Home    string // AGENTOS_HOME: the graph, the engine socket, bridge.token, config.yaml
	Version string
	Logger  *slog.Logger
	// AllowedHosts are extra Host names (without port) accepted besides
	// loopback ones, e.g. a name the user put in /etc/hosts.
	AllowedHosts []string
	// AllowedOrigins are origins ("http://localhost:5173") of apps allowed to
	// call the bridge from a browser: they get CORS headers. Loopback
	// origins are accepted by the Host/Origin check but get no CORS unless
	// listed here.
	AllowedOrigins []string
}

// Server is the bridge: an http.Handler over a read-only graph and the
// engine socket.
type Server struct {
	opts    Options
	log     *slog.Logger
	store   *graph.Store
	engine  *engineConn
	token   string
	handler http.Handler
	started time.Time
	streams atomic.Int64      // open /observer/stream clients
	origins *loopback.Checker // the configured origins, for CORS
}

// New opens the graph of opts.Home read-only and prepares the handler. The
// graph must exist (the engine creates it on its first start); the engine
// itself may come and go: reads work without it, calls and events answer
// 503 until it is back.
func New(ctx context.Context, opts Options) (*Server, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	opts.AllowedHosts = normalize(opts.AllowedHosts, loopback.NormalHost)
	opts.AllowedOrigins = normalize(opts.AllowedOrigins, loopback.NormalOrigin)
	paths := wire.PathsFor(opts.Home)
	token, err := LoadOrCreateToken(TokenPath(opts.Home))
	if err != nil {
		return nil, err
	}
	base, errs := shapes.Load() // bundled shapes until the engine tells us its own
	for _, e := range errs {
		opts.Logger.Warn("bundled shape", "err", e)
	}
	store, err := graph.OpenReadOnly(ctx, paths.DB, base)
	if err != nil {
		return nil, fmt.Errorf("bridge: %w", err)
	}
	s := &Server{
		opts:    opts,
		log:     opts.Logger,
		store:   store,
		engine:  newEngineConn(paths.Socket, store.SetShapes),
		token:   token,
		started: time.Now(),
		origins: loopback.NewChecker(loopback.GuardOptions{Origins: opts.AllowedOrigins}),
	}
	s.handler = s.routes()
	return s, nil
}

// Handler serves every route of DESIGN §9 behind the Host/Origin guard.
func (s *Server) Handler() http.Handler { return s.handler }

// Close releases the graph connections and the engine connection.
func (s *Server) Close() error {
	s.engine.close()
	return s.store.Close()
}

// Server timeouts. Writes have no deadline on the server as a whole because
// SSE streams live for hours; every other handler is bounded by
// requestTimeout instead (see routes).
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 30 * time.Second
	idleTimeout       = 2 * time.Minute
	maxHeaderBytes    = 64 << 10
)

// requestTimeout bounds every handler but the SSE stream and /api/call
// (a variable so tests can shorten it).
var requestTimeout = 60 * time.Second

// Serve answers on ln until ctx ends, then shuts down: open SSE streams are
// closed and other requests get up to five seconds to finish. Only
// connections made by this user's processes are served: ln goes through
// loopback.SameUser (Listen's listener already has; it gets our log).
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	errc := make(chan error, 1)
	ln = loopback.SameUser(ln, loopback.Options{Name: "bridge", Logger: s.log})
	go func() { errc <- hs.Serve(ln) }()
	s.log.Info("bridge listening", "addr", "http://"+ln.Addr().String())
	select {
	case err := <-errc:
		return fmt.Errorf("bridge: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := hs.Shutdown(shutdownCtx) // SSE handlers end with ctx (BaseContext)
	if errors.Is(err, context.DeadlineExceeded) {
		err = hs.Close()
	}
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("bridge: shutdown: %w", err)
	}
	return nil
}

// Listen opens addr, refusing a non-loopback address: the bridge serves the
// user's whole graph without authentication. Its Accept yields only
// connections of this user's processes (loopback.Listen).
func Listen(addr string) (net.Listener, error) {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return nil, fmt.Errorf("bridge address %q: %w (want host:port, e.g. %s)", addr, err, DefaultAddr)
	}
	ln, err := loopback.Listen(context.Background(), addr, loopback.Options{Name: "bridge"})
	if errors.Is(err, loopback.ErrNotLoopback) {
		return nil, fmt.Errorf("bridge %w: the bridge serves your whole graph unauthenticated", err)
	}
	if err != nil {
		return nil, fmt.Errorf("bridge: %w", err)
	}
	return ln, nil
}
