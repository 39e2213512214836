package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"sort"
	"time"

	"github.com/agentos/agentos/broker"
	"github.com/agentos/agentos/engine/wire"
	"github.com/agentos/agentos/graph"
)

// method is one entry of the method table.
type method struct {
	name    string
	summary string
	params  json.RawMessage // JSON Schema of params, served by system.schema
	quiet   bool            // emits no started/completed events (liveness probes)
	// inline methods run on the connection's read loop. Only for work that
	// is bounded and short (a ping, a point read by primary key): there a
	// goroutine handoff costs more than the work itself (~40 µs of a
	// 125 µs data.read {id} on the reference machine).
	// It may hand back the params it decoded to decide, which the handler
	// then uses instead of decoding them again.
	inline func(params json.RawMessage) (decoded any, ok bool)
	handle func(ctx context.Context, c *call, params json.RawMessage) (any, error)
}

func always(json.RawMessage) (any, bool) { return nil, true }

// runsInline tells whether req runs on the read loop, and keeps any params
// the decision decoded on req.
func (m *method) runsInline(req *request) bool {
	if m.inline == nil {
		return false
	}
	decoded, ok := m.inline(req.Params)
	req.decoded = decoded
	return ok
}

// isPointRead tells data.read {id} (one primary-key lookup) from a query.
// It only decides where the request runs, so a byte scan is enough: a
// misjudged request runs on the pool, which is always correct.
func isPointRead(raw json.RawMessage) bool {
	return bytes.Contains(raw, []byte(`"id"`)) && !bytes.Contains(raw, []byte(`"shape"`))
}

// readsInline tells the data.read calls that run on the read loop: a point
// read, and a where-query the store calls selective (a short page found
// through an exact text value; graph.Store.Selective). A goroutine handoff
// costs such a query more than the query itself: ~150 µs of a ~250 µs
// where-query on a 2-CPU VM, as the woken second CPU competes with the
// caller's process.
// The params it decodes to decide go on to the handler, wherever it runs.
func (s *Server) readsInline(raw json.RawMessage) (any, bool) {
	if isPointRead(raw) {
		return nil, true
	}
	if !bytes.Contains(raw, []byte(`"where"`)) {
		return nil, false
	}
	p := new(wire.ReadParams)
	if decodeParams(wire.MethodRead, raw, p) != nil || wire.Check(wire.MethodRead, p) != nil {
		return nil, false // the handler decodes again and says what is wrong
	}
	if p.ID != "" {
		return p, false
	}
	return p, s.store.Selective(graph.Query{Shape: p.Shape, Where: p.Where, Order: p.Order, Limit: p.Limit, Cursor: p.Cursor, IncludeDeleted: p.IncludeDeleted})
}

// def builds the entry of a method whose params are P: its JSON Schema and
// the bounds enforced on every call both come from P's tags (engine/wire),
// so what system.schema promises is what the engine checks.
func def[P any](name, summary string, fn func(ctx context.Context, c *call, p *P) (any, error)) *method {
	return &method{name: name, summary: summary, params: wire.Schema(new(P)),
		handle: func(ctx context.Context, c *call, raw json.RawMessage) (any, error) {
			if p, ok := c.params.(*P); ok { // decoded and checked already (runsInline)
				return fn(ctx, c, p)
			}
			p := new(P)
			if err := decodeParams(name, raw, p); err != nil {
				return nil, err
			}
			if err := wire.Check(name, p); err != nil {
				return nil, err
			}
			return fn(ctx, c, p)
		}}
}

// quietly marks m as emitting no started/completed events: liveness probes,
// and the metadata reads clients make to find their way (system.schema,
// shapes.*, skills.list/get: an MCP proxy makes them on every session and
// change), which would bury the calls that matter in the activity feed.
func (m *method) quietly() *method { m.quiet = true; return m }

// inlineWhen lets m run on the read loop for the params when says so.
func (m *method) inlineWhen(when func(json.RawMessage) (any, bool)) *method {
	m.inline = when
	return m
}

func (s *Server) methodTable() map[string]*method {
	list := []*method{
		def(wire.MethodPing, "Liveness check.", func(context.Context, *call, *wire.NoParams) (any, error) {
			return map[string]bool{"pong": true}, nil
		}).quietly().inlineWhen(always),
		def(wire.MethodHello, "Name the caller on this connection (cli, mcp:<session>, bridge); shows in events and history. Answers the engine's version and pid.", s.hello).quietly().inlineWhen(always),
		def(wire.MethodStatus, "Version, pid, uptime, paths, graph counts, skills and running jobs.", s.status),
		def(wire.MethodSchema, "Every method with the JSON Schema of its params, every shape, every capability.", s.schema).quietly(),
		def(wire.MethodCreate, "Create a node of a shape, or merge into the node with the same identity.", s.dataCreate),
		def(wire.MethodWrite, "Upsert many items of one shape in one transaction; returns their ids.", s.dataWrite),
		def(wire.MethodRead, "Read one node by id, or a page of nodes of a shape filtered by field equality.", s.dataRead).inlineWhen(s.readsInline),
		def(wire.MethodUpdate, "Merge fields into a node; null removes a field.", s.dataUpdate),
		def(wire.MethodDelete, "Soft-delete a node (data.restore undoes it).", s.dataDelete),
		def(wire.MethodRestore, "Undo a soft delete.", s.dataRestore),
		def(wire.MethodLink, "Add an edge from -label-> to (at most one live edge per triple).", s.dataLink),
		def(wire.MethodUnlink, "Remove the edge from -label-> to.", s.dataUnlink),
		def(wire.MethodSearch, "Full-text search over text fields, with snippets.", s.dataSearch),
		def(wire.MethodNeighbors, "Nodes and edges around a node.", s.dataNeighbors),
		def(wire.MethodNodeHistory, "Change records of a node, oldest first.", s.dataHistory),
		def(wire.MethodShapesList, "All loaded shapes.", s.shapesList).inlineWhen(always).quietly(),
		def(wire.MethodShapesGet, "One shape by name.", s.shapesGet).inlineWhen(always).quietly(),
		def(wire.MethodSkillsList, "Installed skills with their tools, provided capabilities and permissions; invalid ones with the reason.", s.skillsList).quietly(),
		def(wire.MethodSkillsGet, "One skill in full, with its SKILL.md guide.", s.skillsGet).quietly(),
		def(wire.MethodSkillsReload, "Discover skills again now (edits are also picked up within a couple of seconds).", s.skillsReload),
		def(wire.MethodSkillsRun, "Run one tool of one skill in a fresh process and return its result.", s.skillsRun),
		def(wire.MethodCapList, "Capabilities with their providers ranked, and the reason for the ranking.", s.capabilitiesList),
		def(wire.MethodInvoke, "Invoke a capability on the best provider (or the one named); async returns a job id at once.", s.capabilitiesInvoke),
		def(wire.MethodPrefer, "Pin the provider of a capability (persisted in config.yaml); an empty skill clears the pin.", s.capabilitiesPrefer),
		def(wire.MethodJobsList, "Running jobs and the most recent finished ones, newest first.", s.jobsList),
		def(wire.MethodJobsGet, "One job: provider, reason, attempts, progress, result or error.", s.jobsGet),
		def(wire.MethodJobsRespond, "Answer a job.input event (a skill's elicitation or sampling request), on the connection that started the job.", s.jobsRespond),
		def(wire.MethodJobsCancel, "Cancel a running job: its process tree is killed, nested calls included.", s.jobsCancel),
		def(wire.MethodEventHistory, "Remembered observer events after since, oldest first, with how many the ring no longer holds.", s.history).quietly(),
		def(wire.MethodMetrics, "Call counts and latency histograms by method and capability, skill processes running, graph counts.", s.metrics).quietly(),
		def(wire.MethodSubscribe, "Stream observer.event notifications on this connection, replaying events after since.", s.subscribe),
		def(wire.MethodAgentsList, "Agents (agents/*.md of the home and of skills) with their tools and missions; files that do not load with the reason.", s.agentsList).quietly(),
		def(wire.MethodAgentsGet, "One agent in full, with its system prompt.", s.agentsGet).quietly(),
		def(wire.MethodAgentsEnable, "Run an agent's mission on its schedule from now on (persisted in config.yaml).", s.agentsEnable(true)),
		def(wire.MethodAgentsDisable, "Stop running an agent's mission.", s.agentsEnable(false)),
	}
	list = append(list, s.methodsSecrets()...)
	out := make(map[string]*method, len(list))
	for _, m := range list {
		out[m.name] = m
	}
	return out
}

func (s *Server) hello(_ context.Context, c *call, p *wire.HelloParams) (any, error) {
	caller := p.Client
	if p.Session != "" {
		caller += ":" + p.Session
	}
	c.conn.mu.Lock()
	c.conn.caller = caller
	c.conn.quiet = p.Quiet
	c.conn.mu.Unlock()
	return &wire.Hello{Caller: caller, Version: s.opts.Version, PID: os.Getpid()}, nil
}

func (s *Server) status(ctx context.Context, _ *call, _ *wire.NoParams) (any, error) {
	counts, err := s.store.Counts(ctx)
	if err != nil {
		return nil, err
	}
	return &wire.Status{
		Version:     s.opts.Version,
		PID:         os.Getpid(),
		StartedAt:   s.started.UTC(),
		UptimeSec:   time.Since(s.started).Seconds(),
		Home:        s.opts.Home,
		DBPath:      s.store.Path(),
		Socket:      s.opts.Socket,
		Nodes:       counts.Nodes,
		Edges:       counts.Edges,
		ByShape:     counts.ByShape,
		Shapes:      len(s.shapes.load().List()),
		Skills:      s.skillIDs(),
		JobsRunning: s.jobs.running(),
		LastEventID: s.bus.LastID(),
		Bridge:      s.opts.Bridge,
		BridgeError: s.opts.BridgeError,
		ShapeErrors: s.shapes.errors(),
		Sandbox:     s.skills.sandbox(),
		Replica:     s.repl.status(),
	}, nil
}

func (s *Server) schema(ctx context.Context, _ *call, _ *wire.NoParams) (any, error) {
	methods := make([]wire.MethodInfo, 0, len(s.methods))
	for _, m := range s.methods {
		methods = append(methods, wire.MethodInfo{Name: m.name, Summary: m.summary, Params: m.params})
	}
	sort.Slice(methods, func(i, j int) bool { return methods[i].Name < methods[j].Name })
	return map[string]any{
		"version":      s.opts.Version,
		"methods":      methods,
		"shapes":       s.shapes.load().List(),
		"capabilities": s.resolver.Capabilities(ctx),
	}, nil
}

func (s *Server) dataCreate(ctx context.Context, _ *call, p *wire.CreateParams) (any, error) {
	return s.store.Create(ctx, p.Shape, p.Fields, p.Relations)
}

func (s *Server) dataWrite(ctx context.Context, _ *call, p *wire.WriteParams) (any, error) {
	if !p.Partial {
		return s.store.Write(ctx, p.Shape, p.Items)
	}
	res, failed, err := s.store.WriteEach(ctx, p.Shape, p.Items)
	if err != nil {
		return nil, err
	}
	out := &wire.WriteResult{IDs: res.IDs, Created: res.Created, Updated: res.Updated}
	for _, w := range res.Warnings {
		out.Warnings = append(out.Warnings, wire.ItemWarning{Index: w.Index, Warnings: w.Warnings})
	}
	for _, f := range failed {
		e := AsError(f.Err)
		out.Errors = append(out.Errors, wire.ItemError{Index: f.Index, Kind: e.Kind, Message: e.Message})
	}
	return out, nil
}

func (s *Server) dataRead(ctx context.Context, _ *call, p *wire.ReadParams) (any, error) {
	switch {
	case p.ID != "" && p.Shape != "":
		return nil, wire.Errorf(wire.KindInvalid, "data.read: give either id (one node) or shape (a page), not both")
	case p.ID != "" && (p.Where != nil || p.Order != "" || p.Limit != 0 || p.Cursor != "" || p.IncludeDeleted):
		return nil, wire.Errorf(wire.KindInvalid, "data.read: where, order, limit, cursor and include_deleted go with shape, not id")
	// The JSON forms: the answer is written from the rows, not decoded
	// into a Node and encoded again (graph/wirejson.go).
	case p.ID != "":
		return asStoreJSON(s.store.GetJSON(ctx, p.ID))
	case p.Shape != "":
		return asStoreJSON(s.store.QueryJSON(ctx, graph.Query{Shape: p.Shape, Where: p.Where, Order: p.Order,
			Limit: p.Limit, Cursor: p.Cursor, IncludeDeleted: p.IncludeDeleted}))
	}
	return nil, wire.Errorf(wire.KindInvalid, "data.read: param \"id\" or \"shape\" is required")
}

func asStoreJSON(b json.RawMessage, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	return storeJSON(b), nil
}

func (s *Server) dataUpdate(ctx context.Context, _ *call, p *wire.UpdateParams) (any, error) {
	return s.store.Update(ctx, p.ID, p.Fields)
}

func (s *Server) dataDelete(ctx context.Context, _ *call, p *wire.IDParams) (any, error) {
	return s.store.Delete(ctx, p.ID)
}

func (s *Server) dataRestore(ctx context.Context, _ *call, p *wire.IDParams) (any, error) {
	return s.store.Restore(ctx, p.ID)
}

func (s *Server) dataHistory(ctx context.Context, _ *call, p *wire.IDParams) (any, error) {
	changes, err := s.store.History(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	return map[string]any{"id": p.ID, "changes": changes}, nil
}

func (s *Server) dataLink(ctx context.Context, _ *call, p *wire.LinkParams) (any, error) {
	return s.store.Link(ctx, p.From, p.Label, p.To)
}

func (s *Server) dataUnlink(ctx context.Context, _ *call, p *wire.LinkParams) (any, error) {
	if err := s.store.Unlink(ctx, p.From, p.Label, p.To); err != nil {
		return nil, err
	}
	return map[string]bool{"ok": true}, nil
}

func (s *Server) dataSearch(ctx context.Context, _ *call, p *wire.SearchParams) (any, error) {
	hits, err := s.store.Search(ctx, p.Query, p.Shape, p.Limit)
	if err != nil {
		return nil, err
	}
	if hits == nil {
		hits = []graph.Hit{}
	}
	return map[string]any{"hits": hits}, nil
}

func (s *Server) dataNeighbors(ctx context.Context, _ *call, p *wire.NeighborsParams) (any, error) {
	return s.store.Neighbors(ctx, p.ID, p.Label, p.Direction, p.Depth)
}

func (s *Server) shapesList(context.Context, *call, *wire.NoParams) (any, error) {
	out := map[string]any{"shapes": s.shapes.load().List()}
	if errs := s.shapes.errors(); len(errs) > 0 {
		out["errors"] = errs
	}
	return out, nil
}

func (s *Server) shapesGet(_ context.Context, _ *call, p *wire.ShapeGetParams) (any, error) {
	sh, ok := s.shapes.load().Get(p.Name)
	if !ok {
		return nil, wire.Errorf(wire.KindNotFound, "no shape named %q; `agentos shapes list` shows the loaded ones", p.Name)
	}
	return sh, nil
}

func (s *Server) history(_ context.Context, _ *call, p *wire.EventHistoryParams) (any, error) {
	since := int64(0)
	if p.Since != nil {
		since = *p.Since
	}
	limit := p.Limit
	if limit == 0 {
		limit = 200
	}
	events, missed := s.bus.History(since)
	if len(events) > limit {
		missed += int64(len(events) - limit)
		events = events[len(events)-limit:]
	}
	if events == nil {
		events = []wire.Event{}
	}
	return &wire.History{Events: events, Missed: missed, LastID: s.bus.LastID()}, nil
}

// subscribe answers with the current last event id, then streams
// observer.event notifications until the connection closes.
func (s *Server) subscribe(_ context.Context, c *call, p *wire.SubscribeParams) (any, error) {
	since := int64(-1)
	if p.Since != nil {
		since = *p.Since
	}
	sub, lastID := s.bus.SubscribeTypes(since, 1024, p.Types)
	c.conn.mu.Lock()
	c.conn.subs = append(c.conn.subs, sub)
	c.conn.mu.Unlock()
	c.afterReply = func() {
		go func() {
			defer sub.Close()
			for {
				ev, ok := sub.Next(c.conn.done)
				if !ok {
					return
				}
				if err := c.conn.notify(wire.NotificationEvent, ev); err != nil {
					return
				}
			}
		}()
	}
	return map[string]any{"subscribed": true, "last_id": lastID}, nil
}

// skillSummary is a skill in skills.list: everything but the guide.
// Its permissions are the effective ones (allowed-tools, the user's grants
// and the hosts of URLs in its settings), each with where it came from.
type skillSummary struct {
	*broker.Skill
	Guide             string                    `json:"guide,omitempty"`
	Capabilities      []string                  `json:"capabilities"`
	PermissionSources []broker.PermissionSource `json:"permission_sources"`
}

func (s *Server) summarize(sk *broker.Skill, withGuide bool) skillSummary {
	out := skillSummary{Skill: sk, Capabilities: []string{}, PermissionSources: s.skills.effectiveOf(sk).Sources}
	if out.PermissionSources == nil {
		out.PermissionSources = []broker.PermissionSource{}
	}
	if withGuide {
		out.Guide = sk.Guide
	}
	seen := map[string]bool{}
	for _, t := range sk.Tools {
		for _, p := range t.Provides {
			if !seen[p.Capability] {
				seen[p.Capability] = true
				out.Capabilities = append(out.Capabilities, p.Capability)
			}
		}
	}
	sort.Strings(out.Capabilities)
	return out
}

func (s *Server) skillsList(context.Context, *call, *wire.NoParams) (any, error) {
	skills := s.skills.list()
	out := make([]skillSummary, len(skills))
	for i, sk := range skills {
		out[i] = s.summarize(sk, false)
	}
	return map[string]any{"skills": out}, nil
}

func (s *Server) skillsGet(_ context.Context, _ *call, p *wire.SkillGetParams) (any, error) {
	sk, err := s.skills.get(p.ID)
	if err != nil {
		return nil, err
	}
	return s.summarize(sk, true), nil
}

func (s *Server) skillsReload(ctx context.Context, _ *call, _ *wire.NoParams) (any, error) {
	s.skills.reload(ctx, true)
	return s.skillsList(ctx, nil, nil)
}

func (s *Server) skillsRun(ctx context.Context, c *call, p *wire.SkillRunParams) (any, error) {
	sk, t, err := s.skills.resolveTool(p.Skill, p.Tool)
	if err != nil {
		return nil, err
	}
	return s.runJobReplying(ctx, c, func(j *Job) (any, error) {
		s.jobs.set(j, func(j *Job) { j.Skill, j.Tool, j.Reason = sk.ID, t.Name, "asked for by skills.run" })
		return s.runTool(j.ctx, j, sk, t, objectOrEmpty(p.Params))
	})
}

func (s *Server) skillIDs() []string {
	skills := s.skills.list()
	ids := make([]string, len(skills))
	for i, sk := range skills {
		ids[i] = sk.ID
	}
	return ids
}

func (s *Server) capabilitiesList(ctx context.Context, _ *call, _ *wire.NoParams) (any, error) {
	return map[string]any{"capabilities": s.resolver.Capabilities(ctx)}, nil
}

func (s *Server) capabilitiesInvoke(ctx context.Context, c *call, p *wire.InvokeParams) (any, error) {
	if _, err := s.resolver.Rank(ctx, p.Capability, p.Provider); err != nil {
		return nil, err // no provider: say so now, not inside a job
	}
	work := func(j *Job) (any, error) {
		s.jobs.set(j, func(j *Job) {
			j.Capability = p.Capability
			if len(p.ClientFeatures) > 0 && c.conn != nil {
				j.asker = newAsker(c.conn, j.ID, p.ClientFeatures)
			}
		})
		return s.invoke(j.ctx, j, p.Capability, p.Provider, objectOrEmpty(p.Params))
	}
	if !p.Async {
		return s.runJobReplying(ctx, c, work)
	}
	// An async job outlives the request and its connection: jobs.cancel
	// ends it, and so does engine shutdown.
	j := s.jobs.start(context.WithoutCancel(ctx), c.caller)
	go s.completeJob(j, work)
	return map[string]string{"job": j.ID}, nil
}

func (s *Server) capabilitiesPrefer(ctx context.Context, _ *call, p *wire.PreferParams) (any, error) {
	if p.Skill != "" {
		if _, err := s.resolver.Rank(ctx, p.Capability, p.Skill); err != nil {
			return nil, err
		}
	}
	s.cfgMu.Lock()
	defer s.cfgMu.Unlock()
	if err := SavePin(s.cfgPath, p.Capability, p.Skill); err != nil {
		return nil, err
	}
	if s.fileCfg.Capabilities == nil {
		s.fileCfg.Capabilities = map[string]broker.Policy{}
	}
	cc := s.fileCfg.Capabilities[p.Capability]
	cc.Pin = p.Skill
	s.fileCfg.Capabilities[p.Capability] = cc
	return map[string]string{"capability": p.Capability, "pin": p.Skill}, nil
}

func (s *Server) jobsList(context.Context, *call, *wire.NoParams) (any, error) {
	jobs := s.jobs.list()
	out := make([]wire.Job, len(jobs))
	for i, j := range jobs {
		out[i] = s.jobs.snapshot(j, false)
	}
	return map[string]any{"jobs": out}, nil
}

func (s *Server) jobsGet(_ context.Context, _ *call, p *wire.IDParams) (any, error) {
	j, err := s.jobs.get(p.ID)
	if err != nil {
		return nil, err
	}
	return s.jobs.snapshot(j, true), nil
}

func (s *Server) jobsCancel(ctx context.Context, _ *call, p *wire.IDParams) (any, error) {
	j, err := s.jobs.get(p.ID)
	if err != nil {
		return nil, err
	}
	j.cancel()
	select {
	case <-j.done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return s.jobs.snapshot(j, false), nil
}
