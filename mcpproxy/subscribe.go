package mcpproxy

import (
	"context"
	"strings"
	"sync"

	"github.com/agentos/agentos/engine/wire"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// sessions are the MCP sessions the proxy serves, to send each the
// notifications/resources/updated of the URIs it subscribed to (classic
// resources/subscribe and the newer subscriptions/listen both record them in
// the session, which mcp-go's server.SessionWithResourceSubscriptions
// exposes): a node's URI when a graph.changed event names the node, any
// other URI (a shape's, a skill's resource) when skills or shapes reload.
type sessions struct {
	mu   sync.Mutex
	byID map[string]server.ClientSession
}

func (s *sessions) hooks() *server.Hooks {
	h := &server.Hooks{}
	h.AddOnRegisterSession(func(_ context.Context, sess server.ClientSession) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.byID == nil {
			s.byID = map[string]server.ClientSession{}
		}
		s.byID[sess.SessionID()] = sess
	})
	h.AddOnUnregisterSession(func(_ context.Context, sess server.ClientSession) {
		s.mu.Lock()
		defer s.mu.Unlock()
		delete(s.byID, sess.SessionID())
	})
	return h
}

// get is the session of id, or nil.
func (s *sessions) get(id string) server.ClientSession {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.byID[id]
}

// subscribed lists (session id, uri) pairs of the subscriptions want accepts.
func (s *sessions) subscribed(want func(uri string) bool) [][2]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out [][2]string
	for id, sess := range s.byID {
		subs, ok := sess.(server.SessionWithResourceSubscriptions)
		if !ok {
			continue
		}
		for _, uri := range subs.SubscribedResources() {
			if want(uri) {
				out = append(out, [2]string{id, uri})
			}
		}
	}
	return out
}

// notifyUpdated sends notifications/resources/updated for the subscribed
// URIs want accepts.
func (p *Proxy) notifyUpdated(want func(uri string) bool) {
	for _, m := range p.sessions.subscribed(want) {
		if err := p.srv.SendNotificationToSpecificClient(m[0], string(mcp.MethodNotificationResourceUpdated), map[string]any{"uri": m[1]}); err != nil {
			p.log.Debug("resource update not sent", "uri", m[1], "err", err)
		}
	}
}

// graphChanged notifies the subscribers of the nodes a graph.changed names.
func (p *Proxy) graphChanged(ev wire.Event) {
	if len(ev.IDs) == 0 {
		return
	}
	ids := make(map[string]bool, len(ev.IDs))
	for _, id := range ev.IDs {
		ids[strings.ToUpper(id)] = true
	}
	p.notifyUpdated(func(uri string) bool {
		id, ok := strings.CutPrefix(uri, nodeURI)
		return ok && ids[strings.ToUpper(id)]
	})
}

// resourceSubs is a session's subscribed URIs, for sessions the proxy
// makes itself (stdio).
type resourceSubs struct {
	mu   sync.Mutex
	uris map[string]bool
}

func (r *resourceSubs) SubscribeToResource(uri string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.uris == nil {
		r.uris = map[string]bool{}
	}
	r.uris[uri] = true
}

func (r *resourceSubs) UnsubscribeFromResource(uri string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.uris, uri)
}

func (r *resourceSubs) SubscribedResources() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, 0, len(r.uris))
	for u := range r.uris {
		out = append(out, u)
	}
	return out
}

func (r *resourceSubs) IsSubscribedToResource(uri string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.uris[uri]
}
