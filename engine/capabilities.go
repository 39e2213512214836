package engine

import (
	"context"
	"encoding/json"
	"net"
	"net/netip"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/agentos/agentos/broker"
	"github.com/agentos/agentos/engine/wire"
)

// maxNesting bounds capability calls made by skills inside capability calls.
const maxNesting = 4

// provider is one tool that provides a capability.
type provider struct {
	skill *broker.Skill
	tool  *broker.Tool
	meta  map[string]any
}

func (p provider) name() string { return p.skill.ID + "/" + p.tool.Name }

// local tells a provider that stays on this machine: @provides(..., local=True),
// or every host its allowed-tools lets it reach is a loopback one.
func (p provider) local() bool {
	if v, ok := p.meta["local"].(bool); ok {
		return v
	}
	for _, h := range p.skill.Permissions[broker.OpHTTP] {
		if host, _, err := net.SplitHostPort(h); err == nil {
			h = host
		}
		h = strings.Trim(h, "[]")
		if addr, err := netip.ParseAddr(h); err == nil && addr.IsLoopback() {
			continue
		}
		if h != "localhost" {
			return false
		}
	}
	return true
}

// ranked is a provider in resolution order, with why it is there.
type ranked struct {
	provider
	Reason string
}

// health remembers how providers did recently, for ranking.
type health struct {
	mu    sync.Mutex
	stats map[string]*providerStats
}

type providerStats struct {
	lastOK, lastFail time.Time
	latency          time.Duration // moving average of successful calls
}

func (h *health) record(name string, d time.Duration, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.stats == nil {
		h.stats = map[string]*providerStats{}
	}
	st := h.stats[name]
	if st == nil {
		st = &providerStats{}
		h.stats[name] = st
	}
	if err != nil {
		st.lastFail = time.Now()
		return
	}
	st.lastOK = time.Now()
	if st.latency == 0 {
		st.latency = d
	} else {
		st.latency = (3*st.latency + d) / 4
	}
}

// failing reports a provider whose last outcome was a failure in the last
// five minutes.
func (h *health) failing(name string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	st := h.stats[name]
	return st != nil && st.lastFail.After(st.lastOK) && time.Since(st.lastFail) < 5*time.Minute
}

func (h *health) latency(name string) time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	if st := h.stats[name]; st != nil {
		return st.latency
	}
	return 0
}

// providers lists every runnable tool that provides capability.
func (s *Server) providers(capability string) []provider {
	var out []provider
	for _, sk := range s.skills.list() {
		if sk.Invalid != "" {
			continue
		}
		for i := range sk.Tools {
			for _, p := range sk.Tools[i].Provides {
				if p.Capability == capability {
					out = append(out, provider{skill: sk, tool: &sk.Tools[i], meta: p.Meta})
				}
			}
		}
	}
	return out
}

// rank orders the providers of capability (DESIGN §7): explicit provider,
// then the user's pin, then the capability's policy from config.yaml, then
// availability (the secrets it needs are set), then health, then id.
func (s *Server) rank(ctx context.Context, capability, explicit string) ([]ranked, error) {
	all := s.providers(capability)
	if len(all) == 0 {
		return nil, wire.Errorf(wire.KindNoProvider, "no installed skill provides %q; `agentos capabilities` lists what is provided", capability)
	}
	if explicit != "" {
		for _, p := range all {
			if p.skill.ID == explicit || p.name() == explicit {
				return []ranked{{p, "asked for explicitly"}}, nil
			}
		}
		return nil, wire.Errorf(wire.KindNotFound, "%s does not provide %q (providers: %s)", explicit, capability, providerNames(all))
	}
	cfg := s.capabilityConfig(capability)
	missing := map[string][]string{}
	for _, p := range all {
		missing[p.name()] = s.missingSecrets(ctx, p.skill)
	}
	type key struct {
		pin, order, avail, healthy int
		latency                    time.Duration
		id                         string
	}
	keys := map[string]key{}
	for _, p := range all {
		k := key{pin: 1, order: 1 << 20, id: p.name()}
		if cfg.Pin != "" && (cfg.Pin == p.skill.ID || cfg.Pin == p.name()) {
			k.pin = 0
		}
		k.order = policyRank(cfg, p)
		if len(missing[p.name()]) > 0 {
			k.avail = 1
		}
		if s.health.failing(p.name()) {
			k.healthy = 1
		}
		k.latency = s.health.latency(p.name())
		keys[p.name()] = k
	}
	sort.SliceStable(all, func(i, j int) bool {
		a, b := keys[all[i].name()], keys[all[j].name()]
		switch {
		case a.pin != b.pin:
			return a.pin < b.pin
		case a.order != b.order:
			return a.order < b.order
		case a.avail != b.avail:
			return a.avail < b.avail
		case a.healthy != b.healthy:
			return a.healthy < b.healthy
		case a.latency != b.latency && a.latency != 0 && b.latency != 0:
			return a.latency < b.latency
		}
		return a.id < b.id
	})
	out := make([]ranked, len(all))
	for i, p := range all {
		out[i] = ranked{p, s.reason(cfg, p, keys[p.name()].pin == 0, missing[p.name()], i == 0, len(all))}
	}
	return out, nil
}

// policyRank places p by the capability's policy: an explicit order first,
// else local-first or cloud-first. Smaller ranks first.
func policyRank(cfg CapabilityConfig, p provider) int {
	for i, id := range cfg.Order {
		if id == p.skill.ID || id == p.name() {
			return i
		}
	}
	switch cfg.Policy {
	case "local-first":
		if p.local() {
			return 1 << 10
		}
	case "cloud-first":
		if !p.local() {
			return 1 << 10
		}
	}
	return 1 << 11
}

func (s *Server) reason(cfg CapabilityConfig, p provider, pinned bool, missing []string, first bool, n int) string {
	var parts []string
	switch {
	case pinned:
		parts = append(parts, "pinned by the user")
	case indexOf(cfg.Order, p.skill.ID) >= 0 || indexOf(cfg.Order, p.name()) >= 0:
		parts = append(parts, "in the order config.yaml gives")
	case cfg.Policy == "local-first" && p.local():
		parts = append(parts, "local, and the policy is local-first")
	case cfg.Policy == "cloud-first" && !p.local():
		parts = append(parts, "cloud, and the policy is cloud-first")
	}
	if len(missing) > 0 {
		parts = append(parts, "unavailable: secret "+strings.Join(missing, ", ")+" not set")
	}
	if s.health.failing(p.name()) {
		parts = append(parts, "failed recently")
	}
	if len(parts) == 0 {
		if n == 1 {
			return "the only provider"
		}
		parts = append(parts, "by skill id")
	}
	if first && n > 1 {
		return "chosen: " + strings.Join(parts, "; ")
	}
	return strings.Join(parts, "; ")
}

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}

func providerNames(ps []provider) string {
	names := make([]string, len(ps))
	for i, p := range ps {
		names[i] = p.name()
	}
	return strings.Join(names, ", ")
}

// secretSet reports whether a secret is stored (its value is not read).
func (s *Server) secretSet(ctx context.Context, name string) bool {
	_, err := s.store.StatSecret(ctx, name)
	return err == nil
}

// missingSecrets lists the secrets sk's allowed-tools names that are not set.
func (s *Server) missingSecrets(ctx context.Context, sk *broker.Skill) []string {
	var out []string
	for _, name := range sk.Permissions[broker.OpSecrets] {
		if name != "*" && !s.secretSet(ctx, name) {
			out = append(out, name)
		}
	}
	return out
}

// invoke runs capability on the best provider, trying the next one when a
// provider is unavailable (connection refused, auth rejected, provider
// timeout) but not when the input is bad: another provider would reject
// it too.
func (s *Server) invoke(ctx context.Context, j *Job, capability, explicit string, params json.RawMessage) (any, error) {
	if depth := nesting(j); depth > maxNesting {
		return nil, wire.Errorf(wire.KindDenied, "capability calls nested %d deep; the limit is %d", depth, maxNesting)
	}
	order, err := s.rank(ctx, capability, explicit)
	if err != nil {
		return nil, err
	}
	var lastErr error
	for _, r := range order {
		s.jobs.set(j, func(j *Job) { j.Skill, j.Tool, j.Reason = r.skill.ID, r.tool.Name, r.Reason })
		start := time.Now()
		res, err := s.skills.runTool(j.ctx, s, j, r.skill, r.tool, params)
		// Only what says something about the provider counts against it: a
		// cancel, bad input or a denied op do not.
		switch KindOf(err) {
		case "", wire.KindUnavailable, wire.KindTimeout, wire.KindSkillFailed:
			s.health.record(r.name(), time.Since(start), err)
		}
		if err == nil {
			return res, nil
		}
		s.jobs.set(j, func(j *Job) {
			j.Attempts = append(j.Attempts, wire.Attempt{Skill: r.skill.ID, Tool: r.tool.Name, Error: err.Error(), Kind: KindOf(err)})
		})
		lastErr = err
		if KindOf(err) != wire.KindUnavailable {
			return nil, err
		}
	}
	if len(order) > 1 {
		return nil, wire.Errorf(wire.KindUnavailable, "every provider of %q is unavailable; last: %v", capability, lastErr)
	}
	return nil, lastErr
}

// nesting counts the jobs above j: 0 for a call a client made.
func nesting(j *Job) int {
	n := 0
	for p := j.parentJob; p != nil; p = p.parentJob {
		n++
	}
	return n
}

// capabilityConfig is config.yaml's entry for capability, with the pin the
// user set through capabilities.prefer on top.
func (s *Server) capabilityConfig(capability string) CapabilityConfig {
	s.cfgMu.RLock()
	defer s.cfgMu.RUnlock()
	cfg := s.fileCfg.Capabilities[capability]
	return cfg
}

// describeCapabilities answers capabilities.list.
func (s *Server) describeCapabilities(ctx context.Context) []map[string]any {
	caps := map[string]bool{}
	for _, sk := range s.skills.list() {
		if sk.Invalid != "" {
			continue
		}
		for _, t := range sk.Tools {
			for _, p := range t.Provides {
				caps[p.Capability] = true
			}
		}
	}
	names := make([]string, 0, len(caps))
	for c := range caps {
		names = append(names, c)
	}
	sort.Strings(names)
	out := make([]map[string]any, 0, len(names))
	for _, c := range names {
		order, err := s.rank(ctx, c, "")
		if err != nil {
			continue
		}
		ps := make([]map[string]any, len(order))
		for i, r := range order {
			ps[i] = map[string]any{"skill": r.skill.ID, "tool": r.tool.Name, "local": r.local(), "reason": r.Reason,
				"description": r.tool.Description, "params": r.tool.Params, "meta": r.meta}
		}
		cfg := s.capabilityConfig(c)
		out = append(out, map[string]any{"capability": c, "providers": ps, "pin": cfg.Pin, "policy": cfg.Policy})
	}
	return out
}
