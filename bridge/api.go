package bridge

import (
	"context"
	"encoding/json"
	"net/http"
	"os/user"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/agentos/agentos/broker"
	"github.com/agentos/agentos/engine"
	"github.com/agentos/agentos/engine/wire"
	"github.com/agentos/agentos/graph"
	"github.com/agentos/agentos/shapes"
)

// routes is the whole route table (DESIGN §9 plus /api/nodes/{id}/history
// for the web UI). Every handler but the SSE stream and /api/call (which
// has its own, longer, bound) works under a requestTimeout deadline.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	bounded := func(pattern string, fn http.HandlerFunc) {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
			defer cancel()
			fn(w, r.WithContext(ctx))
		})
	}
	bounded("GET /healthz", s.healthz)
	bounded("GET /api/shapes", s.listShapes)
	bounded("GET /api/shapes/{name}", s.getShape)
	bounded("GET /api/nodes", s.queryNodes)
	bounded("GET /api/nodes/{id}", s.getNode)
	bounded("GET /api/nodes/{id}/neighbors", s.neighbors)
	bounded("GET /api/nodes/{id}/history", s.history)
	bounded("GET /api/graph", s.overview)
	bounded("GET /api/search", s.search)
	bounded("GET /api/skills", s.forward("skills.list"))
	bounded("GET /api/capabilities", s.forward("capabilities.list"))
	bounded("GET /api/user", s.user)
	mux.HandleFunc("POST /api/call", s.call)
	bounded("GET /observer/history", s.observerHistory)
	mux.HandleFunc("GET /observer/stream", s.observerStream)
	bounded("GET /metrics", s.metrics)
	bounded("GET /sdk.js", s.sdk)
	mux.Handle("/", s.ui())
	return s.guard(mux)
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 500*time.Millisecond)
	defer cancel()
	_, err := s.engine.call(ctx, "system.ping", nil)
	writeJSON(w, http.StatusOK, map[string]any{
		"ok": true, "version": s.opts.Version, "engine": err == nil,
		"uptime_sec": time.Since(s.started).Seconds(),
	})
}

// registry is the shape set reads are typed by: the engine's, refreshed
// every couple of seconds while it runs.
func (s *Server) registry(ctx context.Context) *shapes.Registry {
	s.engine.refreshShapes(ctx)
	return s.store.Shapes()
}

// ShapeInfo is a shape with its live node count.
type ShapeInfo struct {
	*shapes.Shape
	Count int64 `json:"count"`
}

func (s *Server) listShapes(w http.ResponseWriter, r *http.Request) {
	reg := s.registry(r.Context())
	counts, err := s.store.Counts(r.Context())
	if err != nil {
		writeErr(w, err)
		return
	}
	list := reg.List()
	out := make([]ShapeInfo, len(list))
	for i, sh := range list {
		out[i] = ShapeInfo{Shape: sh, Count: counts.ByShape[sh.Name]}
	}
	writeJSON(w, http.StatusOK, map[string]any{"shapes": out, "nodes": counts.Nodes, "edges": counts.Edges})
}

// overview: GET /api/graph, the graph at a glance: live nodes by primary
// shape and the labels that connect shapes, with counts. Both are kept by
// the store as it changes, so this reads a few rows at any size.
func (s *Server) overview(w http.ResponseWriter, r *http.Request) {
	byShape, err := s.store.PrimaryShapeCounts(r.Context())
	if err != nil {
		writeErr(w, err)
		return
	}
	links, err := s.store.LinkCounts(r.Context())
	if err != nil {
		writeErr(w, err)
		return
	}
	type shapeCount struct {
		Name  string `json:"name"`
		Count int64  `json:"count"`
	}
	shapes := make([]shapeCount, 0, len(byShape))
	var nodes, edges int64
	for name, n := range byShape {
		shapes = append(shapes, shapeCount{name, n})
		nodes += n
	}
	sort.Slice(shapes, func(i, j int) bool {
		if shapes[i].Count != shapes[j].Count {
			return shapes[i].Count > shapes[j].Count
		}
		return shapes[i].Name < shapes[j].Name
	})
	for _, l := range links {
		edges += l.Count
	}
	writeJSON(w, http.StatusOK, map[string]any{"shapes": shapes, "links": links, "nodes": nodes, "edges": edges})
}

func (s *Server) getShape(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	sh, ok := s.registry(r.Context()).Get(name)
	if !ok {
		writeError(w, http.StatusNotFound, string(wire.KindNotFound), "no shape named "+quote(name)+"; GET /api/shapes lists them")
		return
	}
	counts, err := s.store.Counts(r.Context())
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, ShapeInfo{Shape: sh, Count: counts.ByShape[name]})
}

// queryNodes: GET /api/nodes?shape=task&where={"status":"open"}&order=-created_at&limit=50&cursor=...
func (s *Server) queryNodes(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	query := graph.Query{Shape: q.Get("shape"), Order: q.Get("order"), Cursor: q.Get("cursor"), OmitEdges: true}
	if query.Shape == "" {
		writeError(w, http.StatusBadRequest, string(wire.KindInvalid), "query parameter shape is required, e.g. /api/nodes?shape=note")
		return
	}
	if raw := q.Get("where"); raw != "" {
		if err := json.Unmarshal([]byte(raw), &query.Where); err != nil {
			writeError(w, http.StatusBadRequest, string(wire.KindInvalid), `query parameter where must be a JSON object such as {"status":"open"}: `+err.Error())
			return
		}
	}
	var ok bool
	if query.Limit, ok = intParam(w, q.Get("limit"), "limit"); !ok {
		return
	}
	query.IncludeDeleted = q.Get("include_deleted") == "true" || q.Get("include_deleted") == "1"
	s.registry(r.Context())
	page, err := s.store.Query(r.Context(), query)
	if err != nil {
		writeErr(w, err)
		return
	}
	if page.Nodes == nil {
		page.Nodes = []*graph.Node{}
	}
	writeJSON(w, http.StatusOK, page)
}

// intParam parses an optional integer query parameter; 0 when absent.
func intParam(w http.ResponseWriter, raw, name string) (int, bool) {
	if raw == "" {
		return 0, true
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 0 {
		writeError(w, http.StatusBadRequest, string(wire.KindInvalid), "query parameter "+name+" must be a non-negative integer, not "+quote(raw))
		return 0, false
	}
	return n, true
}

func (s *Server) getNode(w http.ResponseWriter, r *http.Request) {
	n, err := s.store.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, n)
}

func (s *Server) neighbors(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	dir := q.Get("direction")
	switch dir {
	case "", "in", "out", "both":
	default:
		writeError(w, http.StatusBadRequest, string(wire.KindInvalid), "direction must be in, out or both, not "+quote(dir))
		return
	}
	depth, ok := intParam(w, q.Get("depth"), "depth")
	if !ok {
		return
	}
	nb, err := s.store.Neighbors(r.Context(), r.PathValue("id"), q.Get("label"), dir, depth)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, nb)
}

func (s *Server) history(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	changes, err := s.store.History(r.Context(), id)
	if err != nil {
		writeErr(w, err)
		return
	}
	if changes == nil {
		changes = []graph.Change{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": id, "changes": changes})
}

// search: GET /api/search?q=words&shape=note&limit=20
func (s *Server) search(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	text := strings.TrimSpace(q.Get("q"))
	if text == "" {
		writeError(w, http.StatusBadRequest, string(wire.KindInvalid), "query parameter q is required, e.g. /api/search?q=invoice")
		return
	}
	limit, ok := intParam(w, q.Get("limit"), "limit")
	if !ok {
		return
	}
	s.registry(r.Context())
	hits, err := s.store.Search(r.Context(), text, q.Get("shape"), limit)
	if err != nil {
		writeErr(w, err)
		return
	}
	if hits == nil {
		hits = []graph.Hit{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"hits": hits})
}

// forward answers a GET with a parameterless engine method's result.
func (s *Server) forward(method string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		raw, err := s.engine.call(r.Context(), method, nil)
		if err != nil {
			writeErr(w, err)
			return
		}
		writeRaw(w, raw)
	}
}

// UserInfo is GET /api/user: who the graph belongs to and how they set
// agentos up. Profile is the person node config.yaml's user.node names.
type UserInfo struct {
	Name         string                   `json:"name"`
	Username     string                   `json:"username"`
	Home         string                   `json:"home"`
	Profile      *graph.Node              `json:"profile,omitempty"`
	Capabilities map[string]broker.Policy `json:"capabilities"`
	Bridge       map[string]any           `json:"bridge"`
}

func (s *Server) user(w http.ResponseWriter, r *http.Request) {
	cfg, err := engine.LoadConfig(wire.PathsFor(s.opts.Home).Config)
	if err != nil {
		writeError(w, http.StatusInternalServerError, string(wire.KindInvalid), err.Error())
		return
	}
	info := UserInfo{Home: s.opts.Home, Capabilities: cfg.Capabilities, Name: cfg.User.Name,
		Bridge: map[string]any{"origins": nonNil(s.opts.AllowedOrigins), "hosts": nonNil(s.opts.AllowedHosts)}}
	if info.Capabilities == nil {
		info.Capabilities = map[string]broker.Policy{}
	}
	if u, err := user.Current(); err == nil {
		info.Username = u.Username
		if info.Name == "" {
			info.Name = u.Name
		}
	}
	if info.Name == "" {
		info.Name = info.Username
	}
	if cfg.User.Node != "" {
		if n, err := s.store.Get(r.Context(), cfg.User.Node); err == nil {
			info.Profile = n
		}
	}
	writeJSON(w, http.StatusOK, info)
}

func nonNil(list []string) []string {
	if list == nil {
		return []string{}
	}
	return list
}
