package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"

	"github.com/agentos/agentos/bridge"
	"github.com/agentos/agentos/engine"
	"github.com/agentos/agentos/engine/wire"
)

// bridgeSettings are the bridge's address and allowlists: config.yaml's
// bridge section, with --bridge-addr taking precedence.
func bridgeSettings(home, addrFlag string) (engine.BridgeConfig, error) {
	cfg, err := engine.LoadConfig(wire.PathsFor(home).Config)
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

func bridgeOptions(home string, b engine.BridgeConfig) bridge.Options {
	return bridge.Options{Home: home, Version: version, AllowedHosts: b.Hosts, AllowedOrigins: b.Origins}
}

// listenEngineBridge takes the port of the bridge `agentos engine` serves,
// before the engine starts, so status can name its URL. It returns nil when
// the bridge is off (--no-bridge, or bridge.disable without an explicit
// --bridge-addr), or, with a warning, when its port is taken or its token
// is one the bridge would refuse: those cost the web UI, not the engine.
func listenEngineBridge(e *env, noBridge bool, addrFlag string) (net.Listener, engine.BridgeConfig, error) {
	if noBridge {
		return nil, engine.BridgeConfig{}, nil
	}
	b, err := bridgeSettings(e.home, addrFlag)
	if err != nil || (b.Disable && addrFlag == "") {
		return nil, b, err
	}
	// A token the bridge would refuse (readable by others, too short) is
	// found now, before the engine advertises a bridge that never starts.
	if err := engine.EnsureDirs(wire.PathsFor(e.home)); err != nil {
		return nil, b, err
	}
	if _, err := bridge.LoadOrCreateToken(bridge.TokenPath(e.home)); err != nil {
		fmt.Fprintf(e.stderr, "agentos: warning: %v; the engine runs without its bridge (web UI)\n", err)
		b.Failed = err.Error()
		return nil, b, nil
	}
	ln, err := bridge.Listen(b.Addr)
	if err != nil {
		fmt.Fprintf(e.stderr, "agentos: warning: %v; the engine runs without its bridge (web UI)\n", err)
		b.Failed = err.Error()
		return nil, b, nil
	}
	return ln, b, nil
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
	opts := bridgeOptions(e.home, b)
	opts.Logger = slog.New(slog.NewTextHandler(e.stderr, nil))
	srv, err := bridge.New(ctx, opts)
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
