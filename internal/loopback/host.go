package loopback

import (
	"net"
	"net/netip"
	"net/url"
	"strings"
)

// IsLoopbackHost reports whether host (a name or an IP address, without
// port or brackets) always means this machine: "localhost", a name under
// ".localhost" (RFC 6761), or a loopback address (127.0.0.0/8, ::1, and
// IPv4-mapped forms of 127.0.0.0/8). Case and a trailing dot do not matter;
// anything else, including numeric forms such as "127.1" or "0x7f.1" that
// some resolvers accept, is not loopback.
func IsLoopbackHost(host string) bool {
	host = NormalHost(host)
	if host == "localhost" || (strings.HasSuffix(host, ".localhost") && validName(strings.TrimSuffix(host, ".localhost"))) {
		return true
	}
	addr, err := netip.ParseAddr(host)
	return err == nil && addr.Zone() == "" && addr.Unmap().IsLoopback()
}

// validName: dot-separated labels of letters, digits, '-' and '_', none
// empty (what a browser sends as a host name after IDNA).
func validName(s string) bool {
	if s == "" {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// NormalHost writes a host name as configured names are compared: lower
// case, no trailing dot.
func NormalHost(host string) string {
	return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(host)), ".")
}

// SplitHost returns the host of a Host header value ("name", "name:port",
// "1.2.3.4:port", "[::1]", "[::1]:port"), without brackets or port. It
// reports false for anything else: an empty host or port, a non-numeric
// port, a bare IPv6 address, brackets around something that is not one.
func SplitHost(hostport string) (string, bool) {
	host, port := hostport, ""
	if strings.HasPrefix(hostport, "[") {
		end := strings.IndexByte(hostport, ']')
		if end < 0 {
			return "", false
		}
		host, port = hostport[1:end], hostport[end+1:]
		if port != "" {
			if port[0] != ':' {
				return "", false
			}
			port = port[1:]
			if port == "" {
				return "", false
			}
		}
		if addr, err := netip.ParseAddr(host); err != nil || !addr.Is6() {
			return "", false
		}
	} else if i := strings.LastIndexByte(hostport, ':'); i >= 0 {
		host, port = hostport[:i], hostport[i+1:]
		if port == "" || strings.ContainsRune(host, ':') {
			return "", false
		}
	}
	if host == "" || len(port) > 5 || strings.Trim(port, "0123456789") != "" {
		return "", false
	}
	return host, true
}

// NormalOrigin writes an origin the way browsers send it: lower-case
// scheme and host, no default port, no trailing slash. What does not parse
// as scheme://host[:port] is returned as it is (and so matches only itself).
func NormalOrigin(o string) string {
	u, err := url.Parse(strings.TrimSuffix(strings.TrimSpace(o), "/"))
	if err != nil || u.Host == "" {
		return o
	}
	scheme, host := strings.ToLower(u.Scheme), strings.ToLower(u.Hostname())
	port := u.Port()
	if (scheme == "http" && port == "80") || (scheme == "https" && port == "443") {
		port = ""
	}
	if port != "" {
		host = net.JoinHostPort(host, port)
	} else if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return scheme + "://" + host
}

// originHost returns the host of an Origin header value that is exactly
// http(s)://host[:port] (a trailing "/" tolerated): no user, path, query
// or fragment.
func originHost(origin string) (string, bool) {
	u, err := url.Parse(origin)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Opaque != "" || u.User != nil ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.ContainsAny(origin, "#?") {
		return "", false
	}
	return SplitHost(u.Host)
}
