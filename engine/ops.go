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

// skillOps answers the sideband ops of one running tool, once the broker's
// gate has allowed them (broker.Gate checks each against the skill's
// allowed-tools and audits it). It reaches the engine only through the
// funcs it is built with.
type skillOps struct {
	skill   *broker.Skill
	tool    string
	callID  string
	version string
	log     *slog.Logger

	// method runs a method of the table as the skill (graph ops).
	method func(ctx context.Context, name string, params json.RawMessage) (any, error)
	// secret is a stored secret's value.
	secret func(ctx context.Context, name string) (string, error)
	// invoke runs a nested capability call, a job under this call's job.
	invoke func(ctx context.Context, p wire.InvokeParams) (any, error)
	// progress records the tool's progress on its job.
	progress func(current, total float64, message string)
}

// runTool runs tool t of skill sk in a fresh process as (part of) job j,
// its ops answered by this server.
func (s *Server) runTool(ctx context.Context, j *Job, sk *broker.Skill, t *broker.Tool, params []byte) (any, error) {
	caller := "skill:" + sk.ID
	return s.skills.run(ctx, j, sk, t, params, func(callID string) broker.OpHandler {
		return &skillOps{skill: sk, tool: t.Name, callID: callID, version: s.opts.Version, log: s.log,
			method: func(ctx context.Context, name string, params json.RawMessage) (any, error) {
				// The table callers use, so a skill's graph access is
				// exactly a caller's.
				return s.methods[name].handle(ctx, &call{caller: caller}, params)
			},
			secret: s.secretValue,
			invoke: func(ctx context.Context, p wire.InvokeParams) (any, error) {
				// A nested call is a job of its own under this call's
				// job: cancel the outer job and the nested one stops too.
				return s.runJob(ctx, caller, func(nj *Job) (any, error) {
					s.jobs.set(nj, func(nj *Job) { nj.Capability = p.Capability })
					return s.invoke(ctx, nj, p.Capability, p.Provider, objectOrEmpty(p.Params))
				})
			},
			progress: func(current, total float64, message string) { s.jobs.progress(j, current, total, message) },
		}
	})
}

// HTTP op limits.
const (
	httpMaxBody      = 32 << 20
	httpMaxRedirects = 5
	httpDefaultWait  = 30 * time.Second
)

func (o *skillOps) HandleOp(ctx context.Context, op broker.Op) (json.RawMessage, error) {
	res, err := o.do(graph.WithActor(ctx, "skill:"+o.skill.ID), op)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(res)
	if err != nil {
		return nil, wire.Errorf(wire.KindInternal, "encode %s result: %v", op.Name, err)
	}
	return b, nil
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
		var p wire.InvokeParams
		if err := json.Unmarshal(op.Params, &p); err != nil {
			return nil, wire.Errorf(wire.KindInvalid, "capability.invoke: %v", err)
		}
		return o.invoke(ctx, p)
	}
	return nil, wire.Errorf(wire.KindInvalid, "unknown op %q", op.Name)
}

func (o *skillOps) Progress(current, total float64, message string) {
	o.progress(current, total, message)
}

// Log writes a skill's log line to the engine log, tagged with the skill.
func (o *skillOps) Log(level, message string) {
	lvl := map[string]slog.Level{"debug": slog.LevelDebug, "warning": slog.LevelWarn, "warn": slog.LevelWarn, "error": slog.LevelError}[level]
	o.log.Log(context.Background(), lvl, message, "skill", o.skill.ID, "tool", o.tool, "call", o.callID)
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
		req.Header.Set("User-Agent", "agentos/"+o.version+" (skill "+o.skill.ID+")")
	}
	client := &http.Client{CheckRedirect: func(r *http.Request, via []*http.Request) error {
		if len(via) >= httpMaxRedirects {
			return fmt.Errorf("more than %d redirects", httpMaxRedirects)
		}
		return broker.CheckRedirect(o.skill, r.URL)
	}}
	resp, err := client.Do(req)
	if err != nil {
		var ee *wire.Error
		var be *broker.Error // a redirect the gate refused
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
