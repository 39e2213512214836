package bridge

import (
	"context"
	"log/slog"
	"net"
	"sync"

	"github.com/agentos/agentos/engine"
	"github.com/agentos/agentos/engine/wire"
)

// Attach makes the engine that cfg configures serve a bridge on ln, as
// `agentos engine` does: cfg.Server.Bridge names its URL (system.status
// shows it), and the bridge starts in the engine's process once the socket
// answers (the graph exists then), logging to the engine's log. opts.Logger
// is replaced by that log. The bridge stops when ctx ends (the engine's
// own shutdown signal, so both stop together) or when the returned func is
// called after engine.Run returns; that func also waits for it and closes ln.
func Attach(ctx context.Context, cfg *engine.Config, ln net.Listener, opts Options) (stop func()) {
	cfg.Server.Bridge = "http://" + ln.Addr().String()
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	ready := cfg.Ready
	cfg.Ready = func(paths wire.Paths, log *slog.Logger) {
		if ready != nil {
			ready(paths, log)
		}
		opts.Logger = log.With("component", "bridge")
		wg.Go(func() {
			srv, err := New(ctx, opts)
			if err != nil {
				log.Error("bridge not started", "err", err)
				ln.Close() // nothing answers there: free the port
				return
			}
			defer srv.Close()
			if err := srv.Serve(ctx, ln); err != nil {
				log.Error("bridge stopped", "err", err)
			}
		})
	}
	return func() {
		cancel()
		wg.Wait()
		ln.Close() // Serve closed it already, unless the engine failed before Ready
	}
}
