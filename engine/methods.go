package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"sort"
	"time"

	"github.com/agentos/agentos/engine/wire"

	"github.com/agentos/agentos/broker"
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
	inline func(params json.RawMessage) bool
	handle func(ctx context.Context, c *call, params json.RawMessage) (any, error)
}

func always(json.RawMessage) bool { return true }

func (m *method) runsInline(params json.RawMessage) bool {
	return m.inline != nil && m.inline(params)
}

// isPointRead tells data.read {id} (one primary-key lookup) from a query.
// It only decides where the request runs, so a byte scan is enough: a
// misjudged request runs on the pool, which is always correct.
func isPointRead(raw json.RawMessage) bool {
	return bytes.Contains(raw, []byte(`"id"`)) && !bytes.Contains(raw, []byte(`"shape"`))
}

// typed adapts a handler on a params struct into a method handler.
func typed[P any](name string, fn func(ctx context.Context, c *call, p *P) (any, error)) func(context.Context, *call, json.RawMessage) (any, error) {
	return func(ctx context.Context, c *call, raw json.RawMessage) (any, error) {
		p := new(P)
		if err := decodeParams(name, raw, p); err != nil {
			return nil, err
		}
		return fn(ctx, c, p)
	}
}

func (s *Server) methodTable() map[string]*method {
	list := []*method{
		{name: "system.ping", summary: "Liveness check.", params: schemaEmpty, quiet: true, inline: always,
			handle: typed("system.ping", func(context.Context, *call, *struct{}) (any, error) {
				return map[string]bool{"pong": true}, nil
			})},
		{name: "system.hello", summary: "Name the caller on this connection (cli, mcp:<session>, bridge); shows in events and history. Answers the engine's version and pid.", params: schemaHello, quiet: true, inline: always,
			handle: typed("system.hello", s.hello)},
		{name: "system.status", summary: "Version, pid, uptime, paths, graph counts, skills and running jobs.", params: schemaEmpty,
			handle: typed("system.status", s.status)},
		{name: "system.schema", summary: "Every method with the JSON Schema of its params, every shape, every capability.", params: schemaEmpty,
			handle: typed("system.schema", s.schema)},
		{name: "data.create", summary: "Create a node of a shape, or merge into the node with the same identity.", params: schemaCreate,
			handle: typed("data.create", s.dataCreate)},
		{name: "data.write", summary: "Upsert many items of one shape in one transaction; returns their ids.", params: schemaWrite,
			handle: typed("data.write", s.dataWrite)},
		{name: "data.read", summary: "Read one node by id, or a page of nodes of a shape filtered by field equality.", params: schemaRead, inline: isPointRead,
			handle: typed("data.read", s.dataRead)},
		{name: "data.update", summary: "Merge fields into a node; null removes a field.", params: schemaUpdate,
			handle: typed("data.update", s.dataUpdate)},
		{name: "data.delete", summary: "Soft-delete a node (data.restore undoes it).", params: schemaID,
			handle: typed("data.delete", s.dataDelete)},
		{name: "data.restore", summary: "Undo a soft delete.", params: schemaID,
			handle: typed("data.restore", s.dataRestore)},
		{name: "data.link", summary: "Add an edge from -label-> to (at most one live edge per triple).", params: schemaLink,
			handle: typed("data.link", s.dataLink)},
		{name: "data.unlink", summary: "Remove the edge from -label-> to.", params: schemaLink,
			handle: typed("data.unlink", s.dataUnlink)},
		{name: "data.search", summary: "Full-text search over text fields, with snippets.", params: schemaSearch,
			handle: typed("data.search", s.dataSearch)},
		{name: "data.neighbors", summary: "Nodes and edges around a node.", params: schemaNeighbors,
			handle: typed("data.neighbors", s.dataNeighbors)},
		{name: "data.history", summary: "Change records of a node, oldest first.", params: schemaID,
			handle: typed("data.history", s.dataHistory)},
		{name: "shapes.list", summary: "All loaded shapes.", params: schemaEmpty, inline: always,
			handle: typed("shapes.list", s.shapesList)},
		{name: "shapes.get", summary: "One shape by name.", params: schemaShapeGet, inline: always,
			handle: typed("shapes.get", s.shapesGet)},
		{name: "skills.list", summary: "Installed skills with their tools, provided capabilities and permissions; invalid ones with the reason.", params: schemaEmpty,
			handle: typed("skills.list", s.skillsList)},
		{name: "skills.get", summary: "One skill in full, with its SKILL.md guide.", params: schemaSkillGet,
			handle: typed("skills.get", s.skillsGet)},
		{name: "skills.reload", summary: "Discover skills again now (edits are also picked up within a couple of seconds).", params: schemaEmpty,
			handle: typed("skills.reload", s.skillsReload)},
		{name: "skills.run", summary: "Run one tool of one skill in a fresh process and return its result.", params: schemaSkillRun,
			handle: typed("skills.run", s.skillsRun)},
		{name: "capabilities.list", summary: "Capabilities with their providers ranked, and the reason for the ranking.", params: schemaEmpty,
			handle: typed("capabilities.list", s.capabilitiesList)},
		{name: "capabilities.invoke", summary: "Invoke a capability on the best provider (or the one named); async returns a job id at once.", params: schemaInvoke,
			handle: typed("capabilities.invoke", s.capabilitiesInvoke)},
		{name: "capabilities.prefer", summary: "Pin the provider of a capability (persisted in config.yaml); an empty skill clears the pin.", params: schemaPrefer,
			handle: typed("capabilities.prefer", s.capabilitiesPrefer)},
		{name: "jobs.list", summary: "Running jobs and the most recent finished ones, newest first.", params: schemaEmpty,
			handle: typed("jobs.list", s.jobsList)},
		{name: "jobs.get", summary: "One job: provider, reason, attempts, progress, result or error.", params: schemaID,
			handle: typed("jobs.get", s.jobsGet)},
		{name: "jobs.cancel", summary: "Cancel a running job: its process tree is killed, nested calls included.", params: schemaID,
			handle: typed("jobs.cancel", s.jobsCancel)},
		{name: "observer.history", summary: "Remembered observer events after since, oldest first, with how many the ring no longer holds.", params: schemaHistory, quiet: true,
			handle: typed("observer.history", s.history)},
		{name: "system.metrics", summary: "Call counts and latency histograms by method and capability, skill processes running, graph counts.", params: schemaEmpty, quiet: true,
			handle: typed("system.metrics", s.metrics)},
		{name: "observer.subscribe", summary: "Stream observer.event notifications on this connection, replaying events after since.", params: schemaSubscribe,
			handle: typed("observer.subscribe", s.subscribe)},
	}
	list = append(list, s.methodsSecrets()...)
	out := make(map[string]*method, len(list))
	for _, m := range list {
		out[m.name] = m
	}
	return out
}

type helloParams struct {
	Client  string `json:"client"`
	Session string `json:"session,omitempty"`
	Quiet   bool   `json:"quiet,omitempty"`
}

func (s *Server) hello(_ context.Context, c *call, p *helloParams) (any, error) {
	if err := required("system.hello", "client", p.Client); err != nil {
		return nil, err
	}
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

func (s *Server) status(ctx context.Context, _ *call, _ *struct{}) (any, error) {
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
		Shapes:      len(s.shapes.Load().List()),
		Skills:      s.skillIDs(),
		JobsRunning: s.jobs.running(),
		LastEventID: s.bus.LastID(),
		Bridge:      s.opts.Bridge,
	}, nil
}

func (s *Server) schema(ctx context.Context, _ *call, _ *struct{}) (any, error) {
	methods := make([]wire.MethodInfo, 0, len(s.methods))
	for _, m := range s.methods {
		methods = append(methods, wire.MethodInfo{Name: m.name, Summary: m.summary, Params: m.params})
	}
	sort.Slice(methods, func(i, j int) bool { return methods[i].Name < methods[j].Name })
	return map[string]any{
		"version":      s.opts.Version,
		"methods":      methods,
		"shapes":       s.shapes.Load().List(),
		"capabilities": s.describeCapabilities(ctx),
	}, nil
}

type createParams struct {
	Shape     string         `json:"shape"`
	Fields    map[string]any `json:"fields"`
	Relations map[string]any `json:"relations,omitempty"`
}

func (s *Server) dataCreate(ctx context.Context, _ *call, p *createParams) (any, error) {
	if err := required("data.create", "shape", p.Shape); err != nil {
		return nil, err
	}
	return s.store.Create(ctx, p.Shape, p.Fields, p.Relations)
}

type writeParams struct {
	Shape string           `json:"shape"`
	Items []map[string]any `json:"items"`
}

func (s *Server) dataWrite(ctx context.Context, _ *call, p *writeParams) (any, error) {
	if err := required("data.write", "shape", p.Shape); err != nil {
		return nil, err
	}
	return s.store.Write(ctx, p.Shape, p.Items)
}

type readParams struct {
	ID             string         `json:"id,omitempty"`
	Shape          string         `json:"shape,omitempty"`
	Where          map[string]any `json:"where,omitempty"`
	Order          string         `json:"order,omitempty"`
	Limit          int            `json:"limit,omitempty"`
	Cursor         string         `json:"cursor,omitempty"`
	IncludeDeleted bool           `json:"include_deleted,omitempty"`
}

func (s *Server) dataRead(ctx context.Context, _ *call, p *readParams) (any, error) {
	switch {
	case p.ID != "" && p.Shape != "":
		return nil, wire.Errorf(wire.KindInvalid, "data.read: give either id (one node) or shape (a page), not both")
	case p.ID != "" && (p.Where != nil || p.Order != "" || p.Limit != 0 || p.Cursor != "" || p.IncludeDeleted):
		return nil, wire.Errorf(wire.KindInvalid, "data.read: where, order, limit, cursor and include_deleted go with shape, not id")
	case p.ID != "":
		return s.store.Get(ctx, p.ID)
	case p.Shape != "":
		return s.store.Query(ctx, graph.Query{Shape: p.Shape, Where: p.Where, Order: p.Order,
			Limit: p.Limit, Cursor: p.Cursor, IncludeDeleted: p.IncludeDeleted})
	}
	return nil, wire.Errorf(wire.KindInvalid, "data.read: param \"id\" or \"shape\" is required")
}

type updateParams struct {
	ID     string         `json:"id"`
	Fields map[string]any `json:"fields"`
}

func (s *Server) dataUpdate(ctx context.Context, _ *call, p *updateParams) (any, error) {
	if err := required("data.update", "id", p.ID); err != nil {
		return nil, err
	}
	return s.store.Update(ctx, p.ID, p.Fields)
}

type idParams struct {
	ID string `json:"id"`
}

func (s *Server) dataDelete(ctx context.Context, _ *call, p *idParams) (any, error) {
	if err := required("data.delete", "id", p.ID); err != nil {
		return nil, err
	}
	return s.store.Delete(ctx, p.ID)
}

func (s *Server) dataRestore(ctx context.Context, _ *call, p *idParams) (any, error) {
	if err := required("data.restore", "id", p.ID); err != nil {
		return nil, err
	}
	return s.store.Restore(ctx, p.ID)
}

func (s *Server) dataHistory(ctx context.Context, _ *call, p *idParams) (any, error) {
	if err := required("data.history", "id", p.ID); err != nil {
		return nil, err
	}
	changes, err := s.store.History(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	return map[string]any{"id": p.ID, "changes": changes}, nil
}

type linkParams struct {
	From  string `json:"from"`
	Label string `json:"label"`
	To    string `json:"to"`
}

func (p *linkParams) check(method string) error {
	for _, f := range [][2]string{{"from", p.From}, {"label", p.Label}, {"to", p.To}} {
		if err := required(method, f[0], f[1]); err != nil {
			return err
		}
	}
	return nil
}

func (s *Server) dataLink(ctx context.Context, _ *call, p *linkParams) (any, error) {
	if err := p.check("data.link"); err != nil {
		return nil, err
	}
	return s.store.Link(ctx, p.From, p.Label, p.To)
}

func (s *Server) dataUnlink(ctx context.Context, _ *call, p *linkParams) (any, error) {
	if err := p.check("data.unlink"); err != nil {
		return nil, err
	}
	if err := s.store.Unlink(ctx, p.From, p.Label, p.To); err != nil {
		return nil, err
	}
	return map[string]bool{"ok": true}, nil
}

type searchParams struct {
	Query string `json:"query"`
	Shape string `json:"shape,omitempty"`
	Limit int    `json:"limit,omitempty"`
}

func (s *Server) dataSearch(ctx context.Context, _ *call, p *searchParams) (any, error) {
	if err := required("data.search", "query", p.Query); err != nil {
		return nil, err
	}
	hits, err := s.store.Search(ctx, p.Query, p.Shape, p.Limit)
	if err != nil {
		return nil, err
	}
	if hits == nil {
		hits = []graph.Hit{}
	}
	return map[string]any{"hits": hits}, nil
}

type neighborsParams struct {
	ID        string `json:"id"`
	Label     string `json:"label,omitempty"`
	Direction string `json:"direction,omitempty"`
	Depth     int    `json:"depth,omitempty"`
}

func (s *Server) dataNeighbors(ctx context.Context, _ *call, p *neighborsParams) (any, error) {
	if err := required("data.neighbors", "id", p.ID); err != nil {
		return nil, err
	}
	switch p.Direction {
	case "", "in", "out", "both":
	default:
		return nil, wire.Errorf(wire.KindInvalid, "data.neighbors: direction must be in, out or both, not %q", p.Direction)
	}
	return s.store.Neighbors(ctx, p.ID, p.Label, p.Direction, p.Depth)
}

func (s *Server) shapesList(context.Context, *call, *struct{}) (any, error) {
	return map[string]any{"shapes": s.shapes.Load().List()}, nil
}

type shapeGetParams struct {
	Name string `json:"name"`
}

func (s *Server) shapesGet(_ context.Context, _ *call, p *shapeGetParams) (any, error) {
	if err := required("shapes.get", "name", p.Name); err != nil {
		return nil, err
	}
	sh, ok := s.shapes.Load().Get(p.Name)
	if !ok {
		return nil, wire.Errorf(wire.KindNotFound, "no shape named %q; `agentos shapes list` shows the loaded ones", p.Name)
	}
	return sh, nil
}

type historyParams struct {
	Since *int64 `json:"since,omitempty"`
	Limit int    `json:"limit,omitempty"`
}

func (s *Server) history(_ context.Context, _ *call, p *historyParams) (any, error) {
	since := int64(0)
	if p.Since != nil {
		since = *p.Since
	}
	limit := p.Limit
	switch {
	case limit == 0:
		limit = 200
	case limit < 0 || limit > 4096:
		return nil, wire.Errorf(wire.KindInvalid, "observer.history: limit must be 1..4096, not %d", limit)
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

type subscribeParams struct {
	Since *int64   `json:"since,omitempty"`
	Types []string `json:"types,omitempty"`
}

// subscribe answers with the current last event id, then streams
// observer.event notifications until the connection closes.
func (s *Server) subscribe(_ context.Context, c *call, p *subscribeParams) (any, error) {
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
				if err := c.conn.notify("observer.event", ev); err != nil {
					return
				}
			}
		}()
	}
	return map[string]any{"subscribed": true, "last_id": lastID}, nil
}

// skillSummary is a skill in skills.list: everything but the guide.
type skillSummary struct {
	*broker.Skill
	Guide        string   `json:"guide,omitempty"`
	Capabilities []string `json:"capabilities"`
}

func summarize(sk *broker.Skill, withGuide bool) skillSummary {
	out := skillSummary{Skill: sk, Capabilities: []string{}}
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

func (s *Server) skillsList(context.Context, *call, *struct{}) (any, error) {
	skills := s.skills.list()
	out := make([]skillSummary, len(skills))
	for i, sk := range skills {
		out[i] = summarize(sk, false)
	}
	return map[string]any{"skills": out}, nil
}

type skillGetParams struct {
	ID string `json:"id"`
}

func (s *Server) skillsGet(_ context.Context, _ *call, p *skillGetParams) (any, error) {
	if err := required("skills.get", "id", p.ID); err != nil {
		return nil, err
	}
	sk, err := s.skills.get(p.ID)
	if err != nil {
		return nil, err
	}
	return summarize(sk, true), nil
}

func (s *Server) skillsReload(ctx context.Context, _ *call, _ *struct{}) (any, error) {
	s.skills.reload(ctx, true)
	return s.skillsList(ctx, nil, nil)
}

type skillRunParams struct {
	Skill  string          `json:"skill"`
	Tool   string          `json:"tool"`
	Params json.RawMessage `json:"params,omitempty"`
}

func (s *Server) skillsRun(ctx context.Context, c *call, p *skillRunParams) (any, error) {
	if err := required("skills.run", "skill", p.Skill); err != nil {
		return nil, err
	}
	if err := required("skills.run", "tool", p.Tool); err != nil {
		return nil, err
	}
	sk, t, err := s.skills.resolveTool(p.Skill, p.Tool)
	if err != nil {
		return nil, err
	}
	return s.runJob(ctx, c.caller, func(j *Job) (any, error) {
		s.jobs.set(j, func(j *Job) { j.Skill, j.Tool, j.Reason = sk.ID, t.Name, "asked for by skills.run" })
		return s.skills.runTool(j.ctx, s, j, sk, t, objectOrEmpty(p.Params))
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

func (s *Server) capabilitiesList(ctx context.Context, _ *call, _ *struct{}) (any, error) {
	return map[string]any{"capabilities": s.describeCapabilities(ctx)}, nil
}

type invokeParams struct {
	Capability string          `json:"capability"`
	Params     json.RawMessage `json:"params,omitempty"`
	Provider   string          `json:"provider,omitempty"`
	Async      bool            `json:"async,omitempty"`
}

func (s *Server) capabilitiesInvoke(ctx context.Context, c *call, p *invokeParams) (any, error) {
	if err := required("capabilities.invoke", "capability", p.Capability); err != nil {
		return nil, err
	}
	if _, err := s.rank(ctx, p.Capability, p.Provider); err != nil {
		return nil, err // no provider: say so now, not inside a job
	}
	work := func(j *Job) (any, error) {
		s.jobs.set(j, func(j *Job) { j.Capability = p.Capability })
		return s.invoke(j.ctx, j, p.Capability, p.Provider, objectOrEmpty(p.Params))
	}
	if !p.Async {
		return s.runJob(ctx, c.caller, work)
	}
	// An async job outlives the request and its connection: jobs.cancel
	// ends it, and so does engine shutdown.
	j := s.jobs.start(context.WithoutCancel(ctx), c.caller)
	go s.completeJob(j, work)
	return map[string]string{"job": j.ID}, nil
}

type preferParams struct {
	Capability string `json:"capability"`
	Skill      string `json:"skill"`
}

func (s *Server) capabilitiesPrefer(ctx context.Context, _ *call, p *preferParams) (any, error) {
	if err := required("capabilities.prefer", "capability", p.Capability); err != nil {
		return nil, err
	}
	if p.Skill != "" {
		if _, err := s.rank(ctx, p.Capability, p.Skill); err != nil {
			return nil, err
		}
	}
	s.cfgMu.Lock()
	defer s.cfgMu.Unlock()
	if err := SavePin(s.cfgPath, p.Capability, p.Skill); err != nil {
		return nil, err
	}
	if s.fileCfg.Capabilities == nil {
		s.fileCfg.Capabilities = map[string]CapabilityConfig{}
	}
	cc := s.fileCfg.Capabilities[p.Capability]
	cc.Pin = p.Skill
	s.fileCfg.Capabilities[p.Capability] = cc
	return map[string]string{"capability": p.Capability, "pin": p.Skill}, nil
}

func (s *Server) jobsList(context.Context, *call, *struct{}) (any, error) {
	jobs := s.jobs.list()
	out := make([]wire.Job, len(jobs))
	for i, j := range jobs {
		out[i] = s.jobs.snapshot(j, false)
	}
	return map[string]any{"jobs": out}, nil
}

func (s *Server) jobsGet(_ context.Context, _ *call, p *idParams) (any, error) {
	j, err := s.jobs.get(p.ID)
	if err != nil {
		return nil, err
	}
	return s.jobs.snapshot(j, true), nil
}

func (s *Server) jobsCancel(ctx context.Context, _ *call, p *idParams) (any, error) {
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
