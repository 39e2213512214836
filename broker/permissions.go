package broker

import (
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Ops a skill may be granted in allowed-tools (DESIGN §7).
const (
	OpHTTP       = "http"
	OpSecrets    = "secrets"
	OpGraph      = "graph"
	OpCapability = "capability"
	// OpFiles is the user's files: files(read PATH...) / files(write
	// PATH...). No sideband op checks it: the sandbox lets a call reach
	// exactly those paths (Call.ReadPaths, Call.WritePaths). Only a grant in
	// config.yaml makes it effective; in a SKILL.md it is a request the
	// engine shows the user (docs/skills.md).
	OpFiles = "files"
	// OpClient is the caller's MCP client: client(elicit) asks the user a
	// question, client(sample) asks the client's model. Only a call made
	// by an MCP client that offers the feature can use them.
	OpClient = "client"
	// OpAgents runs agents: agents(researcher) the named ones, agents(*)
	// any (DESIGN §15).
	OpAgents = "agents"
)

var knownOps = map[string]bool{OpHTTP: true, OpSecrets: true, OpGraph: true, OpCapability: true, OpFiles: true, OpClient: true, OpAgents: true}

// Files modes: a files scope is stored as mode + ":" + path.
const (
	FilesRead  = "read"
	FilesWrite = "write"
)

// Permissions maps an op to the scopes granted for it. An op granted with
// no scope list (`graph`) is granted whole; "*" in a scope list means any.
// A files scope is "read:/abs/path" or "write:/abs/path".
type Permissions map[string][]string

// ParsePermissions reads an allowed-tools value:
//
//	http(api.openai.com localhost:11434) secrets(openai) graph(read write) capability(llm)
//
// Unknown ops and malformed scopes are errors: a typo must not silently
// grant or withhold access. A files(...) entry keeps a ~/ path as written
// (cleaned): SKILL.md is the author's, and ~ there can only be a request.
func ParsePermissions(s string) (Permissions, error) {
	p, _, err := ParseAllowedTools(s)
	return p, err
}

// ParseAllowedTools is ParsePermissions that also accepts the entries of
// other agents' tools, which the Agent Skills standard's allowed-tools
// holds too (`Bash(git:*) Read WebFetch mcp__github__get_issue`): an entry
// whose name starts with an upper-case letter or mcp__ is no engine op. It
// grants nothing here and is returned as written, for the agents it names.
func ParseAllowedTools(s string) (Permissions, []string, error) {
	return parsePermissionsForeign(s, "", "allowed-tools", true)
}

// foreignTool says whether an allowed-tools entry names another agent's
// tool rather than an engine op.
func foreignTool(op string) bool {
	r, _ := utf8.DecodeRuneInString(op)
	return unicode.IsUpper(r) || strings.HasPrefix(op, "mcp__")
}

// ParseGrant reads one grant of config.yaml (skills.<id>.grant), in the
// allowed-tools grammar; a ~/ path of files(...) is expanded to home. An
// empty home keeps ~ as written (to check a grant's syntax only).
func ParseGrant(s, home string) (Permissions, error) {
	return parsePermissions(s, home, "grant")
}

func parsePermissions(s, home, where string) (Permissions, error) {
	p, _, err := parsePermissionsForeign(s, home, where, false)
	return p, err
}

func parsePermissionsForeign(s, home, where string, allowForeign bool) (Permissions, []string, error) {
	p := Permissions{}
	var foreign []string
	rest := strings.TrimSpace(s)
	for rest != "" {
		end := strings.IndexAny(rest, " \t(")
		if end < 0 {
			end = len(rest)
		}
		op := rest[:end]
		rest = rest[end:]
		if allowForeign && foreignTool(op) {
			entry := op
			if strings.HasPrefix(rest, "(") {
				closeAt := strings.IndexByte(rest, ')')
				if closeAt < 0 {
					closeAt = len(rest) - 1
				}
				entry += rest[:closeAt+1]
				rest = rest[closeAt+1:]
			}
			foreign = append(foreign, entry)
			rest = strings.TrimSpace(rest)
			continue
		}
		if !knownOps[op] {
			return nil, nil, fmt.Errorf("%s: unknown op %q (known: http, secrets, graph, capability, files, client, agents; another agent's tools start with a capital letter or mcp__)", where, op)
		}
		var scopes []string
		if strings.HasPrefix(rest, "(") {
			closeAt := strings.IndexByte(rest, ')')
			if closeAt < 0 {
				return nil, nil, fmt.Errorf("%s: %s( has no closing parenthesis", where, op)
			}
			scopes = strings.Fields(rest[1:closeAt])
			if len(scopes) == 0 {
				return nil, nil, fmt.Errorf("%s: %s() grants nothing; drop it or name a scope", where, op)
			}
			rest = rest[closeAt+1:]
		} else {
			scopes = []string{"*"}
		}
		var err error
		if op == OpFiles {
			scopes, err = filesScopes(scopes, home)
		} else {
			for _, sc := range scopes {
				if err = checkScope(op, sc); err != nil {
					break
				}
			}
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", where, err)
		}
		p[op] = mergeScopes(p[op], scopes)
		rest = strings.TrimSpace(rest)
	}
	return p, foreign, nil
}

// filesScopes reads the words of files(...): a mode (read or write), then
// paths, each absolute or ~/..., with no ".." (a grant says plainly what
// it gives). A later mode word switches the mode for the paths after it.
func filesScopes(words []string, home string) ([]string, error) {
	if words[0] != FilesRead && words[0] != FilesWrite {
		return nil, fmt.Errorf("files(%s): start with read or write, then the paths: files(read ~/Notes)", strings.Join(words, " "))
	}
	var mode string
	var out []string
	paths := 0 // since the last mode word
	for _, w := range words {
		if w == FilesRead || w == FilesWrite {
			if mode != "" && paths == 0 {
				break
			}
			mode, paths = w, 0
			continue
		}
		path, err := filesPath(w, home)
		if err != nil {
			return nil, err
		}
		out = append(out, mode+":"+path)
		paths++
	}
	if paths == 0 {
		return nil, fmt.Errorf("files(%s): %s names no path", strings.Join(words, " "), mode)
	}
	return out, nil
}

func filesPath(w, home string) (string, error) {
	if w == "*" {
		return "", fmt.Errorf("files scope *: name the folders or files to grant, not everything")
	}
	rest, tilde := strings.CutPrefix(w, "~")
	if tilde && rest != "" && rest[0] != '/' {
		return "", fmt.Errorf("files scope %q: only ~/ (your home) is understood, not ~user", w)
	}
	if !tilde && !filepath.IsAbs(w) {
		return "", fmt.Errorf("files scope %q: give an absolute path or one under ~/", w)
	}
	for _, el := range strings.Split(filepath.ToSlash(w), "/") {
		if el == ".." {
			return "", fmt.Errorf("files scope %q: a path with .. is refused: write where it leads", w)
		}
	}
	if !tilde {
		return filepath.Clean(w), nil
	}
	if home == "" {
		return filepath.Clean("~/" + rest), nil
	}
	return filepath.Join(home, rest), nil
}

func checkScope(op, scope string) error {
	if scope == "*" {
		return nil
	}
	switch op {
	case OpGraph:
		if scope != "read" && scope != "write" {
			return fmt.Errorf("graph scope %q: use read and/or write", scope)
		}
	case OpClient:
		if scope != "elicit" && scope != "sample" {
			return fmt.Errorf("client scope %q: use elicit and/or sample", scope)
		}
	case OpHTTP:
		if strings.ContainsAny(scope, "/@ ") {
			return fmt.Errorf("http scope %q: give a host, host:port or *.domain, not a URL", scope)
		}
		host, port := splitScope(strings.TrimPrefix(scope, "*."))
		if port != "" {
			if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
				return fmt.Errorf("http scope %q: the port must be a number from 1 to 65535", scope)
			}
		}
		if _, err := netip.ParseAddr(host); err != nil && (host == "" || strings.ContainsAny(host, ":[]")) {
			return fmt.Errorf("http scope %q: give a host, host:port, [ipv6]:port or *.domain", scope)
		}
	case OpSecrets:
		if !secretScope.MatchString(scope) {
			return fmt.Errorf("secrets scope %q: secret names are letters, digits, _ . - (separate several with spaces)", scope)
		}
	case OpAgents:
		if !agentScope.MatchString(scope) {
			return fmt.Errorf("agents scope %q: agent names are lowercase letters, digits and hyphens (separate several with spaces)", scope)
		}
	case OpCapability:
		if !capabilityScope.MatchString(scope) {
			return fmt.Errorf("capability scope %q: capability names are like llm or web.read (separate several with spaces)", scope)
		}
	}
	return nil
}

// Files returns the paths of the files(...) entries, by mode: what the
// sandbox lets a call read, and read and write.
func (p Permissions) Files() (read, write []string) {
	for _, sc := range p[OpFiles] {
		if path, ok := strings.CutPrefix(sc, FilesRead+":"); ok {
			read = append(read, path)
		} else if path, ok := strings.CutPrefix(sc, FilesWrite+":"); ok {
			write = append(write, path)
		}
	}
	return read, write
}

var (
	secretScope     = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,128}$`)
	capabilityScope = regexp.MustCompile(`^[a-z0-9_-]+(\.[a-z0-9_-]+)*$`)
	agentScope      = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)
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
		if op == OpFiles {
			read, write := p.Files()
			for _, m := range []struct {
				mode  string
				paths []string
			}{{FilesRead, read}, {FilesWrite, write}} {
				if len(m.paths) > 0 {
					parts = append(parts, "files("+m.mode+" "+strings.Join(m.paths, " ")+")")
				}
			}
			continue
		}
		parts = append(parts, op+"("+strings.Join(p[op], " ")+")")
	}
	return strings.Join(parts, " ")
}
