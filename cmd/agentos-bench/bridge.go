package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/agentos/agentos/bridge"
	"github.com/agentos/agentos/engine"
	"github.com/agentos/agentos/engine/wire"
)

// runEngineChild is the engine under test, with its bridge, as `agentos
// engine` runs them: the bridge's port is taken first (127.0.0.1:0 here, so
// runs never collide), system.status names its URL, and the bridge starts
// in the same process once the socket answers.
func runEngineChild(ctx context.Context, home string) error {
	ln, err := bridge.Listen("127.0.0.1:0")
	if err != nil {
		return err
	}
	if dir := os.Getenv(profileEnv); dir != "" {
		stop, err := cpuProfile(filepath.Join(dir, "engine-"+strconv.Itoa(os.Getpid())+".cpu"))
		if err != nil {
			return err
		}
		defer stop()
	}
	cfg := engine.Config{Home: home, Version: "bench", LogLevel: slog.LevelError}
	stopBridge := bridge.Attach(ctx, &cfg, ln, bridge.Options{Home: home, Version: "bench"})
	defer stopBridge()
	return engine.Run(ctx, cfg)
}

// bridgeClient reads the bridge over one kept-alive connection, as a
// browser tab does.
type bridgeClient struct {
	base string
	hc   *http.Client
}

func newBridgeClient(ctx context.Context, c *wire.Client) (*bridgeClient, error) {
	var st struct {
		Bridge string `json:"bridge"`
	}
	if err := c.Call(ctx, "system.status", nil, &st); err != nil {
		return nil, err
	}
	if st.Bridge == "" {
		return nil, fmt.Errorf("system.status names no bridge: the engine child runs without one")
	}
	tr := &http.Transport{MaxIdleConnsPerHost: 4, IdleConnTimeout: time.Minute, DisableCompression: true}
	return &bridgeClient{base: st.Bridge, hc: &http.Client{Transport: tr, Timeout: time.Minute}}, nil
}

// get fetches path and returns its body; anything but 200 is an error.
func (bc *bridgeClient) get(ctx context.Context, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, bc.base+path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := bc.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body) // read to the end, or the connection is not reused
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s: %.200s", path, resp.Status, body)
	}
	return body, nil
}

// bridgeReads measures the reads the web UI makes, through the bridge the
// engine process serves, against the same reads straight on the socket,
// interleaved so that both see the same machine: the first page of a shape
// (what the UI loads for a shape), one node, and the sidebar's shapes with
// their counts (no socket equivalent; absolute). Neither side decodes what
// it gets beyond what its transport needs: the HTTP body is read as bytes,
// the socket reply is decoded once by the client to find its id (a Call
// with no result), as in the other socket rows.
func (b *bench) bridgeReads(ctx context.Context) error {
	bc, err := newBridgeClient(ctx, b.client)
	if err != nil {
		return err
	}
	defer bc.hc.CloseIdleConnections()
	const shape = "note"

	// Warm up both sides (connections, statements, the bridge's shapes),
	// and check that the bridge serves what the socket does.
	var page struct {
		Nodes []json.RawMessage `json:"nodes"`
	}
	body, err := bc.get(ctx, "/api/nodes?shape="+shape+"&limit=50")
	if err != nil {
		return err
	}
	if err := json.Unmarshal(body, &page); err != nil || len(page.Nodes) != 50 {
		return fmt.Errorf("GET /api/nodes?shape=%s&limit=50: %d nodes (%v), want 50", shape, len(page.Nodes), err)
	}
	var sidebar struct {
		Nodes int64 `json:"nodes"`
	}
	if body, err = bc.get(ctx, "/api/shapes"); err != nil {
		return err
	}
	if err := json.Unmarshal(body, &sidebar); err != nil {
		return fmt.Errorf("GET /api/shapes: %v", err)
	}
	for i := 0; i < 50; i++ {
		if _, err := bc.get(ctx, "/api/nodes/"+url.PathEscape(b.ids[i%len(b.ids)])); err != nil {
			return err
		}
		if _, err := bc.get(ctx, "/api/shapes"); err != nil {
			return err
		}
		if err := b.client.Call(ctx, "data.read", map[string]any{"shape": shape, "limit": 50}, nil); err != nil {
			return err
		}
	}

	// 1. The first page of a shape.
	n := max(b.pings/4, 20)
	viaBridge, direct := make([]time.Duration, n), make([]time.Duration, n)
	for i := 0; i < n; i++ {
		t0 := time.Now()
		if _, err := bc.get(ctx, "/api/nodes?shape="+shape+"&limit=50"); err != nil {
			return err
		}
		viaBridge[i] = time.Since(t0)
		t0 = time.Now()
		if err := b.client.Call(ctx, "data.read", map[string]any{"shape": shape, "limit": 50}, nil); err != nil {
			return err
		}
		direct[i] = time.Since(t0)
	}
	b.bridgeRow(fmt.Sprintf("GET /api/nodes?shape=%s&limit=50 via the bridge (p50)", shape), viaBridge, direct,
		fmt.Sprintf("data.read {shape, limit: 50} on the socket, interleaved; %d %ss in the graph", len(b.ids), shape))

	// 2. One node.
	n = max(b.pings/2, 20)
	viaBridge, direct = make([]time.Duration, n), make([]time.Duration, n)
	for i := 0; i < n; i++ {
		id := b.ids[rand.IntN(len(b.ids))]
		t0 := time.Now()
		if _, err := bc.get(ctx, "/api/nodes/"+url.PathEscape(id)); err != nil {
			return err
		}
		viaBridge[i] = time.Since(t0)
		t0 = time.Now()
		if err := b.client.Call(ctx, "data.read", map[string]any{"id": id}, nil); err != nil {
			return err
		}
		direct[i] = time.Since(t0)
	}
	b.bridgeRow("GET /api/nodes/{id} via the bridge (p50)", viaBridge, direct, "data.read {id} on the socket, interleaved")

	// 3. The sidebar: every shape with its live node count.
	n = max(b.pings/100, 20)
	lat := make([]time.Duration, n)
	for i := range lat {
		t0 := time.Now()
		if _, err := bc.get(ctx, "/api/shapes"); err != nil {
			return err
		}
		lat[i] = time.Since(t0)
	}
	b.rows = append(b.rows, row{
		Path:   "GET /api/shapes via the bridge, with counts (p50)",
		Ours:   us(percentile(lat, .5)),
		Floor:  "-",
		Target: "none (absolute)",
		Note:   fmt.Sprintf("p99 %s; counts the live nodes of every shape on each request, %d nodes", us(percentile(lat, .99)), sidebar.Nodes),
	})
	return nil
}

// bridgeRow records a bridge read against the same read on the socket.
// DESIGN §12 sets no target for the bridge: the ratio is reported, not met.
func (b *bench) bridgeRow(path string, viaBridge, direct []time.Duration, floor string) {
	p50, fp50 := percentile(viaBridge, .5), percentile(direct, .5)
	b.rows = append(b.rows, row{
		Path:   path,
		Ours:   us(p50),
		Floor:  us(fp50),
		Ratio:  float64(p50) / float64(fp50),
		Target: "none (reported)",
		Note: fmt.Sprintf("adds %s at p50; p99 %s vs %s; floor: %s", us(p50-fp50),
			us(percentile(viaBridge, .99)), us(percentile(direct, .99)), floor),
	})
}

// overviewRoute times GET /api/graph (the web UI's overview: nodes by
// shape, links by shape and label) on the graph as it is after the big
// steps, against GET /healthz, the bridge's cheapest route, interleaved;
// GET /api/shapes, which counts on each request, is timed beside it.
func (b *bench) overviewRoute(ctx context.Context) error {
	bc, err := newBridgeClient(ctx, b.client)
	if err != nil {
		return err
	}
	defer bc.hc.CloseIdleConnections()
	body, err := bc.get(ctx, "/api/graph")
	if err != nil {
		return err
	}
	var ov struct {
		Nodes int64 `json:"nodes"`
	}
	if err := json.Unmarshal(body, &ov); err != nil {
		return fmt.Errorf("GET /api/graph: %v", err)
	}
	n := max(b.pings/20, 20)
	lat, floor, shapes := make([]time.Duration, n), make([]time.Duration, n), make([]time.Duration, 0, n/10+1)
	for i := 0; i < n; i++ {
		t0 := time.Now()
		if _, err := bc.get(ctx, "/api/graph"); err != nil {
			return err
		}
		lat[i] = time.Since(t0)
		t0 = time.Now()
		if _, err := bc.get(ctx, "/healthz"); err != nil {
			return err
		}
		floor[i] = time.Since(t0)
		if i%10 == 0 {
			t0 = time.Now()
			if _, err := bc.get(ctx, "/api/shapes"); err != nil {
				return err
			}
			shapes = append(shapes, time.Since(t0))
		}
	}
	b.bridgeRow(fmt.Sprintf("GET /api/graph (the overview) via the bridge, %d nodes (p50)", ov.Nodes), lat, floor,
		fmt.Sprintf("GET /healthz, interleaved; the counts are kept by the store, so this does not grow with the graph (GET /api/shapes, which counts each time: p50 %s)", us(percentile(shapes, .5))))
	return nil
}
