package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/agentos/agentos/engine"
	"github.com/agentos/agentos/engine/wire"
)

// writeJSON answers v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		writeError(w, http.StatusInternalServerError, string(wire.KindInternal), "encode response: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(data, '\n'))
}

// writeRaw answers JSON the engine already encoded.
func writeRaw(w http.ResponseWriter, raw json.RawMessage) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(append(raw, '\n'))
}

// ErrorBody is every error answer: {"error": {"kind", "message"}}, kind
// being an engine error kind (DESIGN §4) or forbidden/unauthorized.
type ErrorBody struct {
	Error struct {
		Kind    string `json:"kind"`
		Message string `json:"message"`
	} `json:"error"`
}

func writeError(w http.ResponseWriter, status int, kind, msg string) {
	var body ErrorBody
	body.Error.Kind, body.Error.Message = kind, msg
	data, _ := json.Marshal(body)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(data, '\n'))
}

// statusOf maps an engine error kind onto an HTTP status.
var statusOf = map[wire.Kind]int{
	wire.KindInvalid:     http.StatusBadRequest,
	wire.KindNotFound:    http.StatusNotFound,
	wire.KindConflict:    http.StatusConflict,
	wire.KindNoProvider:  http.StatusNotFound,
	wire.KindDenied:      http.StatusForbidden,
	wire.KindTimeout:     http.StatusGatewayTimeout,
	wire.KindSkillFailed: http.StatusBadGateway,
	wire.KindCancelled:   499, // client closed request, as nginx has it
	wire.KindUnavailable: http.StatusServiceUnavailable,
	wire.KindInternal:    http.StatusInternalServerError,
}

// writeErr answers err (from the graph or the engine) with its kind.
func writeErr(w http.ResponseWriter, err error) {
	if errors.Is(err, context.DeadlineExceeded) {
		writeError(w, http.StatusGatewayTimeout, string(wire.KindTimeout), "the bridge gave up on this request: "+err.Error())
		return
	}
	if errors.Is(err, wire.ErrUnreachable) {
		writeError(w, http.StatusServiceUnavailable, string(wire.KindUnavailable),
			"the engine is not running (start it with `agentos start`): "+err.Error())
		return
	}
	e := engine.AsError(err)
	status, ok := statusOf[e.Kind]
	if !ok {
		status = http.StatusInternalServerError
	}
	writeError(w, status, string(e.Kind), e.Message)
}
