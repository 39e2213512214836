package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/agentos/agentos/agents"
	"github.com/agentos/agentos/engine/wire"
	"github.com/agentos/agentos/graph"
)

// Agents (DESIGN §15). Their files live in the home's agents/ folder and
// in skills' agents/ folders, read at each use; a run is the loop of
// package agents, made by the agent.run op of a skill granted agents(...)
// (the bundled agents skill provides the agent.run capability that way),
// and everything it does goes through this file's env.

// agentDirs are the folders agent files are read from: the home's first
// (it wins over a skill's agent of the same name), then each valid skill's.
func (s *Server) agentDirs() []agents.Dir {
	dirs := []agents.Dir{{Path: filepath.Join(s.opts.Home, "agents"), Source: "home"}}
	for _, sk := range s.skills.list() {
		if sk.Invalid == "" && sk.Dir != "" {
			dirs = append(dirs, agents.Dir{Path: filepath.Join(sk.Dir, "agents"), Source: "skill:" + sk.ID})
		}
	}
	return dirs
}

// agentListing is every agent as its file says now, with whether its
// mission is enabled.
func (s *Server) agentListing() agents.Listing {
	if s.opts.Home == "" {
		return agents.Listing{}
	}
	l := agents.Load(s.agentDirs())
	for _, a := range l.Agents {
		a.Enabled = a.Mission != "" && s.agentEnabled(a.Name)
	}
	return l
}

func (s *Server) agentEnabled(name string) bool {
	s.cfgMu.RLock()
	defer s.cfgMu.RUnlock()
	return s.fileCfg.Agents[name].Enabled
}

func (s *Server) agentsList(context.Context, *call, *wire.NoParams) (any, error) {
	return s.agentListing(), nil
}

// agentsEnable turns an agent's mission on or off, persisted in
// config.yaml (agents.NAME.enabled). Missions are off until enabled.
func (s *Server) agentsEnable(on bool) func(context.Context, *call, *wire.NameParams) (any, error) {
	return func(ctx context.Context, c *call, p *wire.NameParams) (any, error) {
		if on {
			got, err := s.agentsGet(ctx, c, p)
			if err != nil {
				return nil, err
			}
			if a := got.(*agents.Agent); a.Mission == "" {
				return nil, wire.Errorf(wire.KindInvalid, "agent %s has no mission to run: give its file mission: and every:", p.Name)
			}
		}
		if s.cfgPath == "" {
			return nil, wire.Errorf(wire.KindUnavailable, "this engine has no config.yaml to keep the setting in")
		}
		s.cfgMu.Lock()
		defer s.cfgMu.Unlock()
		if err := SaveAgentEnabled(s.cfgPath, p.Name, on); err != nil {
			return nil, err
		}
		if s.fileCfg.Agents == nil {
			s.fileCfg.Agents = map[string]AgentConfig{}
		}
		if on {
			s.fileCfg.Agents[p.Name] = AgentConfig{Enabled: true}
		} else {
			delete(s.fileCfg.Agents, p.Name)
			s.missions.Forget(p.Name)
		}
		return map[string]any{"agent": p.Name, "enabled": on}, nil
	}
}

// missionTick is how often the mission schedule is looked at.
const missionTick = 250 * time.Millisecond

// runMissions starts the enabled agents' missions on their schedules until
// ctx ends (agents.Missions: at once, then every Every, never overlapping).
// A mission runs as the agent.run capability, a job whose caller is
// mission:NAME.
// It also watches the agent files, and publishes agents.changed when one
// is added, edited or removed (the MCP proxy serves agents as prompts).
func (s *Server) runMissions(ctx context.Context) {
	t := time.NewTicker(missionTick)
	defer t.Stop()
	seen := agentFilesFingerprint(s.agentDirs())
	for tick := 1; ; tick++ {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			if tick%4 == 0 {
				if fp := agentFilesFingerprint(s.agentDirs()); fp != seen {
					seen = fp
					s.bus.Publish(wire.Event{Type: wire.EventAgentsChanged})
				}
			}
			if !s.anyAgentEnabled() {
				continue
			}
			for _, a := range s.missions.Due(s.agentListing(), s.agentEnabled, now) {
				go func(a *agents.Agent) {
					defer s.missions.Done(a.Name)
					params, _ := json.Marshal(map[string]string{"agent": a.Name, "task": a.Mission})
					_, err := s.runJob(ctx, "mission:"+a.Name, func(j *Job) (any, error) {
						s.jobs.set(j, func(j *Job) { j.Capability = "agent.run" })
						return s.invoke(j.ctx, j, "agent.run", "", params)
					})
					if err != nil {
						s.log.Warn("mission failed", "agent", a.Name, "err", err)
					}
				}(a)
			}
		}
	}
}

func (s *Server) anyAgentEnabled() bool {
	s.cfgMu.RLock()
	defer s.cfgMu.RUnlock()
	return len(s.fileCfg.Agents) > 0
}

func (s *Server) agentsGet(_ context.Context, _ *call, p *wire.NameParams) (any, error) {
	l := s.agentListing()
	if a := l.Get(p.Name); a != nil {
		return a, nil
	}
	for _, pr := range l.Problems {
		if strings.TrimSuffix(filepath.Base(pr.Path), ".md") == p.Name {
			return nil, wire.Errorf(wire.KindInvalid, "agent %s does not load: %s (%s)", p.Name, pr.Reason, pr.Path)
		}
	}
	return nil, wire.Errorf(wire.KindNotFound, "no agent %q (agents/%s.md in the home, or a skill's agents/ folder)", p.Name, p.Name)
}

// agentRunParams are the agent.run op's.
type agentRunParams struct {
	Agent string `json:"agent"`
	Task  string `json:"task"`
	Model string `json:"model,omitempty"`
}

// runAgent is the agent.run op of job j (the call of the tool that made
// it): the run's calls are jobs under j, its steps j's progress.
func (s *Server) runAgent(ctx context.Context, j *Job, raw json.RawMessage) (any, error) {
	var p agentRunParams
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, wire.Errorf(wire.KindInvalid, "agent.run: %v", err)
	}
	r := &agents.Runner{Env: &agentEnv{s: s, j: j, agent: p.Agent}, Agents: s.agentListing}
	res, err := r.Run(ctx, p.Agent, p.Task, agents.Options{Model: p.Model})
	switch {
	case errors.Is(err, agents.ErrNoAgent):
		return nil, wire.Errorf(wire.KindNotFound, "agent.run: %v", err)
	case err != nil:
		return nil, wire.Errorf(wire.KindInvalid, "agent.run: %v", err)
	}
	return res, nil
}

// agentEnv is agents.Env over this server, for one run tree.
type agentEnv struct {
	s     *Server
	j     *Job
	agent string // the run's top agent, the actor of its writes
}

// dataTool is a data.* method an agent may list among its tools.
func (e *agentEnv) dataTool(name string) *method {
	if !strings.HasPrefix(name, "data.") {
		return nil
	}
	return e.s.methods[name]
}

func (e *agentEnv) Tool(ctx context.Context, c string) (agents.ToolSpec, error) {
	if m := e.dataTool(c); m != nil {
		return agents.ToolSpec{Description: m.summary, Parameters: m.params}, nil
	}
	order, err := e.s.resolver.Rank(ctx, c, "")
	if err != nil {
		return agents.ToolSpec{}, err
	}
	return agents.ToolSpec{Description: order[0].Tool.Description, Parameters: order[0].Tool.Params}, nil
}

func (e *agentEnv) Call(ctx context.Context, c string, args json.RawMessage) (json.RawMessage, error) {
	caller := "agent:" + e.agent
	var out any
	var err error
	if m := e.dataTool(c); m != nil {
		out, err = m.handle(graph.WithActor(ctx, caller), &call{caller: caller}, args)
	} else {
		// A capability call is a job of its own under the run's job:
		// cancel the run and it stops too.
		out, err = e.s.runJob(ctx, caller, func(nj *Job) (any, error) {
			e.s.jobs.set(nj, func(nj *Job) { nj.Capability = c })
			return e.s.invoke(nj.ctx, nj, c, "", objectOrEmpty(args))
		})
	}
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("encode the result of %s: %w", c, err)
	}
	return b, nil
}

func (e *agentEnv) Write(ctx context.Context, name string, params any) (json.RawMessage, error) {
	m := e.s.methods[name]
	if m == nil {
		return nil, fmt.Errorf("no method %s", name)
	}
	raw, err := json.Marshal(params)
	if err != nil {
		return nil, err
	}
	caller := "agent:" + e.agent
	out, err := m.handle(graph.WithActor(ctx, caller), &call{caller: caller}, raw)
	if err != nil {
		return nil, err
	}
	return json.Marshal(out)
}

// Step publishes a run's step as an agent.step event and as the job's
// progress, which reaches `agentos agents run`, MCP progress and the
// bridge's stream.
func (e *agentEnv) Step(_ context.Context, st agents.Step) {
	data := map[string]any{"job": e.j.ID, "run": st.Run, "agent": st.Agent, "kind": st.Kind}
	if st.Turn > 0 {
		data["turn"] = st.Turn
	}
	if st.Tool != "" {
		data["tool"] = st.Tool
	}
	if st.CallID != "" {
		data["call_id"] = st.CallID
	}
	if st.Text != "" {
		data["text"] = st.Text
	}
	if st.Error {
		data["error"] = true
	}
	e.s.bus.Publish(wire.Event{Type: wire.EventAgentStep, CallID: e.j.ID, Data: data})
	e.s.jobs.progress(e.j, float64(st.Turn), 0, stepLine(st), "")
}

// stepLine is a step as one line of progress.
func stepLine(st agents.Step) string {
	who := st.Agent
	switch st.Kind {
	case agents.StepStarted:
		return who + ": started (run " + st.Run + ")"
	case agents.StepModelTurn:
		return fmt.Sprintf("%s: turn %d: asking the model", who, st.Turn)
	case agents.StepToolCall:
		return fmt.Sprintf("%s: calling %s %s", who, st.Tool, clipLine(st.Text, 120))
	case agents.StepToolResult:
		if st.Error {
			return fmt.Sprintf("%s: %s failed: %s", who, st.Tool, clipLine(st.Text, 160))
		}
		return fmt.Sprintf("%s: %s answered %s", who, st.Tool, clipLine(st.Text, 120))
	case agents.StepAnswer:
		return who + ": answered"
	case agents.StepEnded:
		return who + ": " + st.Text
	}
	return who + ": " + st.Kind
}

func clipLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		cut := n
		for cut > 0 && s[cut]&0xC0 == 0x80 {
			cut--
		}
		return s[:cut] + "…"
	}
	return s
}

// agentFilesFingerprint is the name, size and mtime of every agent file.
func agentFilesFingerprint(dirs []agents.Dir) string {
	var b strings.Builder
	for _, d := range dirs {
		entries, _ := os.ReadDir(d.Path)
		for _, e := range entries {
			if fi, err := e.Info(); err == nil && strings.HasSuffix(e.Name(), ".md") {
				fmt.Fprintf(&b, "%s/%s|%d|%d\n", d.Path, e.Name(), fi.Size(), fi.ModTime().UnixNano())
			}
		}
	}
	return b.String()
}
