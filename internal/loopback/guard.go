package loopback

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// GuardOptions say what a Guard accepts besides loopback names and pages.
type GuardOptions struct {
	// Hosts are extra Host names (without port), e.g. one the user put in
	// /etc/hosts; compared after NormalHost.
	Hosts []string
	// Origins are extra origins ("https://app.example"), e.g. apps the user
	// lets call from a browser; compared after NormalOrigin.
	Origins []string
	// Refuse writes the answer to a refused request; err is a *RefusedError.
	// Nil answers 403 with the reason as plain text.
	Refuse func(w http.ResponseWriter, r *http.Request, err *RefusedError)
}

// RefusedError says which header a Guard refused a request for.
type RefusedError struct {
	Header string // "Host" or "Origin"
	Value  string // as the request sent it
}

func (e *RefusedError) Error() string {
	v := e.Value
	if len(v) > 100 {
		v = v[:100] + "…"
	}
	return fmt.Sprintf("%s %q is not allowed: only loopback names and pages may call (DNS-rebinding protection)", e.Header, v)
}

// Checker holds GuardOptions normalized, for checks outside a Guard.
type Checker struct {
	hosts, origins []string
}

// NewChecker normalizes opts' Hosts and Origins (blank entries dropped).
func NewChecker(opts GuardOptions) *Checker {
	c := &Checker{}
	for _, h := range opts.Hosts {
		if h = NormalHost(h); h != "" {
			c.hosts = append(c.hosts, h)
		}
	}
	for _, o := range opts.Origins {
		if o = strings.TrimSpace(o); o != "" {
			c.origins = append(c.origins, NormalOrigin(o))
		}
	}
	return c
}

// HostAllowed: a Host header value naming a loopback host, or a configured
// one, with an optional port.
func (c *Checker) HostAllowed(hostport string) bool {
	h, ok := SplitHost(hostport)
	return ok && (IsLoopbackHost(h) || slices.Contains(c.hosts, NormalHost(h)))
}

// OriginAllowed: no Origin at all, a loopback page (http or https, any
// port), or a configured origin. "null" (sandboxed frames, file: pages) is
// never allowed.
func (c *Checker) OriginAllowed(origin string) bool {
	if origin == "" {
		return true
	}
	if c.Configured(origin) {
		return true
	}
	h, ok := originHost(origin)
	return ok && IsLoopbackHost(h)
}

// Configured reports whether origin is one of the configured Origins.
func (c *Checker) Configured(origin string) bool {
	return origin != "" && origin != "null" && slices.Contains(c.origins, NormalOrigin(origin))
}

// Check returns nil, or a *RefusedError for the request's Host or Origin.
func (c *Checker) Check(r *http.Request) error {
	if err := c.check(r); err != nil {
		return err
	}
	return nil
}

func (c *Checker) check(r *http.Request) *RefusedError {
	if !c.HostAllowed(r.Host) {
		return &RefusedError{Header: "Host", Value: r.Host}
	}
	if o := r.Header.Get("Origin"); !c.OriginAllowed(o) {
		return &RefusedError{Header: "Origin", Value: o}
	}
	return nil
}

// Guard returns middleware refusing requests whose Host is not loopback
// (or configured) or whose Origin, when present, is not a loopback page (or
// configured): DNS rebinding and pages of other sites. It checks only what
// a browser cannot be made to lie about; who the caller is, is the
// listener's business (Listen).
func Guard(opts GuardOptions) func(http.Handler) http.Handler {
	c := NewChecker(opts)
	refuse := opts.Refuse
	if refuse == nil {
		refuse = func(w http.ResponseWriter, _ *http.Request, err *RefusedError) {
			http.Error(w, "Forbidden: "+err.Error(), http.StatusForbidden)
		}
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if err := c.check(r); err != nil {
				refuse(w, r, err)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}
