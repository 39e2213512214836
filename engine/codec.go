package engine

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"regexp"
	"time"

	"github.com/agentos/agentos/engine/wire"
	"github.com/agentos/agentos/internal/jsonl"
)

// lineStream reads and writes newline-delimited JSON on one connection
// (internal/jsonl). Writes are safe for concurrent use; reads belong to the
// connection's loop.
type lineStream struct {
	conn net.Conn
	r    *jsonl.Reader
	w    *jsonl.Writer
}

// writeTimeout bounds one write: a client that stops reading is dropped
// rather than left to hold the connection's writer (and its subscribers).
const writeTimeout = 30 * time.Second

// DefaultLineTimeout bounds how long a request line may take once it has
// started: a client that sends half a line and stalls is dropped, and the
// memory its partial line held goes back. Idle connections between lines
// are fine.
const DefaultLineTimeout = 30 * time.Second

func newLineStream(conn net.Conn, maxLine int, lineTimeout time.Duration) *lineStream {
	if maxLine <= 0 {
		maxLine = wire.MaxRequestLine
	}
	r := jsonl.NewReader(conn, maxLine)
	r.SetLineTimeout(lineTimeout, conn.SetReadDeadline)
	return &lineStream{conn: conn, r: r, w: jsonl.NewWriter(conn, writeTimeout)}
}

func (s *lineStream) writeLine(b []byte) error {
	err := s.w.WriteLine(b)
	if err != nil {
		s.conn.Close()
	}
	return err
}

// held is how much memory the stream's reader holds (a long partial line).
func (s *lineStream) held() int { return s.r.Held() }

// readLine returns one line without its newline, valid until the next call.
// A line longer than the limit is a *jsonl.TooLongError holding its first
// bytes; the stream stays usable.
func (s *lineStream) readLine() ([]byte, error) { return s.r.ReadLine() }

// request is a JSON-RPC 2.0 request as read off the wire. The id is kept raw
// and echoed back byte for byte; params stay raw until the method decodes
// them into its own type.
type request struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Method  *string         `json:"method"`
	Params  json.RawMessage `json:"params"`
	// decoded is Params decoded already, when deciding where the request
	// runs needed them (method.inline).
	decoded any
}

// notification reports a request without an id: it gets no response.
func (r *request) notification() bool { return r.ID == nil }

// errBadRequest is a line that is not a request; it carries the wire error.
type errBadRequest struct {
	id   json.RawMessage
	code int64
	msg  string
}

func (e *errBadRequest) Error() string { return e.msg }

// parseRequest decodes one line in a single pass. Only on failure does it
// look again, to tell a parse error from an invalid request.
func parseRequest(line []byte) (*request, error) {
	line = bytes.TrimSpace(line)
	if r, ok := parseCanonical(line); ok {
		return r, nil
	}
	if len(line) > 0 && line[0] == '[' && json.Valid(line) {
		return nil, &errBadRequest{code: wire.CodeInvalidRequest,
			msg: "batch requests are not supported; send one JSON-RPC object per line (requests on one connection run concurrently)"}
	}
	var r request
	if err := json.Unmarshal(line, &r); err != nil {
		if !json.Valid(line) {
			return nil, &errBadRequest{code: wire.CodeParseError, msg: "parse error: the line is not valid JSON; send one JSON-RPC 2.0 object per line"}
		}
		return nil, &errBadRequest{id: peekID(line), code: wire.CodeInvalidRequest,
			msg: "invalid request: expected a JSON-RPC 2.0 object with \"method\" (and \"id\" for a call): " + err.Error()}
	}
	id := validID(r.ID)
	switch {
	case r.ID != nil && id == nil:
		return nil, &errBadRequest{code: wire.CodeInvalidRequest, msg: "invalid request: \"id\" must be a string or a number"}
	case r.Method == nil || *r.Method == "":
		return nil, &errBadRequest{id: id, code: wire.CodeInvalidRequest,
			msg: "invalid request: expected a JSON-RPC 2.0 object with \"method\" (and \"id\" for a call)"}
	case r.JSONRPC != "2.0":
		return nil, &errBadRequest{id: id, code: wire.CodeInvalidRequest, msg: "invalid request: \"jsonrpc\" must be \"2.0\""}
	}
	return &r, nil
}

// canonicalPrefix starts a request as engine/wire's client writes it:
// {"jsonrpc":"2.0","id":N,"method":"M"[,"params":P]}.
const canonicalPrefix = `{"jsonrpc":"2.0","id":`

// parseCanonical reads a request in exactly the client's own format
// without encoding/json's reflection (5 µs of a 55 µs point read); any
// other spelling, or params that are not one valid JSON value, is left to
// the general decoder (ok false).
func parseCanonical(line []byte) (r *request, ok bool) {
	rest, ok := bytes.CutPrefix(line, []byte(canonicalPrefix))
	if !ok {
		return nil, false
	}
	n := 0
	for n < len(rest) && n < 20 && rest[n] >= '0' && rest[n] <= '9' {
		n++
	}
	if n == 0 || n == 20 || n > 1 && rest[0] == '0' {
		return nil, false
	}
	id := rest[:n]
	if rest, ok = bytes.CutPrefix(rest[n:], []byte(`,"method":"`)); !ok {
		return nil, false
	}
	end := bytes.IndexByte(rest, '"')
	if end <= 0 {
		return nil, false
	}
	for _, c := range rest[:end] {
		if c < 0x20 || c == '\\' || c >= 0x80 { // escapes and the rest: encoding/json's to read
			return nil, false
		}
	}
	method := string(rest[:end])
	rest = rest[end+1:]
	var params json.RawMessage
	switch {
	case len(rest) == 1 && rest[0] == '}':
	case bytes.HasPrefix(rest, []byte(`,"params":`)) && rest[len(rest)-1] == '}':
		p := bytes.TrimSpace(rest[len(`,"params":`) : len(rest)-1])
		if !json.Valid(p) {
			return nil, false
		}
		params = append(json.RawMessage(nil), p...)
	default:
		return nil, false
	}
	return &request{JSONRPC: "2.0", ID: append(json.RawMessage(nil), id...), Method: &method, Params: params}, true
}

// validID returns id if it is a JSON string, number or null, else nil.
func validID(id json.RawMessage) json.RawMessage {
	if len(id) == 0 {
		return nil
	}
	switch c := id[0]; {
	case c == '"', c == '-', c >= '0' && c <= '9', bytes.Equal(id, []byte("null")):
		return id
	}
	return nil
}

// leadingIDPattern finds a top-level "id" member before any nested object
// or array: where well-behaved clients (ours among them) put it.
var leadingIDPattern = regexp.MustCompile(`^\s*\{[^{\[]*?"id"\s*:\s*("(?:[^"\\]|\\.)*"|-?[0-9]+)`)

// leadingID returns the id of a request from its first bytes, or nil.
func leadingID(head []byte) json.RawMessage {
	if m := leadingIDPattern.FindSubmatch(head); m != nil && json.Valid(m[1]) {
		return json.RawMessage(append([]byte(nil), m[1]...))
	}
	return nil
}

// peekID extracts the id of a message that failed to decode, so the error
// response can still be matched by the caller.
func peekID(line []byte) json.RawMessage {
	var m struct {
		ID json.RawMessage `json:"id"`
	}
	if json.Unmarshal(line, &m) != nil {
		return nil
	}
	return validID(m.ID)
}

// storeJSON is a result the graph wrote as JSON itself (GetJSON,
// QueryJSON): compact, on one line and valid by construction, so the
// response carries it without the scan a json.RawMessage from a worker
// gets (a page of 50 nodes is ~25 KB).
type storeJSON []byte

// MarshalJSON keeps a storeJSON JSON where a result is encoded again (the
// results of skills' ops and agents' data tools).
func (j storeJSON) MarshalJSON() ([]byte, error) { return j, nil }

// encodeResponse builds one response line. Exactly one of result and err is
// used; the result is encoded once, straight into the line.
func encodeResponse(id json.RawMessage, result any, err error) []byte {
	if id == nil {
		id = json.RawMessage("null")
	}
	var res []byte
	if own, ok := result.(storeJSON); ok && err == nil {
		res = own
	} else if raw, ok := result.(json.RawMessage); ok && err == nil && json.Valid(raw) && bytes.IndexByte(raw, '\n') < 0 {
		// A tool's result as the worker sent it: already JSON on one line,
		// so it goes out as is rather than through another full copy.
		res = raw
	} else if err == nil {
		var merr error
		if res, merr = json.Marshal(result); merr != nil {
			err = wire.Errorf(wire.KindInternal, "encode result: %v", merr)
		}
	}
	b := make([]byte, 0, len(res)+64)
	b = append(b, `{"jsonrpc":"2.0","id":`...)
	b = append(b, id...)
	if err != nil {
		e, _ := json.Marshal(toRPCError(err))
		b = append(b, `,"error":`...)
		b = append(b, e...)
	} else {
		b = append(b, `,"result":`...)
		b = append(b, res...)
	}
	return append(b, '}')
}

// encodeNotification builds one notification line.
func encodeNotification(method string, params any) ([]byte, error) {
	p, err := json.Marshal(params)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", method, err)
	}
	m, _ := json.Marshal(method)
	b := make([]byte, 0, len(p)+len(m)+40)
	b = append(b, `{"jsonrpc":"2.0","method":`...)
	b = append(b, m...)
	b = append(b, `,"params":`...)
	b = append(b, p...)
	return append(b, '}'), nil
}
