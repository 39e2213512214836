package engine

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/agentos/agentos/broker"
	"github.com/agentos/agentos/engine/wire"
	"github.com/agentos/agentos/graph"
)

// skillOps answers the sideband ops of one running tool. Every op is checked
// against the skill's allowed-tools and written to the audit log, allowed or
// not.
type skillOps struct {
	srv    *Server
	rt     *skillsRuntime
	skill  *broker.Skill
	tool   string
	callID string
	job    *Job
	// inFlight bounds the ops one call has running at once: an async tool
	// gathering hundreds of HTTP requests must not exhaust the engine.
	inFlight chan struct{}
}

// maxOpsInFlight is how many ops one call may have running at once.
const maxOpsInFlight = 16

// HTTP op limits.
const (
	httpMaxBody      = 32 << 20
	httpMaxRedirects = 5
	httpDefaultWait  = 30 * time.Second
)

func (o *skillOps) HandleOp(ctx context.Context, op broker.Op) (json.RawMessage, error) {
	select {
	case o.inFlight <- struct{}{}:
		defer func() { <-o.inFlight }()
	case <-ctx.Done():
		return nil, wire.Errorf(wire.KindCancelled, "%s: the call ended", op.Name)
	}
	start := time.Now()
	perm, scope, err := o.permissionFor(op)
	rec := auditRecord{At: start.UTC(), Skill: o.skill.ID, Tool: o.tool, CallID: o.callID, Op: op.Name, Scope: scope}
	var res any
	if err == nil {
		if !o.skill.Permissions.Allows(perm, scope) {
			err = wire.Errorf(wire.KindDenied, "skill %s may not %s %s: add %s(%s) to allowed-tools in its SKILL.md",
				o.skill.ID, op.Name, scope, perm, scope)
		} else {
			rec.Allowed = true
			res, err = o.do(graph.WithActor(ctx, "skill:"+o.skill.ID), op)
		}
	}
	rec.MS = float64(time.Since(start).Microseconds()) / 1000
	if err != nil {
		rec.Error = err.Error()
	}
	o.rt.audit.write(rec)
	if err != nil {
		return nil, err
	}
	b, merr := json.Marshal(res)
	if merr != nil {
		return nil, wire.Errorf(wire.KindInternal, "encode %s result: %v", op.Name, merr)
	}
	return b, nil
}

// permissionFor names the allowed-tools entry an op needs.
func (o *skillOps) permissionFor(op broker.Op) (perm, scope string, err error) {
	switch op.Name {
	case "http.request":
		var p struct {
			URL string `json:"url"`
		}
		json.Unmarshal(op.Params, &p)
		u, perr := url.Parse(p.URL)
		if perr != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
			// The URL is not repeated: its query may hold a key.
			return "", "", wire.Errorf(wire.KindInvalid, "http.request: not an absolute http(s) URL (scheme://host/...)")
		}
		return broker.OpHTTP, hostPort(u), nil
	case "secrets.get":
		var p struct {
			Name string `json:"name"`
		}
		json.Unmarshal(op.Params, &p)
		return broker.OpSecrets, p.Name, nil
	case "graph.read", "graph.search":
		return broker.OpGraph, "read", nil
	case "graph.write":
		return broker.OpGraph, "write", nil
	case "capability.invoke":
		var p struct {
			Capability string `json:"capability"`
		}
		json.Unmarshal(op.Params, &p)
		return broker.OpCapability, p.Capability, nil
	}
	return "", "", wire.Errorf(wire.KindInvalid, "unknown op %q", op.Name)
}

func (o *skillOps) do(ctx context.Context, op broker.Op) (any, error) {
	switch op.Name {
	case "http.request":
		return o.httpRequest(ctx, op.Params)
	case "graph.read":
		return o.method(ctx, wire.MethodRead, op.Params)
	case "graph.search":
		return o.method(ctx, wire.MethodSearch, op.Params)
	case "graph.write":
		return o.method(ctx, wire.MethodWrite, op.Params)
	case "secrets.get":
		return o.secretGet(ctx, op.Params)
	case "capability.invoke":
		var p struct {
			Capability string          `json:"capability"`
			Params     json.RawMessage `json:"params"`
			Provider   string          `json:"provider"`
		}
		if err := json.Unmarshal(op.Params, &p); err != nil {
			return nil, wire.Errorf(wire.KindInvalid, "capability.invoke: %v", err)
		}
		// A nested call is a job of its own under this call's job: cancel
		// the outer job and the nested one stops with it.
		return o.srv.runJob(ctx, "skill:"+o.skill.ID, func(j *Job) (any, error) {
			o.srv.jobs.set(j, func(j *Job) { j.Capability = p.Capability })
			return o.srv.invoke(ctx, j, p.Capability, p.Provider, objectOrEmpty(p.Params))
		})
	}
	return nil, wire.Errorf(wire.KindInvalid, "unknown op %q", op.Name)
}

// method runs an engine method for a skill, through the same table callers
// use, so a skill's graph access is exactly a caller's.
func (o *skillOps) method(ctx context.Context, name string, params json.RawMessage) (any, error) {
	return o.srv.methods[name].handle(ctx, &call{caller: "skill:" + o.skill.ID}, params)
}

func (o *skillOps) Progress(current, total float64, message string) {
	o.srv.jobs.progress(o.job, current, total, message)
}

// Log writes a skill's log line to the engine log, tagged with the skill.
func (o *skillOps) Log(level, message string) {
	lvl := map[string]slog.Level{"debug": slog.LevelDebug, "warning": slog.LevelWarn, "warn": slog.LevelWarn, "error": slog.LevelError}[level]
	o.rt.log.Log(context.Background(), lvl, message, "skill", o.skill.ID, "tool", o.tool, "call", o.callID)
}

type httpParams struct {
	Method  string            `json:"method"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers"`
	Body    *string           `json:"body"`
	BodyB64 *string           `json:"body_b64"`
	Timeout float64           `json:"timeout"`
}

// httpRequest makes a skill's HTTP request. Redirects are followed only to
// hosts the skill may reach too, at most httpMaxRedirects times; bodies are
// capped at httpMaxBody.
func (o *skillOps) httpRequest(ctx context.Context, raw json.RawMessage) (any, error) {
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
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
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
		req.Header.Set("User-Agent", "agentos/"+o.srv.opts.Version+" (skill "+o.skill.ID+")")
	}
	client := &http.Client{CheckRedirect: func(r *http.Request, via []*http.Request) error {
		if len(via) >= httpMaxRedirects {
			return fmt.Errorf("more than %d redirects", httpMaxRedirects)
		}
		if hp := hostPort(r.URL); !o.skill.Permissions.Allows(broker.OpHTTP, hp) {
			return wire.Errorf(wire.KindDenied, "redirect to %s: skill %s may not reach it; add http(%s) to allowed-tools", hp, o.skill.ID, hp)
		}
		return nil
	}}
	resp, err := client.Do(req)
	if err != nil {
		var ee *wire.Error
		var ne net.Error
		var ue *url.Error
		switch {
		case errors.As(err, &ee):
			return nil, ee
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
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, httpMaxBody+1))
	if err != nil {
		return nil, wire.Errorf(wire.KindUnavailable, "http.request %s: reading the body: %v", req.URL.Host, err)
	}
	if len(data) > httpMaxBody {
		return nil, wire.Errorf(wire.KindInvalid, "http.request %s: the response body is larger than %d MiB", req.URL.Host, httpMaxBody>>20)
	}
	headers := make(map[string]string, len(resp.Header))
	for k, v := range resp.Header {
		headers[k] = strings.Join(v, ", ")
	}
	out := map[string]any{"status": resp.StatusCode, "headers": headers, "body": strings.ToValidUTF8(string(data), "\uFFFD")}
	if !utf8.Valid(data) {
		out["body_b64"] = base64.StdEncoding.EncodeToString(data)
	}
	return out, nil
}

// hostPort is the host:port a URL reaches, the scheme's default port filled
// in, IPv6 literals without brackets' ambiguity: the form allowed-tools
// entries are matched against.
func hostPort(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	return net.JoinHostPort(u.Hostname(), port)
}
