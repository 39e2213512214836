package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"sync"

	"github.com/agentos/agentos/bridge"
	"github.com/agentos/agentos/engine"
)

// bridgeSettings are the bridge's address and allowlists: config.yaml's
// bridge section, with --bridge-addr taking precedence.
func bridgeSettings(home, addrFlag string) (engine.BridgeConfig, error) {
	cfg, err := engine.LoadConfig(engine.PathsFor(home).Config)
	if err != nil {
		return engine.BridgeConfig{}, err
	}
	b := cfg.Bridge
	if addrFlag != "" {
		b.Addr = addrFlag
	}
	if b.Addr == "" {
		b.Addr = bridge.DefaultAddr
	}
	return b, nil
}

func bridgeOptions(home string, b engine.BridgeConfig, log *slog.Logger) bridge.Options {
	return bridge.Options{Home: home, Version: version, Logger: log.With("component", "bridge"),
		AllowedHosts: b.Hosts, AllowedOrigins: b.Origins}
}

// engineBridge is the bridge served inside `agentos engine`. Its port is
// taken before the engine starts, so status can name its URL; a port that
// is taken is a warning, not a reason to refuse to run the engine.
type engineBridge struct {
	home string
	cfg  engine.BridgeConfig
	ln   net.Listener
	wg   sync.WaitGroup
}

// listenEngineBridge returns nil when the bridge is off (--no-bridge, or
// bridge.disable without an explicit --bridge-addr) or its port is taken.
func listenEngineBridge(e *env, noBridge bool, addrFlag string) (*engineBridge, error) {
	if noBridge {
		return nil, nil
	}
	b, err := bridgeSettings(e.home, addrFlag)
	if err != nil {
		return nil, err
	}
	if b.Disable && addrFlag == "" {
		return nil, nil
	}
	// A token the bridge would refuse (readable by others, too short) is
	// found now, before the engine advertises a bridge that never starts.
	if err := engine.PathsFor(e.home).Ensure(); err != nil {
		return nil, err
	}
	if _, err := bridge.LoadOrCreateToken(bridge.TokenPath(e.home)); err != nil {
		fmt.Fprintf(e.stderr, "agentos: warning: %v; the engine runs without its bridge (web UI)\n", err)
		return nil, nil
	}
	ln, err := bridge.Listen(b.Addr)
	if err != nil {
		fmt.Fprintf(e.stderr, "agentos: warning: %v; the engine runs without its bridge (web UI)\n", err)
		return nil, nil
	}
	return &engineBridge{home: e.home, cfg: b, ln: ln}, nil
}

func (eb *engineBridge) url() string { return "http://" + eb.ln.Addr().String() }

// serve starts the bridge once the engine is ready (the graph exists) and
// runs it until ctx ends.
func (eb *engineBridge) serve(ctx context.Context, log *slog.Logger) {
	eb.wg.Add(1)
	go func() {
		defer eb.wg.Done()
		srv, err := bridge.New(ctx, bridgeOptions(eb.home, eb.cfg, log))
		if err != nil {
			log.Error("bridge not started", "err", err)
			eb.ln.Close() // nothing answers there: free the port
			return
		}
		defer srv.Close()
		if err := srv.Serve(ctx, eb.ln); err != nil {
			log.Error("bridge stopped", "err", err)
		}
	}()
}

func runBridge(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "bridge", "", "Serve the bridge (HTTP API, web UI, /sdk.js) alone, for an engine running elsewhere on this AGENTOS_HOME. `agentos engine` already serves it.")
	addr := f.String("addr", "", "listen address, loopback only (default: bridge.addr in config.yaml, else "+bridge.DefaultAddr+")")
	if _, err := f.parseN(args, 0, 0); err != nil {
		return err
	}
	b, err := bridgeSettings(e.home, *addr)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(e.stderr, nil))
	srv, err := bridge.New(ctx, bridgeOptions(e.home, b, log))
	if err != nil {
		return err
	}
	defer srv.Close()
	ln, err := bridge.Listen(b.Addr)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "bridge on http://%s (web UI; Ctrl-C stops)\n", ln.Addr())
	return srv.Serve(ctx, ln)
}
