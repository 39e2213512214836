package bridge

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/agentos/agentos/engine/wire"
	"github.com/agentos/agentos/shapes"
)

// engineConn holds the bridge's connections to the engine socket, dialled
// on demand and replaced when the engine restarts. Concurrent requests are
// multiplexed on them. Housekeeping (shape refreshes, listings for the UI,
// metrics) goes on a quiet connection, so browsing does not flood the
// activity feed; calls apps make through POST /api/call are events like
// any other caller's.
type engineConn struct {
	onShapes func(*shapes.Registry) // the engine's shape set, whenever it changes

	house *wire.Redialer // quiet
	apps  *wire.Redialer // POST /api/call

	mu          sync.Mutex
	fingerprint string    // of the last registry handed to onShapes
	shapesAt    time.Time // when the shapes were last fetched
}

func newEngineConn(socket string, onShapes func(*shapes.Registry)) *engineConn {
	return &engineConn{onShapes: onShapes,
		house: wire.NewRedialer(socket, wire.ClientOptions{Name: "bridge", Quiet: true}),
		apps:  wire.NewRedialer(socket, wire.ClientOptions{Name: "bridge"}),
	}
}

// shapesTTL bounds how stale the bridge's idea of the engine's shapes may
// be: a skill that brings a shape is visible to graph reads within it.
const shapesTTL = 2 * time.Second

// call is a housekeeping call: no observer events. They only read, so one
// whose connection died is tried again on a new one.
func (k *engineConn) call(ctx context.Context, method string, params any) (json.RawMessage, error) {
	var out json.RawMessage
	return out, k.house.Call(ctx, method, params, &out, true)
}

// callApp is a call an app made: it shows in the activity feed. It is tried
// again only when it never reached the engine: it may write.
func (k *engineConn) callApp(ctx context.Context, method string, params any) (json.RawMessage, error) {
	var out json.RawMessage
	return out, k.apps.Call(ctx, method, params, &out, false)
}

// subscribe opens a dedicated connection streaming events after since
// (negative: only new ones) into fn; it ends with ctx or the engine.
func (k *engineConn) subscribe(ctx context.Context, since int64, fn func(wire.Event)) (*wire.Client, error) {
	c, err := k.house.Fresh(ctx)
	if err != nil {
		return nil, err
	}
	dctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if _, err := c.Subscribe(dctx, since, fn); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// refreshShapes asks the engine for its shapes when the last answer is
// older than shapesTTL. Without an engine the bridge keeps what it has
// (the bundled shapes at first): reads go on working.
func (k *engineConn) refreshShapes(ctx context.Context) {
	k.mu.Lock()
	fresh := time.Since(k.shapesAt) < shapesTTL
	k.mu.Unlock()
	if fresh {
		return
	}
	raw, err := k.call(ctx, wire.MethodShapesList, nil)
	if err != nil {
		return
	}
	var res struct {
		Shapes []*shapes.Shape `json:"shapes"`
	}
	if json.Unmarshal(raw, &res) != nil || len(res.Shapes) == 0 {
		return
	}
	reg := shapes.FromList(res.Shapes)
	k.mu.Lock()
	defer k.mu.Unlock()
	k.shapesAt = time.Now()
	if reg.Fingerprint() != k.fingerprint {
		k.fingerprint = reg.Fingerprint()
		k.onShapes(reg)
	}
}

func (k *engineConn) close() {
	k.house.Close()
	k.apps.Close()
}
