package mcpproxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

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
// ctx is done. Requests from a non-loopback Origin or with a non-loopback
// Host are refused (403), against browsers driven by other sites and DNS
// rebinding.
func (p *Proxy) ServeHTTP(ctx context.Context, ln net.Listener) error {
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	go p.watch(wctx)
	hs := server.NewStreamableHTTPServer(p.srv,
		server.WithEndpointPath(HTTPPath),
		server.WithStateful(true),
		server.WithSessionIdleTTL(time.Hour),
		server.WithStreamableHTTPLogger(p.log))
	mux := http.NewServeMux()
	mux.Handle(HTTPPath, LoopbackOnly(hs, p.log))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		hs.Shutdown(sctx)
		srv.Shutdown(sctx)
	}()
	p.log.Info("serving MCP over HTTP", "url", "http://"+ln.Addr().String()+HTTPPath)
	err := srv.Serve(ln)
	p.eng.Close()
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// LoopbackOnly refuses (403) requests whose Origin header is present and not
// a loopback origin, or whose Host is not a loopback host.
func LoopbackOnly(h http.Handler, lg *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if o := r.Header.Get("Origin"); o != "" && !loopbackOrigin(o) {
			lg.Warn("refused a request from a foreign origin", "origin", o, "remote", r.RemoteAddr)
			http.Error(w, "Forbidden: origin not allowed", http.StatusForbidden)
			return
		}
		if !loopbackHost(r.Host) {
			lg.Warn("refused a request for a foreign host", "host", r.Host, "remote", r.RemoteAddr)
			http.Error(w, "Forbidden: host not allowed", http.StatusForbidden)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// loopbackOrigin: http://localhost, http://127.0.0.1 or http://[::1], with
// any port.
func loopbackOrigin(o string) bool {
	u, err := url.Parse(o)
	if err != nil || u.Scheme != "http" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return false
	}
	return loopbackHost(u.Host)
}

// loopbackHost: localhost, 127.0.0.1 or [::1], with an optional port.
func loopbackHost(h string) bool {
	host := h
	if hh, port, err := net.SplitHostPort(h); err == nil {
		if port == "" {
			return false
		}
		host = hh
	} else if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
		host = h[1 : len(h)-1]
	} else if strings.Contains(h, ":") {
		return false
	}
	switch strings.ToLower(host) {
	case "localhost", "127.0.0.1", "::1":
		return true
	}
	return false
}
