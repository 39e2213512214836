package broker

import (
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Ops a skill may be granted in allowed-tools (DESIGN §7).
const (
	OpHTTP       = "http"
	OpSecrets    = "secrets"
	OpGraph      = "graph"
	OpCapability = "capability"
)

var knownOps = map[string]bool{OpHTTP: true, OpSecrets: true, OpGraph: true, OpCapability: true}

// Permissions maps an op to the scopes granted for it. An op granted with
// no scope list (`graph`) is granted whole; "*" in a scope list means any.
type Permissions map[string][]string

// ParsePermissions reads an allowed-tools value:
//
//	http(api.openai.com localhost:11434) secrets(openai) graph(read write) capability(llm)
//
// Unknown ops and malformed scopes are errors: a typo must not silently
// grant or withhold access.
func ParsePermissions(s string) (Permissions, error) {
	p := Permissions{}
	rest := strings.TrimSpace(s)
	for rest != "" {
		end := strings.IndexAny(rest, " \t(")
		if end < 0 {
			end = len(rest)
		}
		op := rest[:end]
		rest = rest[end:]
		if !knownOps[op] {
			return nil, fmt.Errorf("allowed-tools: unknown op %q (known: http, secrets, graph, capability)", op)
		}
		var scopes []string
		if strings.HasPrefix(rest, "(") {
			closeAt := strings.IndexByte(rest, ')')
			if closeAt < 0 {
				return nil, fmt.Errorf("allowed-tools: %s( has no closing parenthesis", op)
			}
			scopes = strings.Fields(rest[1:closeAt])
			if len(scopes) == 0 {
				return nil, fmt.Errorf("allowed-tools: %s() grants nothing; drop it or name a scope", op)
			}
			rest = rest[closeAt+1:]
		} else {
			scopes = []string{"*"}
		}
		for _, sc := range scopes {
			if err := checkScope(op, sc); err != nil {
				return nil, err
			}
		}
		p[op] = mergeScopes(p[op], scopes)
		rest = strings.TrimSpace(rest)
	}
	return p, nil
}

func checkScope(op, scope string) error {
	if scope == "*" {
		return nil
	}
	switch op {
	case OpGraph:
		if scope != "read" && scope != "write" {
			return fmt.Errorf("allowed-tools: graph scope %q: use read and/or write", scope)
		}
	case OpHTTP:
		if strings.ContainsAny(scope, "/@ ") {
			return fmt.Errorf("allowed-tools: http scope %q: give a host, host:port or *.domain, not a URL", scope)
		}
		host, port := splitScope(strings.TrimPrefix(scope, "*."))
		if port != "" {
			if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
				return fmt.Errorf("allowed-tools: http scope %q: the port must be a number from 1 to 65535", scope)
			}
		}
		if _, err := netip.ParseAddr(host); err != nil && (host == "" || strings.ContainsAny(host, ":[]")) {
			return fmt.Errorf("allowed-tools: http scope %q: give a host, host:port, [ipv6]:port or *.domain", scope)
		}
	case OpSecrets:
		if !secretScope.MatchString(scope) {
			return fmt.Errorf("allowed-tools: secrets scope %q: secret names are letters, digits, _ . - (separate several with spaces)", scope)
		}
	case OpCapability:
		if !capabilityScope.MatchString(scope) {
			return fmt.Errorf("allowed-tools: capability scope %q: capability names are like llm or web.read (separate several with spaces)", scope)
		}
	}
	return nil
}

var (
	secretScope     = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,128}$`)
	capabilityScope = regexp.MustCompile(`^[a-z0-9_-]+(\.[a-z0-9_-]+)*$`)
)

// splitScope splits host[:port], brackets of an IPv6 literal removed.
func splitScope(s string) (host, port string) {
	if h, p, err := net.SplitHostPort(s); err == nil {
		return h, p
	}
	return strings.TrimSuffix(strings.TrimPrefix(s, "["), "]"), ""
}

func mergeScopes(a, b []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range append(append([]string(nil), a...), b...) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

// Allows reports whether op is granted for scope. For http the scope is a
// host or host:port: an entry without a port allows every port of its host,
// "*.example.com" allows subdomains of example.com.
func (p Permissions) Allows(op, scope string) bool {
	for _, granted := range p[op] {
		if granted == "*" || granted == scope {
			return true
		}
		if op == OpHTTP && hostMatches(granted, scope) {
			return true
		}
	}
	return false
}

func hostMatches(granted, target string) bool {
	host, port := splitScope(target)
	gHost, gPort := splitScope(granted)
	if gPort != "" && gPort != port {
		return false
	}
	host, gHost = strings.ToLower(host), strings.ToLower(gHost)
	if suffix, ok := strings.CutPrefix(gHost, "*."); ok {
		return strings.HasSuffix(host, "."+suffix)
	}
	return gHost == host
}

// String renders the permissions in allowed-tools syntax, ops sorted.
func (p Permissions) String() string {
	ops := make([]string, 0, len(p))
	for op := range p {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	parts := make([]string, 0, len(ops))
	for _, op := range ops {
		parts = append(parts, op+"("+strings.Join(p[op], " ")+")")
	}
	return strings.Join(parts, " ")
}
