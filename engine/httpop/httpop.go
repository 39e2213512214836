package httpop

import (
	"bytes"
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/agentos/agentos/broker"
	"github.com/agentos/agentos/engine/wire"
)

// HTTP op limits.
const (
	httpMaxBody      = 32 << 20
	httpMaxRedirects = 5
	httpDefaultWait  = 30 * time.Second
	httpIdleConn     = 5 * time.Second // a call's idle connections close this long after its last request
)

// Net is where one call's http op may connect (DESIGN §7.1): its
// connections are dialed only to addresses broker.CheckHTTPDial allows for
// the skill, after DNS resolution, for the first request and every
// redirect, and never through a proxy (a proxy would resolve the name
// itself, out of our sight). Each call has its own transport, so a
// connection one skill was allowed to open is never reused by another.
type Net struct {
	skill   *broker.Skill
	own     []broker.Listener // the engine's own listeners (its bridge): never reached
	version string            // the engine's, for the User-Agent

	// Test hooks, set only by this package's tests (never from config or
	// options): lookup replaces DNS, dial replaces the connect that
	// follows the check (so a test can pretend an address is public).
	lookup func(ctx context.Context, host string) ([]netip.Addr, error)
	dial   func(ctx context.Context, network, addr string) (net.Conn, error)

	once sync.Once
	tr   *http.Transport

	mu      sync.Mutex
	streams map[string]*stream // open bodies of stream requests (stream.go)
	seq     int
}

func (n *Net) transport() *http.Transport {
	n.once.Do(func() {
		n.tr = &http.Transport{
			Proxy:                 nil,
			DialContext:           n.dialContext,
			ForceAttemptHTTP2:     true,
			MaxIdleConnsPerHost:   4,
			IdleConnTimeout:       httpIdleConn,
			TLSHandshakeTimeout:   10 * time.Second,
			ExpectContinueTimeout: time.Second,
		}
	})
	return n.tr
}

// dialContext connects to addr (host:port from the URL) at the first of
// its addresses the skill may reach. When none may be reached, the denial
// is the error, naming the allowed-tools entry that would allow it.
func (n *Net) dialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	var ips []netip.Addr
	if ip, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")); err == nil {
		ips = []netip.Addr{ip}
	} else if broker.SpecialHost(host) == "loopback" {
		// localhost and *.localhost are this machine (RFC 6761), however
		// the system resolver would answer for them.
		ips = []netip.Addr{netip.IPv6Loopback(), netip.AddrFrom4([4]byte{127, 0, 0, 1})}
	} else {
		lookup := n.lookup
		if lookup == nil {
			lookup = func(ctx context.Context, host string) ([]netip.Addr, error) {
				return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
			}
		}
		if ips, err = lookup(ctx, host); err != nil {
			return nil, err
		}
	}
	var denied, failed error
	for _, ip := range ips {
		if err := broker.CheckHTTPDial(n.skill, host, port, ip, n.own); err != nil {
			denied = cmp.Or(denied, err)
			continue
		}
		conn, err := n.dialAddr(ctx, network, host, port, ip)
		if err == nil {
			return conn, nil
		}
		failed = err
	}
	if denied != nil {
		return nil, denied
	}
	if failed == nil {
		failed = fmt.Errorf("%s has no address", host)
	}
	return nil, failed
}

// dialAddr connects to ip:port. The socket's own connect is checked once
// more (net.Dialer.Control sees the very address connect(2) gets).
func (n *Net) dialAddr(ctx context.Context, network, host, port string, ip netip.Addr) (net.Conn, error) {
	target := net.JoinHostPort(ip.String(), port)
	if n.dial != nil {
		return n.dial(ctx, network, target)
	}
	d := &net.Dialer{Control: func(_, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return fmt.Errorf("connect to %s: %w", address, err)
		}
		return broker.CheckHTTPDial(n.skill, host, port, ap.Addr(), n.own)
	}}
	return d.DialContext(ctx, network, target)
}

type httpParams struct {
	Method  string            `json:"method"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers"`
	Body    *string           `json:"body"`
	BodyB64 *string           `json:"body_b64"`
	Timeout float64           `json:"timeout"`
	// Stream leaves the body open: the result has a stream id instead of
	// the body, read with http.read (stream.go).
	Stream bool `json:"stream"`
}

// New is the http op of one call of skill, which must never reach own.
func New(skill *broker.Skill, own []broker.Listener, version string) *Net {
	return &Net{skill: skill, own: own, version: version}
}

// Request makes a skill's HTTP request (the http.request op's params).
// Redirects are followed only to hosts the skill may reach too, at most
// httpMaxRedirects times; every connection goes through n's checks; bodies
// are capped at httpMaxBody.
func (n *Net) Request(ctx context.Context, raw json.RawMessage) (any, error) {
	var p httpParams
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, wire.Errorf(wire.KindInvalid, "http.request: %v", err)
	}
	var body io.Reader
	switch {
	case p.Body != nil && p.BodyB64 != nil:
		return nil, wire.Errorf(wire.KindInvalid, "http.request: give body or body_b64, not both")
	case p.Body != nil:
		body = strings.NewReader(*p.Body)
	case p.BodyB64 != nil:
		b, err := base64.StdEncoding.DecodeString(*p.BodyB64)
		if err != nil {
			return nil, wire.Errorf(wire.KindInvalid, "http.request: body_b64: %v", err)
		}
		body = bytes.NewReader(b)
	}
	wait := httpDefaultWait
	if p.Timeout > 0 {
		wait = time.Duration(p.Timeout * float64(time.Second))
	}
	// The wait bounds the answer's headers; a stream's reads have their own.
	callCtx := ctx
	ctx, cancel := context.WithCancel(ctx)
	timer := time.AfterFunc(wait, cancel)
	keep := false
	defer func() {
		if !keep {
			timer.Stop()
			cancel()
		}
	}()
	method := strings.ToUpper(p.Method)
	if method == "" {
		method = http.MethodGet
	}
	req, err := http.NewRequestWithContext(ctx, method, p.URL, body)
	if err != nil {
		return nil, wire.Errorf(wire.KindInvalid, "http.request: %v", err)
	}
	for k, v := range p.Headers {
		req.Header.Set(k, v)
	}
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", "agentos/"+n.version+" (skill "+n.skill.ID+")")
	}
	client := &http.Client{Transport: n.transport(), CheckRedirect: func(r *http.Request, via []*http.Request) error {
		if len(via) >= httpMaxRedirects {
			return fmt.Errorf("more than %d redirects", httpMaxRedirects)
		}
		return broker.CheckRedirect(n.skill, r.URL)
	}}
	resp, err := client.Do(req)
	if err != nil {
		var ee *wire.Error
		var be *broker.Error // a redirect or an address the skill may not reach
		var ne net.Error
		var ue *url.Error
		switch {
		case errors.As(err, &ee):
			return nil, ee
		case errors.As(err, &be):
			return nil, be
		case ctx.Err() != nil && errors.Is(ctx.Err(), context.Canceled):
			return nil, wire.Errorf(wire.KindCancelled, "http.request %s: the call was cancelled", req.URL.Host)
		case ctx.Err() != nil || (errors.As(err, &ne) && ne.Timeout()):
			return nil, wire.Errorf(wire.KindTimeout, "http.request %s: no answer within %s", req.URL.Host, wait)
		case errors.As(err, &ue):
			// url.Error's text repeats the whole URL, query (and keys) included.
			err = ue.Err
		}
		return nil, wire.Errorf(wire.KindUnavailable, "http.request %s: %v", req.URL.Host, err)
	}
	headers := make(map[string]string, len(resp.Header))
	for k, v := range resp.Header {
		headers[k] = strings.Join(v, ", ")
	}
	if p.Stream && timer.Stop() {
		id, err := n.open(callCtx, resp.Body, cancel, wait, req.URL.Host)
		if err != nil {
			resp.Body.Close()
			return nil, err
		}
		keep = true
		return map[string]any{"status": resp.StatusCode, "headers": headers, "stream": id}, nil
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, httpMaxBody+1))
	if err != nil {
		return nil, wire.Errorf(wire.KindUnavailable, "http.request %s: reading the body: %v", req.URL.Host, err)
	}
	if len(data) > httpMaxBody {
		return nil, wire.Errorf(wire.KindInvalid, "http.request %s: the response body is larger than %d MiB", req.URL.Host, httpMaxBody>>20)
	}
	out := map[string]any{"status": resp.StatusCode, "headers": headers, "body": strings.ToValidUTF8(string(data), "\uFFFD")}
	if !utf8.Valid(data) {
		out["body_b64"] = base64.StdEncoding.EncodeToString(data)
	}
	return out, nil
}
