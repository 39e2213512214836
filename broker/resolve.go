package broker

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/agentos/agentos/internal/loopback"
)

// failingFor is how long a provider whose last call failed ranks later.
const failingFor = 5 * time.Minute

// Candidate is one tool that provides a capability, in resolution order,
// with why it is in its place.
type Candidate struct {
	Skill  *Skill
	Tool   *Tool
	Meta   map[string]any // the keywords of its @provides(...)
	Local  bool           // it stays on this machine (see isLocal)
	Reason string
}

// Name is the provider's skill/tool name, the key health is recorded under.
func (c Candidate) Name() string { return c.Skill.ID + "/" + c.Tool.Name }

// matches reports whether ref, a skill id or a skill/tool name, names c.
func (c Candidate) matches(ref string) bool {
	return ref != "" && (ref == c.Skill.ID || ref == c.Name())
}

// CapabilityInfo is one capability as capabilities.list shows it: its
// providers in the order they would be tried, and the policy and pin that
// ordered them.
type CapabilityInfo struct {
	Capability string         `json:"capability"`
	Pin        string         `json:"pin"`
	Policy     string         `json:"policy"`
	Providers  []ProviderInfo `json:"providers"`
}

// ProviderInfo is one provider in CapabilityInfo.
type ProviderInfo struct {
	Description string          `json:"description"`
	Local       bool            `json:"local"`
	Meta        map[string]any  `json:"meta"`
	Params      json.RawMessage `json:"params"`
	Result      json.RawMessage `json:"result,omitempty"`  // the return annotation's schema
	Returns     string          `json:"returns,omitempty"` // the @returns shape
	Reason      string          `json:"reason"`
	Skill       string          `json:"skill"`
	Tool        string          `json:"tool"`
}

// Resolver chooses the provider of a capability (DESIGN §7 "Capability
// resolution") and remembers how providers did. It reads the skills, the
// policies and whether a secret is set through the functions it is given,
// so it knows nothing of where they are kept.
type Resolver struct {
	skills    func() []*Skill
	policy    func(capability string) Policy
	secretSet func(ctx context.Context, name string) bool
	models    func(skill string) []string // from the skill's settings; nil: none
	now       func() time.Time

	mu    sync.Mutex
	stats map[string]*providerStats
}

type providerStats struct {
	lastOK, lastFail time.Time
	latency          time.Duration // moving average of successful calls
}

// NewResolver returns a resolver over the skills skills returns (read on
// every call, so a reload is seen at once). policy gives a capability's
// entry in config.yaml, pin included; secretSet says whether a secret is
// stored, without reading its value. A nil policy or secretSet means no
// policy and every secret set.
func NewResolver(skills func() []*Skill, policy func(capability string) Policy, secretSet func(ctx context.Context, name string) bool) *Resolver {
	if policy == nil {
		policy = func(string) Policy { return Policy{} }
	}
	if secretSet == nil {
		secretSet = func(context.Context, string) bool { return true }
	}
	return &Resolver{skills: skills, policy: policy, secretSet: secretSet, now: time.Now, stats: map[string]*providerStats{}}
}

// WithModels makes the resolver route a call that names a model (params
// "model") to the providers that list it: in their @provides metadata
// (models=[...]) or in what models returns for their skill (config.yaml's
// skills.<id>.settings.models). Call it before the resolver is used.
func (r *Resolver) WithModels(models func(skill string) []string) *Resolver {
	r.models = models
	return r
}

// serves reports whether c lists model.
func (r *Resolver) serves(c Candidate, model string) bool {
	if list, ok := c.Meta["models"].([]any); ok {
		for _, m := range list {
			if m == model {
				return true
			}
		}
	}
	if r.models != nil && slices.Contains(r.models(c.Skill.ID), model) {
		return true
	}
	return false
}

// forModel keeps the candidates that list model, when any does (a call
// naming a model goes to a provider that has it); else all of them.
func (r *Resolver) forModel(order []Candidate, model string) []Candidate {
	if model == "" {
		return order
	}
	var out []Candidate
	for _, c := range order {
		if r.serves(c, model) {
			c.Reason = "serves model " + model + "; " + c.Reason
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		return order
	}
	return out
}

// providers lists every runnable tool that provides capability.
func (r *Resolver) providers(capability string) []Candidate {
	var out []Candidate
	for _, sk := range r.skills() {
		if sk.Invalid != "" {
			continue
		}
		for i := range sk.Tools {
			for _, p := range sk.Tools[i].Provides {
				if p.Capability == capability {
					out = append(out, Candidate{Skill: sk, Tool: &sk.Tools[i], Meta: p.Meta, Local: isLocal(sk, p.Meta)})
				}
			}
		}
	}
	return out
}

// isLocal tells a provider that stays on this machine: @provides(...,
// local=True) (or False) says so, else every host its allowed-tools lets it
// reach is a loopback one.
func isLocal(sk *Skill, meta map[string]any) bool {
	if v, ok := meta["local"].(bool); ok {
		return v
	}
	for _, h := range sk.Permissions[OpHTTP] {
		if host, _, err := net.SplitHostPort(h); err == nil {
			h = host
		}
		if !loopback.IsLoopbackHost(strings.Trim(h, "[]")) {
			return false
		}
	}
	return true
}

// place is a candidate with what ranks it.
type place struct {
	Candidate
	pinned  bool
	order   int      // by the policy: smaller first
	missing []string // secrets its allowed-tools names that are not set
	failing bool
	latency time.Duration // 0 when it never succeeded
}

// Rank orders the providers of capability (DESIGN §7): the explicit
// provider (a skill id or skill/tool) alone, else the user's pin, then the
// capability's policy (order, then local-first or cloud-first), then
// availability (the secrets it needs are set), then health (no failure in
// the last five minutes; a provider that succeeded before one that never
// did, the faster first), then skill/tool name. Each candidate says why it
// is where it is. The errors are ErrNoProvider and ErrNotFound kinds.
func (r *Resolver) Rank(ctx context.Context, capability, explicit string) ([]Candidate, error) {
	all := r.providers(capability)
	if len(all) == 0 {
		return nil, errorf(KindNoProvider, "no installed skill provides %q; `agentos capabilities` lists what is provided", capability)
	}
	if explicit != "" {
		for _, c := range all {
			if c.matches(explicit) {
				c.Reason = "asked for explicitly"
				return []Candidate{c}, nil
			}
		}
		names := make([]string, len(all))
		for i, c := range all {
			names[i] = c.Name()
		}
		return nil, errorf(KindNotFound, "%s does not provide %q (providers: %s)", explicit, capability, strings.Join(names, ", "))
	}
	pol := r.policy(capability)
	places := make([]place, len(all))
	for i, c := range all {
		failing, latency := r.health(c.Name())
		places[i] = place{Candidate: c, pinned: c.matches(pol.Pin), order: policyRank(pol, c),
			missing: r.missingSecrets(ctx, c.Skill), failing: failing, latency: latency}
	}
	slices.SortStableFunc(places, func(a, b place) int {
		return cmp.Or(
			-boolCmp(a.pinned, b.pinned),
			cmp.Compare(a.order, b.order),
			boolCmp(len(a.missing) > 0, len(b.missing) > 0),
			boolCmp(a.failing, b.failing),
			latencyCmp(a.latency, b.latency),
			strings.Compare(a.Name(), b.Name()),
		)
	})
	out := make([]Candidate, len(places))
	for i, p := range places {
		p.Reason = reason(pol, p, i == 0, len(places))
		out[i] = p.Candidate
	}
	return out, nil
}

// boolCmp orders false before true.
func boolCmp(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

// latencyCmp puts a provider that succeeded (a known latency) before one
// that never did, the faster first.
func latencyCmp(a, b time.Duration) int {
	switch {
	case a == b:
		return 0
	case a == 0:
		return 1
	case b == 0:
		return -1
	}
	return cmp.Compare(a, b)
}

// policyRank places c by the policy: in its order list first, then the
// side local-first or cloud-first prefers, then the rest.
func policyRank(pol Policy, c Candidate) int {
	if i := slices.IndexFunc(pol.Order, c.matches); i >= 0 {
		return i
	}
	if (pol.Policy == PolicyLocalFirst && c.Local) || (pol.Policy == PolicyCloudFirst && !c.Local) {
		return len(pol.Order)
	}
	return len(pol.Order) + 1
}

func reason(pol Policy, p place, first bool, n int) string {
	var parts []string
	switch {
	case p.pinned:
		parts = append(parts, "pinned by the user")
	case p.order < len(pol.Order):
		parts = append(parts, "in the order config.yaml gives")
	case pol.Policy == PolicyLocalFirst && p.Local:
		parts = append(parts, "local, and the policy is local-first")
	case pol.Policy == PolicyCloudFirst && !p.Local:
		parts = append(parts, "cloud, and the policy is cloud-first")
	}
	if len(p.missing) > 0 {
		parts = append(parts, "unavailable: secret "+strings.Join(p.missing, ", ")+" not set")
	}
	if p.failing {
		parts = append(parts, "failed recently")
	}
	if len(parts) == 0 {
		switch {
		case n == 1:
			return "the only provider"
		case p.latency > 0:
			parts = append(parts, fmt.Sprintf("answered before, in %s on average", p.latency.Round(time.Millisecond/10)))
		default:
			parts = append(parts, "by skill id")
		}
	}
	if first && n > 1 {
		return "chosen: " + strings.Join(parts, "; ")
	}
	return strings.Join(parts, "; ")
}

// missingSecrets lists the secrets sk's allowed-tools names that are not set.
func (r *Resolver) missingSecrets(ctx context.Context, sk *Skill) []string {
	var out []string
	for _, name := range sk.Permissions[OpSecrets] {
		if name != "*" && !r.secretSet(ctx, name) {
			out = append(out, name)
		}
	}
	return out
}

// Record notes how a call to the provider named name (Candidate.Name) ended
// after d. Only an outcome that says something about the provider counts:
// success, unavailable, timeout, skill_failed; a cancel, bad input or a
// denied op do not. An error's kind is its ErrorKind(), as for the runner.
func (r *Resolver) Record(name string, d time.Duration, err error) {
	switch kindOf(err) {
	case "", KindUnavailable, KindTimeout, KindSkillFailed:
	default:
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.stats[name]
	if st == nil {
		st = &providerStats{}
		r.stats[name] = st
	}
	if err != nil {
		st.lastFail = r.now()
		return
	}
	st.lastOK = r.now()
	if st.latency == 0 {
		st.latency = max(d, time.Nanosecond) // 0 means "never succeeded"
	} else {
		st.latency = (3*st.latency + d) / 4
	}
}

// health reports whether name's last outcome was a failure in the last
// five minutes, and the moving average of its successful calls.
func (r *Resolver) health(name string) (failing bool, latency time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.stats[name]
	if st == nil {
		return false, 0
	}
	return st.lastFail.After(st.lastOK) && r.now().Sub(st.lastFail) < failingFor, st.latency
}

// Invoke runs capability on the best provider: run is called with each
// candidate in Rank's order until one succeeds or fails with a kind other
// than unavailable (connection refused, auth rejected, provider timeout):
// bad input would fail on the next provider too. Every outcome is recorded
// for health. When several providers were all unavailable, the error is of
// ErrUnavailable kind and names the last failure.
func (r *Resolver) Invoke(ctx context.Context, capability, explicit string, run func(context.Context, Candidate) (any, error)) (any, error) {
	return r.InvokeModel(ctx, capability, explicit, "", run)
}

// InvokeModel is Invoke for a call that names model (its params' "model"):
// only the providers that list it are tried, when any does (WithModels).
func (r *Resolver) InvokeModel(ctx context.Context, capability, explicit, model string, run func(context.Context, Candidate) (any, error)) (any, error) {
	order, err := r.Rank(ctx, capability, explicit)
	if err != nil {
		return nil, err
	}
	if explicit == "" {
		order = r.forModel(order, model)
	}
	var lastErr error
	for _, c := range order {
		start := time.Now()
		res, err := run(ctx, c)
		r.Record(c.Name(), time.Since(start), err)
		if err == nil {
			return res, nil
		}
		if kindOf(err) != KindUnavailable || ctx.Err() != nil {
			return nil, err
		}
		lastErr = err
	}
	if len(order) > 1 {
		return nil, errorf(KindUnavailable, "every provider of %q is unavailable; last: %v", capability, lastErr)
	}
	return nil, lastErr
}

// kindOf is the kind an error states itself (ErrorKind), else the
// context's, else internal; "" for nil.
func kindOf(err error) string {
	var k interface{ ErrorKind() string }
	switch {
	case err == nil:
		return ""
	case errors.As(err, &k) && k.ErrorKind() != "":
		return k.ErrorKind()
	case errors.Is(err, context.DeadlineExceeded):
		return KindTimeout
	case errors.Is(err, context.Canceled):
		return KindCancelled
	}
	return KindInternal
}

// Capabilities lists every capability a runnable skill provides, sorted,
// each with its providers ranked: what capabilities.list answers.
func (r *Resolver) Capabilities(ctx context.Context) []CapabilityInfo {
	var names []string
	for _, sk := range r.skills() {
		if sk.Invalid != "" {
			continue
		}
		for _, t := range sk.Tools {
			for _, p := range t.Provides {
				names = append(names, p.Capability)
			}
		}
	}
	slices.Sort(names)
	names = slices.Compact(names)
	out := make([]CapabilityInfo, 0, len(names))
	for _, name := range names {
		order, err := r.Rank(ctx, name, "")
		if err != nil {
			continue
		}
		ps := make([]ProviderInfo, len(order))
		for i, c := range order {
			ps[i] = ProviderInfo{Skill: c.Skill.ID, Tool: c.Tool.Name, Local: c.Local, Reason: c.Reason,
				Description: c.Tool.Description, Params: c.Tool.Params, Result: c.Tool.Result, Returns: c.Tool.Returns, Meta: c.Meta}
		}
		pol := r.policy(name)
		out = append(out, CapabilityInfo{Capability: name, Providers: ps, Pin: pol.Pin, Policy: pol.Policy})
	}
	return out
}
