package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/agentos/agentos/engine/wire"
)

// callTimeout bounds one POST /api/call. A capability that runs longer is
// called with "async": true and followed through jobs.get. (A variable so
// tests can shorten it.)
var callTimeout = 10 * time.Minute

// CallRequest is the body of POST /api/call.
type CallRequest struct {
	Method string          `json:"method"`
	Params json.RawMessage `json:"params,omitempty"`
}

// refusedMethod says why a method may not be called through the bridge,
// or "" when it may.
func refusedMethod(m string) string {
	switch {
	case strings.HasPrefix(m, "secrets."):
		return "secrets never reach a browser: set them with `agentos secrets set`"
	case m == "observer.subscribe":
		return "stream events with GET /observer/stream instead"
	case m == "system.hello":
		return "the bridge names itself to the engine"
	}
	return ""
}

// call forwards {method, params} to the engine. It needs the bearer token
// of bridge.token: only pages the bridge served (and tools that can read
// the file) have it.
func (s *Server) call(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="agentos"`)
		writeError(w, http.StatusUnauthorized, "unauthorized", "POST /api/call needs Authorization: Bearer <token> (the token is in $AGENTOS_HOME/bridge.token; /sdk.js sends it for you)")
		return
	}
	var req CallRequest
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, string(wire.KindInvalid), "the call body is over 4 MiB")
			return
		}
		writeError(w, http.StatusBadRequest, string(wire.KindInvalid), `the body must be {"method": "...", "params": {...}}: `+err.Error())
		return
	}
	if req.Method == "" {
		writeError(w, http.StatusBadRequest, string(wire.KindInvalid), `the body must name a method: {"method": "data.create", "params": {...}}`)
		return
	}
	if why := refusedMethod(req.Method); why != "" {
		writeError(w, http.StatusForbidden, string(wire.KindDenied), req.Method+" is not available through the bridge: "+why)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), callTimeout)
	defer cancel()
	var params any
	if len(req.Params) > 0 && string(req.Params) != "null" {
		params = req.Params
	}
	raw, err := s.engine.callApp(ctx, req.Method, params)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeRaw(w, json.RawMessage(`{"result":`+string(raw)+`}`))
}
