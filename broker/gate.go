package broker

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"time"
)

// MaxOpsInFlight is how many ops one call may have running at once: an
// async tool gathering hundreds of HTTP requests must not exhaust the
// engine.
const MaxOpsInFlight = 16

// Sideband op names (docs/worker-protocol.md).
const (
	OpNameHTTPRequest      = "http.request"
	OpNameHTTPRead         = "http.read" // the next piece of a stream this call's http.request opened
	OpNameSecretsGet       = "secrets.get"
	OpNameGraphRead        = "graph.read"
	OpNameGraphSearch      = "graph.search"
	OpNameGraphWrite       = "graph.write"
	OpNameCapabilityInvoke = "capability.invoke"
	OpNameClientElicit     = "client.elicit" // ask the user, through the caller's MCP client
	OpNameClientSample     = "client.sample" // ask the caller's model, through its MCP client
	OpNameAgentRun         = "agent.run"     // run an agent (DESIGN §15)
)

// Gate checks every op a running skill makes against its allowed-tools and
// writes each to the audit log, allowed or not. The handler it wraps only
// ever sees ops the skill may make.
type Gate struct {
	audit *AuditLog
	log   *slog.Logger
}

// NewGate returns a gate that audits to audit; a failed audit write is
// logged to log (nil: slog.Default()), and the op goes on.
func NewGate(audit *AuditLog, log *slog.Logger) *Gate {
	if log == nil {
		log = slog.Default()
	}
	return &Gate{audit: audit, log: log}
}

// Wrap returns the handler of one call of tool of skill: it bounds the
// ops in flight to MaxOpsInFlight, decides each op's permission and scope,
// and passes to h only what skill's permissions allow. A refused op fails
// with an *Error of kind denied (not granted), invalid (unknown op, bad
// params) or cancelled (the call ended while it waited for a slot).
// Progress and Log go straight to h.
func (g *Gate) Wrap(skill *Skill, tool, callID string, h OpHandler) OpHandler {
	return &gatedOps{gate: g, skill: skill, tool: tool, callID: callID, inner: h, inFlight: make(chan struct{}, MaxOpsInFlight)}
}

type gatedOps struct {
	gate     *Gate
	skill    *Skill
	tool     string
	callID   string
	inner    OpHandler
	inFlight chan struct{}
}

func (o *gatedOps) HandleOp(ctx context.Context, op Op) (json.RawMessage, error) {
	name := clipMessage(op.Name, 64)
	select {
	case o.inFlight <- struct{}{}:
		defer func() { <-o.inFlight }()
	case <-ctx.Done():
		return nil, errorf(KindCancelled, "%s: the call ended", name)
	}
	if op.Name == OpNameHTTPRead {
		// Only a stream this call opened, by a request the gate allowed and
		// audited: each piece needs no check and no audit line of its own.
		return o.inner.HandleOp(ctx, op)
	}
	start := time.Now()
	perm, scope, err := permissionFor(op)
	rec := AuditRecord{At: start.UTC(), Skill: o.skill.ID, Tool: o.tool, CallID: o.callID, Op: name, Scope: scope}
	var res json.RawMessage
	if err == nil {
		switch {
		case perm == OpHTTP && !o.skill.Permissions.Allows(perm, scope):
			host, _ := splitScope(scope)
			err = httpDenied(o.skill.ID, scope, SpecialHost(host), "")
		case !o.skill.Permissions.Allows(perm, scope):
			err = errorf(KindDenied, "skill %s may not %s %s: add %s(%s) to allowed-tools in its SKILL.md%s",
				o.skill.ID, op.Name, scope, perm, scope, orGrant(o.skill.ID))
		default:
			res, err = o.inner.HandleOp(ctx, op)
			// The http op decides again where it connects (after DNS,
			// on every redirect): a refusal there is a denial too.
			rec.Allowed = !(perm == OpHTTP && errors.Is(err, ErrDenied))
		}
	}
	rec.MS = float64(time.Since(start).Microseconds()) / 1000
	if err != nil {
		rec.Error = err.Error()
	}
	if werr := o.gate.audit.Write(rec); werr != nil {
		o.gate.log.Warn("audit log", "err", werr, "skill", o.skill.ID, "op", name)
	}
	return res, err
}

func (o *gatedOps) Progress(current, total float64, message, delta string) {
	o.inner.Progress(current, total, message, delta)
}

func (o *gatedOps) Log(level, message string) { o.inner.Log(level, message) }

// permissionFor names the allowed-tools entry an op needs: its op and the
// scope within it. Params it cannot read are invalid, never an empty scope.
func permissionFor(op Op) (perm, scope string, err error) {
	var p struct {
		URL        string `json:"url"`
		Name       string `json:"name"`
		Capability string `json:"capability"`
	}
	switch op.Name {
	case OpNameGraphRead, OpNameGraphSearch:
		return OpGraph, "read", nil
	case OpNameGraphWrite:
		return OpGraph, "write", nil
	case OpNameClientElicit:
		return OpClient, "elicit", nil
	case OpNameClientSample:
		return OpClient, "sample", nil
	case OpNameAgentRun:
		var a struct {
			Agent string `json:"agent"`
		}
		if json.Unmarshal(op.Params, &a) != nil || !agentScope.MatchString(a.Agent) {
			return "", "", errorf(KindInvalid, `agent.run: param "agent" is not an agent name (lowercase letters, digits, hyphens)`)
		}
		return OpAgents, a.Agent, nil
	case OpNameHTTPRequest, OpNameSecretsGet, OpNameCapabilityInvoke:
		if len(op.Params) > 0 && json.Unmarshal(op.Params, &p) != nil {
			return "", "", errorf(KindInvalid, "%s: params must be a JSON object", op.Name)
		}
	default:
		return "", "", errorf(KindInvalid, "unknown op %q", clipMessage(op.Name, 64))
	}
	switch op.Name {
	case OpNameHTTPRequest:
		u, perr := url.Parse(p.URL)
		if perr != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
			// The URL is not repeated: its query may hold a key.
			return "", "", errorf(KindInvalid, "http.request: not an absolute http(s) URL (scheme://host/...)")
		}
		return OpHTTP, HTTPScope(u), nil
	case OpNameSecretsGet:
		if !secretScope.MatchString(p.Name) {
			// The name is not repeated: a value pasted into the wrong param
			// must not come back in an error or the audit log.
			return "", "", errorf(KindInvalid, `secrets.get: param "name" is not a valid secret name: use 1 to 128 characters of A-Z a-z 0-9 _ . -`)
		}
		return OpSecrets, p.Name, nil
	default: // capability.invoke
		if !capabilityScope.MatchString(p.Capability) || len(p.Capability) > 128 {
			return "", "", errorf(KindInvalid, `capability.invoke: param "capability" is not a capability name (like llm or web.read)`)
		}
		return OpCapability, p.Capability, nil
	}
}

// HTTPScope is the host:port a URL reaches, the scheme's default port
// filled in, an IPv6 literal in brackets: the form http(...) entries of
// allowed-tools are matched against.
func HTTPScope(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	return net.JoinHostPort(u.Hostname(), port)
}

// CheckRedirect decides whether an http.request of skill may follow a
// redirect to u: the target must be within its http scope too. The error is
// of kind denied and names what to add.
func CheckRedirect(skill *Skill, u *url.URL) error {
	if hp := HTTPScope(u); !skill.Permissions.Allows(OpHTTP, hp) {
		return httpDenied(skill.ID, hp, SpecialHost(u.Hostname()), "redirect to ")
	}
	return nil
}

// Listener is one of the engine's own listeners (its bridge, an `agentos
// mcp --http`): a skill's http op never connects to it, whatever its
// allowed-tools say.
type Listener struct {
	Name string // "bridge"
	Addr netip.AddrPort
}

// CheckHTTPDial decides whether an http.request of skill made for host:port
// may connect to ip, an address host resolved to (host itself when it is a
// literal): never to one of own, and to a loopback, private, link-local or
// metadata address only with an entry naming host:port (or ip:port)
// exactly. The engine calls it on the address it is about to connect to,
// after DNS and for every redirect, so a name that resolves (or rebinds) to
// 127.0.0.1 is refused like 127.0.0.1 itself. The error is of kind denied,
// names the entry to add and never the URL (its query may hold a key).
func CheckHTTPDial(skill *Skill, host, port string, ip netip.Addr, own []Listener) error {
	hp := net.JoinHostPort(host, port)
	for _, l := range own {
		if l.Addr.Port() == 0 || strconv.Itoa(int(l.Addr.Port())) != port {
			continue
		}
		a, b := ip.WithZone("").Unmap(), l.Addr.Addr().WithZone("").Unmap()
		if a == b || (localAddr(a) && localAddr(b)) {
			return errorf(KindDenied, "skill %s may not reach %s: it is the engine's own %s, which no skill's http op reaches (DESIGN §7.1)", skill.ID, hp, l.Name)
		}
	}
	class, ok := skill.Permissions.AllowsHTTPAddr(host, port, ip)
	if ok {
		return nil
	}
	resolved := ""
	if normalHost(host) != ip.WithZone("").Unmap().String() {
		resolved = ip.WithZone("").Unmap().String()
	}
	return httpDeniedTo(skill.ID, hp, class, "", resolved)
}

// localAddr: an address that reaches this machine's loopback listeners.
func localAddr(ip netip.Addr) bool {
	return ip.IsLoopback() || ip.IsUnspecified() || thisNet.Contains(ip)
}

func httpDenied(skillID, hostPort, class, what string) *Error {
	return httpDeniedTo(skillID, hostPort, class, what, "")
}

// httpDeniedTo says an http op of skill may not reach hostPort (what
// prefixes it, e.g. "redirect to "), class being SpecialAddr's word for it
// ("" for a public host out of scope) and resolved the address its name
// resolved to, if any.
func httpDeniedTo(skillID, hostPort, class, what, resolved string) *Error {
	if class == "" {
		return errorf(KindDenied, "skill %s may not http.request %s%s: add http(%s) to allowed-tools in its SKILL.md%s", skillID, what, hostPort, hostPort, orGrant(skillID))
	}
	kind := "a " + class + " address"
	if resolved != "" {
		kind = "it resolves to " + resolved + ", " + kind
	}
	return errorf(KindDenied, "skill %s may not http.request %s%s (%s, which only an entry naming that host and port exactly allows: http(*), *.domain and port-less entries do not): add http(%s) to allowed-tools in its SKILL.md%s",
		skillID, what, hostPort, kind, hostPort, orGrant(skillID))
}

// CheckCall decides whether tool t of skill s may run at all: a tool with
// @returns has its items stored in the graph, so it needs graph(write).
func CheckCall(s *Skill, t *Tool) error {
	if t.Returns != "" && !s.Permissions.Allows(OpGraph, "write") {
		return errorf(KindDenied, "%s.%s returns %s items, which are stored in the graph: add graph(write) to allowed-tools in its SKILL.md%s",
			s.ID, t.Name, t.Returns, orGrant(s.ID))
	}
	return nil
}

// orGrant is the other way to give a skill a permission: the user's own.
func orGrant(skillID string) string {
	return ", or grant it in config.yaml under skills." + skillID + ".grant"
}
