package engine

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/netip"
	"net/url"

	"github.com/agentos/agentos/broker"
	"github.com/agentos/agentos/engine/httpop"
	"github.com/agentos/agentos/engine/wire"
	"github.com/agentos/agentos/graph"
)

// skillOps answers the sideband ops of one running tool, once the broker's
// gate has allowed them (broker.Gate checks each against the skill's
// allowed-tools and audits it). It reaches the engine only through the
// funcs it is built with.
type skillOps struct {
	skill   *broker.Skill
	tool    string
	callID  string
	version string
	log     *slog.Logger

	// method runs a method of the table as the skill (graph ops).
	method func(ctx context.Context, name string, params json.RawMessage) (any, error)
	// secret is a stored secret's value.
	secret func(ctx context.Context, name string) (string, error)
	// invoke runs a nested capability call, a job under this call's job.
	invoke func(ctx context.Context, p wire.InvokeParams) (any, error)
	// progress records the tool's progress on its job.
	progress func(current, total float64, message, delta string)
	// logged publishes a log line on its job.
	logged func(level, message string)
	// ask sends a client.elicit or client.sample op to the job's caller.
	ask func(ctx context.Context, op string, params json.RawMessage) (any, error)
	// agent runs an agent as part of this call (the agent.run op).
	agent func(ctx context.Context, params json.RawMessage) (any, error)
	// http is its http.request op.
	http *httpop.Net
}

// runTool runs tool t of skill sk in a fresh process as (part of) job j,
// its ops answered by this server.
func (s *Server) runTool(ctx context.Context, j *Job, sk *broker.Skill, t *broker.Tool, params []byte) (any, error) {
	caller := "skill:" + sk.ID
	return s.skills.run(ctx, j, sk, t, params, func(callID string) broker.OpHandler {
		return &skillOps{skill: sk, tool: t.Name, callID: callID, version: s.opts.Version, log: s.log,
			method: func(ctx context.Context, name string, params json.RawMessage) (any, error) {
				// The table callers use, so a skill's graph access is
				// exactly a caller's.
				return s.methods[name].handle(ctx, &call{caller: caller}, params)
			},
			secret: s.secretValue,
			invoke: func(ctx context.Context, p wire.InvokeParams) (any, error) {
				// A nested call is a job of its own under this call's
				// job: cancel the outer job and the nested one stops too.
				return s.runJob(ctx, caller, func(nj *Job) (any, error) {
					s.jobs.set(nj, func(nj *Job) { nj.Capability = p.Capability })
					return s.invoke(nj.ctx, nj, p.Capability, p.Provider, objectOrEmpty(p.Params))
				})
			},
			progress: func(current, total float64, message, delta string) {
				s.jobs.progress(j, current, total, message, delta)
			},
			logged: func(level, message string) { s.jobs.logged(j, level, message) },
			ask: func(ctx context.Context, op string, params json.RawMessage) (any, error) {
				return s.ask(ctx, j, sk.ID, op, params)
			},
			agent: func(ctx context.Context, params json.RawMessage) (any, error) { return s.runAgent(ctx, j, params) },
			http:  httpop.New(sk, s.ownListeners(), s.opts.Version),
		}
	})
}

func (o *skillOps) HandleOp(ctx context.Context, op broker.Op) (json.RawMessage, error) {
	res, err := o.do(graph.WithActor(ctx, "skill:"+o.skill.ID), op)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(res)
	if err != nil {
		return nil, wire.Errorf(wire.KindInternal, "encode %s result: %v", op.Name, err)
	}
	return b, nil
}

func (o *skillOps) do(ctx context.Context, op broker.Op) (any, error) {
	switch op.Name {
	case "http.request":
		return o.http.Request(ctx, op.Params)
	case "http.read":
		return o.http.Read(ctx, op.Params)
	case "graph.read":
		return o.method(ctx, wire.MethodRead, op.Params)
	case "graph.search":
		return o.method(ctx, wire.MethodSearch, op.Params)
	case "graph.write":
		return o.method(ctx, wire.MethodWrite, op.Params)
	case "secrets.get":
		return o.secretGet(ctx, op.Params)
	case broker.OpNameClientElicit, broker.OpNameClientSample:
		return o.ask(ctx, op.Name, op.Params)
	case broker.OpNameAgentRun:
		return o.agent(ctx, op.Params)
	case "capability.invoke":
		var p wire.InvokeParams
		if err := json.Unmarshal(op.Params, &p); err != nil {
			return nil, wire.Errorf(wire.KindInvalid, "capability.invoke: %v", err)
		}
		return o.invoke(ctx, p)
	}
	return nil, wire.Errorf(wire.KindInvalid, "unknown op %q", op.Name)
}

func (o *skillOps) Progress(current, total float64, message, delta string) {
	o.progress(current, total, message, delta)
}

// Log writes a skill's log line to the engine log, tagged with the skill,
// and publishes it on the call's job for whoever follows it.
func (o *skillOps) Log(level, message string) {
	lvl := map[string]slog.Level{"debug": slog.LevelDebug, "warning": slog.LevelWarn, "warn": slog.LevelWarn, "error": slog.LevelError}[level]
	o.log.Log(context.Background(), lvl, message, "skill", o.skill.ID, "tool", o.tool, "call", o.callID)
	if o.logged != nil {
		o.logged(level, message)
	}
}

// ownListeners are the engine's listeners a skill's http op must never
// reach: the bridge it serves (ServerOptions.Bridge), the address
// config.yaml gives the bridge (default 127.0.0.1:3456), where a bridge of
// this home started apart (`agentos bridge`) listens, and what this home's
// `agentos mcp --http` proxies announced (wire.AnnounceListener). Any
// loopback address with one of their ports is refused.
func (s *Server) ownListeners() []broker.Listener {
	var own []broker.Listener
	add := func(name, hostPort string) {
		host, port, err := net.SplitHostPort(hostPort)
		if err != nil {
			return
		}
		ip, err := netip.ParseAddr(host)
		if err != nil {
			ip = netip.IPv4Unspecified() // a name: refuse the port on every local address
		}
		if ap, err := netip.ParseAddrPort(net.JoinHostPort(ip.String(), port)); err == nil {
			own = append(own, broker.Listener{Name: name, Addr: ap})
		}
	}
	if u, err := url.Parse(s.opts.Bridge); err == nil && u.Host != "" {
		add("bridge", u.Host)
	}
	s.cfgMu.RLock()
	addr := s.fileCfg.Bridge.Addr
	s.cfgMu.RUnlock()
	if addr == "" {
		addr = defaultBridgeAddr
	}
	add("bridge", addr)
	for _, l := range wire.Listeners(wire.PathsFor(s.opts.Home)) {
		add(l.Name+" proxy (agentos "+l.Name+" --http)", l.Addr)
	}
	return own
}

// defaultBridgeAddr is bridge.DefaultAddr (the bridge imports this package).
const defaultBridgeAddr = "127.0.0.1:3456"
