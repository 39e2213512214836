package mcpproxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/agentos/agentos/internal/loopback"
	"github.com/mark3labs/mcp-go/server"
)

// HTTPPath is where ServeHTTP serves MCP (Streamable HTTP).
const HTTPPath = "/mcp"

// ListenAddr completes a --http address: a missing host binds loopback
// (127.0.0.1), so the server is never reachable from elsewhere by accident.
func ListenAddr(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		if strings.Contains(addr, ":") {
			return "", fmt.Errorf("bad listen address %q: %v", addr, err)
		}
		host, port = "", addr // a bare port
	}
	if host == "" {
		host = "127.0.0.1"
	}
	if port == "" {
		return "", fmt.Errorf("bad listen address %q: no port", addr)
	}
	return net.JoinHostPort(host, port), nil
}

// ServeHTTP serves MCP over Streamable HTTP at http://ADDR/mcp on ln until
// ctx is done. Only connections made by this user's processes are served
// (ln goes through loopback.SameUser: another account's are reset unread),
// and requests from a non-loopback Origin or with a non-loopback Host are
// refused (403), against browsers driven by other sites and DNS rebinding.
func (p *Proxy) ServeHTTP(ctx context.Context, ln net.Listener, o HTTPOptions) error {
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	go p.watch(wctx)
	hs := server.NewStreamableHTTPServer(p.srv,
		server.WithEndpointPath(HTTPPath),
		server.WithStateful(true),
		server.WithSessionIdleTTL(time.Hour),
		server.WithStreamableHTTPLogger(p.log))
	mux := http.NewServeMux()
	mux.Handle(HTTPPath, LoopbackOnly(p.aheadOverHTTP(hs, o), p.log))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		hs.Shutdown(sctx)
		srv.Shutdown(sctx)
	}()
	ln = loopback.SameUser(ln, loopback.Options{Name: "mcp", Logger: p.log})
	p.log.Info("serving MCP over HTTP", "url", "http://"+ln.Addr().String()+HTTPPath)
	err := srv.Serve(ln)
	p.eng.Close()
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// LoopbackOnly refuses (403) requests whose Host is not a loopback host or
// whose Origin, when present, is not a loopback page: internal/loopback's
// guard, against DNS rebinding and pages of other sites.
func LoopbackOnly(h http.Handler, lg *slog.Logger) http.Handler {
	return loopback.Guard(loopback.GuardOptions{
		Refuse: func(w http.ResponseWriter, r *http.Request, err *loopback.RefusedError) {
			lg.Warn("refused a request for a foreign "+strings.ToLower(err.Header), "value", err.Value, "remote", r.RemoteAddr)
			http.Error(w, "Forbidden: "+err.Error(), http.StatusForbidden)
		},
	})(h)
}
