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
// host:port: an entry without a port allows every port of its host,
// "*.example.com" allows subdomains of example.com, "*" any host. A host
// that names this machine or the local network (a loopback, private,
// link-local or metadata address literal, localhost, metadata.google.internal:
// SpecialHost) is allowed only by an entry naming that host and port
// exactly: "*", "*.domain" and port-less entries do not cover it.
func (p Permissions) Allows(op, scope string) bool {
	if op == OpHTTP {
		if host, port := splitScope(scope); SpecialHost(host) != "" {
			return p.explicitHTTP(host, port)
		}
	}
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

// AllowsHTTPAddr reports whether an http request for host:port may connect
// to ip, an address host resolved to (or host itself, a literal). A public
// address is allowed (host was checked against the scope before); any other
// class (SpecialAddr) needs an entry naming host:port, or ip:port, exactly.
// It returns the class of ip ("" when public).
func (p Permissions) AllowsHTTPAddr(host, port string, ip netip.Addr) (class string, ok bool) {
	class = SpecialAddr(ip)
	if class == "" {
		return "", true
	}
	return class, p.explicitHTTP(host, port) || p.explicitHTTP(ip.WithZone("").Unmap().String(), port)
}

// explicitHTTP reports whether an http entry names host and port exactly
// (case and a final dot aside; IP literals compared as addresses).
func (p Permissions) explicitHTTP(host, port string) bool {
	if port == "" {
		return false
	}
	want := normalHost(host)
	for _, granted := range p[OpHTTP] {
		gHost, gPort := splitScope(granted)
		if gPort == port && !strings.Contains(gHost, "*") && normalHost(gHost) == want {
			return true
		}
	}
	return false
}

// normalHost is host lower-cased without a final dot, an IP literal in its
// canonical form (IPv4-mapped IPv6 unmapped, zone dropped).
func normalHost(host string) string {
	host = strings.TrimSuffix(strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")), ".")
	if ip, err := netip.ParseAddr(host); err == nil {
		return ip.WithZone("").Unmap().String()
	}
	return host
}

// Cloud metadata services: never reachable through http(*) (DESIGN §7.1).
var metadataAddrs = map[netip.Addr]bool{
	netip.MustParseAddr("169.254.169.254"): true, // AWS, GCP, Azure, OpenStack, ...
	netip.MustParseAddr("169.254.170.2"):   true, // AWS ECS task metadata
	netip.MustParseAddr("fd00:ec2::254"):   true, // AWS IMDS over IPv6
	netip.MustParseAddr("100.100.100.200"): true, // Alibaba Cloud
}

var (
	nat64     = netip.MustParsePrefix("64:ff9b::/96")  // embeds an IPv4 address
	cgnat     = netip.MustParsePrefix("100.64.0.0/10") // shared address space (RFC 6598): carrier NAT, tailnets
	thisNet   = netip.MustParsePrefix("0.0.0.0/8")     // "this network": 0.0.0.0 reaches this machine
	reserved4 = netip.MustParsePrefix("240.0.0.0/4")   // reserved, and the broadcast address
	siteLocal = netip.MustParsePrefix("fec0::/10")     // deprecated IPv6 site-local
)

// SpecialAddr names why ip needs an explicit host:port entry to be reached
// by a skill's http op: "loopback", "private", "link-local", "cloud
// metadata", "unspecified", "shared", "multicast" or "reserved"; "" for a
// public address. IPv4-mapped and NAT64 IPv6 addresses are judged by the
// IPv4 address they carry.
func SpecialAddr(ip netip.Addr) string {
	ip = ip.WithZone("").Unmap()
	if nat64.Contains(ip) {
		b := ip.As16()
		ip = netip.AddrFrom4([4]byte(b[12:]))
	}
	switch {
	case !ip.IsValid():
		return "reserved"
	case metadataAddrs[ip]:
		return "cloud metadata"
	case ip.IsLoopback():
		return "loopback"
	case ip.IsUnspecified() || thisNet.Contains(ip):
		return "unspecified"
	case ip.IsPrivate() || siteLocal.Contains(ip):
		return "private"
	case ip.IsLinkLocalUnicast():
		return "link-local"
	case cgnat.Contains(ip):
		return "shared"
	case ip.IsMulticast() || ip.IsLinkLocalMulticast() || ip.IsInterfaceLocalMulticast():
		return "multicast"
	case reserved4.Contains(ip):
		return "reserved"
	}
	return ""
}

// SpecialHost is SpecialAddr for a URL's host before any DNS lookup: an IP
// literal's class, "loopback" for localhost and *.localhost (RFC 6761),
// "cloud metadata" for the metadata services' names; "" otherwise (a name
// is judged again by the addresses it resolves to, AllowsHTTPAddr).
func SpecialHost(host string) string {
	h := normalHost(host)
	if ip, err := netip.ParseAddr(h); err == nil {
		return SpecialAddr(ip)
	}
	switch {
	case h == "localhost" || strings.HasSuffix(h, ".localhost"):
		return "loopback"
	case h == "metadata.google.internal" || h == "metadata.goog" || h == "metadata":
		return "cloud metadata"
	}
	return ""
}

func hostMatches(granted, target string) bool {
	host, port := splitScope(target)
	gHost, gPort := splitScope(granted)
	if gPort != "" && gPort != port {
		return false
	}
	host, gHost = normalHost(host), strings.TrimSuffix(strings.ToLower(gHost), ".")
	if suffix, ok := strings.CutPrefix(gHost, "*."); ok {
		return strings.HasSuffix(host, "."+suffix)
	}
	return normalHost(gHost) == host
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
