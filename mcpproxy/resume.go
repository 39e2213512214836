package mcpproxy

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
)

// Resumable call streams (SEP-1699, protocol 2025-11-25). A request that
// runs a skill (tools/call, prompts/get, resources/read) from a session of
// 2025-11-25 that accepts SSE is answered on an event stream the proxy owns:
// a priming event (an id, a retry hint, no data) first, then every message
// mcp-go writes for the request, each with an id. The stream outlives its
// connection. A client whose connection broke, or whose stream the proxy
// closed after HTTPOptions.SSEPoll, reconnects with GET and Last-Event-ID and
// gets what it missed, then the rest. mcp-go serves the request as before,
// into a recorder; it never sees the client's connection.

// HTTPOptions tunes the Streamable HTTP server.
type HTTPOptions struct {
	// SSEPoll, when positive, closes the POST stream of a resumable call
	// that has been open this long while the call still runs; the client
	// reconnects (after Retry) with GET and resumes, and that stream stays
	// open until the answer. Zero keeps streams open until the answer.
	SSEPoll time.Duration
	// Retry is the reconnection delay a priming event asks of the client
	// (default 1s).
	Retry time.Duration
}

const (
	// primeGrace is how long mcp-go may take to refuse a request with an
	// HTTP status of its own before the stream is committed.
	primeGrace = 20 * time.Millisecond
	// streamTTL is how long a finished call's events wait for a client that
	// has not read them all.
	streamTTL = 5 * time.Minute
	// deliveredLinger is how long a stream whose answer has been written
	// stays resumable.
	deliveredLinger = 10 * time.Second
	// streamIDPrefix marks the Last-Event-IDs of the proxy's streams.
	streamIDPrefix = "agentos-"
)

// resumableMethods are the requests that run skill code, and so may be long.
var resumableMethods = map[string]bool{
	string(mcp.MethodToolsCall): true, string(mcp.MethodPromptsGet): true, string(mcp.MethodResourcesRead): true,
}

// callStreams is every live resumable stream, by id.
type callStreams struct {
	mu   sync.Mutex
	byID map[string]*callStream
}

// callStream is the recorded messages of one request's answer. Event k
// (k ≥ 1) is msgs[k-1], with id "<id>.<k>"; the priming event is "<id>.0".
type callStream struct {
	id, session string
	cancel      context.CancelFunc // ends the request (the session is gone)
	all         *callStreams

	mu   sync.Mutex
	msgs [][]byte
	done bool
	wake chan struct{} // closed and replaced on every change
	gen  int           // the attached connection's number; a newer one takes over
}

func (cs *callStreams) open(session string, cancel context.CancelFunc) *callStream {
	var b [12]byte
	_, _ = rand.Read(b[:])
	st := &callStream{id: streamIDPrefix + hex.EncodeToString(b[:]), session: session, cancel: cancel, all: cs, wake: make(chan struct{})}
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.byID == nil {
		cs.byID = map[string]*callStream{}
	}
	cs.byID[st.id] = st
	return st
}

func (cs *callStreams) get(id string) *callStream {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return cs.byID[id]
}

func (cs *callStreams) drop(id string) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	delete(cs.byID, id)
}

// endSession drops a gone session's streams and ends their requests.
func (cs *callStreams) endSession(session string) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	for id, st := range cs.byID {
		if st.session == session {
			st.cancel()
			delete(cs.byID, id)
		}
	}
}

func (st *callStream) add(msg []byte) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.msgs = append(st.msgs, msg)
	close(st.wake)
	st.wake = make(chan struct{})
}

// finish marks the answer complete. A client that never comes back for it
// leaves nothing behind for long.
func (st *callStream) finish() {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.done = true
	close(st.wake)
	st.wake = make(chan struct{})
	time.AfterFunc(streamTTL, func() { st.all.drop(st.id) })
}

// serveResumable serves a resumable request, or hands it to next when it is
// not one. body is the whole request body.
func (p *Proxy) serveResumable(w http.ResponseWriter, r *http.Request, body []byte, next http.Handler, o HTTPOptions) bool {
	sid := r.Header.Get("Mcp-Session-Id")
	if sid == "" || !strings.Contains(r.Header.Get("Accept"), "text/event-stream") {
		return false
	}
	var req struct {
		ID     json.RawMessage `json:"id"`
		Method string          `json:"method"`
	}
	if json.Unmarshal(body, &req) != nil || len(req.ID) == 0 || !resumableMethods[req.Method] {
		return false
	}
	// Priming events are 2025-11-25's; older clients may choke on one.
	v, _ := p.sessions.get(sid).(interface{ ProtocolVersion() string })
	if v == nil || v.ProtocolVersion() < mcp.ProtocolVersion20251125 || mcp.IsModernProtocol(v.ProtocolVersion()) {
		return false
	}
	// The request runs on without the client's connection; a gone session
	// ends it (callStreams.endSession), and so does the client's cancel.
	ctx, cancel := context.WithCancel(context.WithoutCancel(r.Context()))
	st := p.streams.open(sid, cancel)
	rec := &recorder{st: st, header: http.Header{}, status: make(chan int, 1)}
	r2 := r.Clone(ctx)
	r2.Body = readCloser{bytes.NewReader(body)}
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		defer cancel()
		next.ServeHTTP(rec, r2)
		rec.end()
	}()
	select {
	case code := <-rec.status:
		if code != http.StatusOK { // mcp-go refused it outright: pass that on
			<-finished
			p.streams.drop(st.id)
			rec.copyTo(w, code)
			return true
		}
	case <-time.After(primeGrace):
	}
	retry := o.Retry
	if retry <= 0 {
		retry = time.Second
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("Mcp-Session-Id", sid)
	w.WriteHeader(http.StatusOK)
	if _, err := fmt.Fprintf(w, "id: %s.0\nretry: %d\ndata: \n\n", st.id, retry.Milliseconds()); err != nil {
		return true
	}
	p.follow(r.Context(), w, st, 0, o.SSEPoll)
	return true
}

// resumeStream serves a GET that carries one of the proxy's Last-Event-IDs;
// false when the id is not the proxy's.
// A resumed stream stays open until the answer: SSE polling cuts the POST
// that a proxy between client and server would time out, once.
func (p *Proxy) resumeStream(w http.ResponseWriter, r *http.Request) bool {
	last := r.Header.Get("Last-Event-ID")
	if !strings.HasPrefix(last, streamIDPrefix) {
		return false
	}
	id, seq, ok := strings.Cut(last, ".")
	n, err := strconv.Atoi(seq)
	st := p.streams.get(id)
	if !ok || err != nil || n < 0 || st == nil || st.session != r.Header.Get("Mcp-Session-Id") {
		http.Error(w, "Not Found: no stream to resume at "+strconv.Quote(last)+" (unknown, expired or of another session)", http.StatusNotFound)
		return true
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	p.follow(r.Context(), w, st, n, 0)
	return true
}

// follow writes st's events after event from to w until the answer has
// been written, the connection goes, a newer connection takes the stream
// over, or poll has passed with the call still running.
func (p *Proxy) follow(ctx context.Context, w http.ResponseWriter, st *callStream, from int, poll time.Duration) {
	fl, _ := w.(http.Flusher)
	st.mu.Lock()
	st.gen++
	gen := st.gen
	close(st.wake) // a connection it supersedes stops
	st.wake = make(chan struct{})
	st.mu.Unlock()
	var closeAt <-chan time.Time
	if poll > 0 {
		t := time.NewTimer(poll)
		defer t.Stop()
		closeAt = t.C
	}
	if fl != nil {
		fl.Flush()
	}
	for {
		st.mu.Lock()
		if st.gen != gen {
			st.mu.Unlock()
			return
		}
		msgs, done, wake := st.msgs[min(from, len(st.msgs)):], st.done, st.wake
		st.mu.Unlock()
		for _, m := range msgs {
			from++
			if _, err := fmt.Fprintf(w, "id: %s.%d\nevent: message\ndata: %s\n\n", st.id, from, m); err != nil {
				return
			}
		}
		if fl != nil && len(msgs) > 0 {
			fl.Flush()
		}
		if done {
			// All of it written. A connection that broke under the last
			// write may still come back for a little while.
			time.AfterFunc(deliveredLinger, func() { st.all.drop(st.id) })
			return
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return
		case <-closeAt:
			return // SSE polling: the client comes back with Last-Event-ID
		}
	}
}

// recorder is the response writer mcp-go serves a resumable request into.
// It turns what mcp-go writes (one JSON body, or SSE events) into the
// stream's messages.
type recorder struct {
	st     *callStream
	header http.Header
	status chan int // the first status mcp-go writes

	mu   sync.Mutex
	code int
	sse  bool
	buf  bytes.Buffer
}

func (rc *recorder) Header() http.Header { return rc.header }

func (rc *recorder) WriteHeader(code int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.code != 0 {
		return
	}
	rc.code = code
	rc.sse = strings.HasPrefix(rc.header.Get("Content-Type"), "text/event-stream")
	rc.status <- code
}

func (rc *recorder) Write(b []byte) (int, error) {
	rc.WriteHeader(http.StatusOK)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.buf.Write(b)
	if rc.sse && rc.code == http.StatusOK {
		rc.takeEvents()
	}
	return len(b), nil
}

func (rc *recorder) Flush() {}

// takeEvents moves every whole SSE event in buf to the stream.
func (rc *recorder) takeEvents() {
	for {
		data := rc.buf.Bytes()
		i := bytes.Index(data, []byte("\n\n"))
		if i < 0 {
			return
		}
		var msg []byte
		for line := range bytes.SplitSeq(data[:i], []byte("\n")) {
			if d, ok := bytes.CutPrefix(line, []byte("data:")); ok {
				if msg != nil {
					msg = append(msg, '\n')
				}
				msg = append(msg, bytes.TrimPrefix(d, []byte(" "))...)
			}
		}
		rc.buf.Next(i + 2)
		if len(bytes.TrimSpace(msg)) > 0 {
			rc.st.add(msg)
		}
	}
}

// end is mcp-go's return: a JSON body becomes the stream's one message.
func (rc *recorder) end() {
	rc.mu.Lock()
	if rc.code == http.StatusOK && !rc.sse {
		if m := bytes.TrimSpace(rc.buf.Bytes()); len(m) > 0 {
			rc.st.add(bytes.Clone(m))
		}
	}
	rc.mu.Unlock()
	rc.st.finish()
}

// copyTo writes what mcp-go answered, as it answered it.
func (rc *recorder) copyTo(w http.ResponseWriter, code int) {
	for k, v := range rc.header {
		w.Header()[k] = v
	}
	w.WriteHeader(code)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	_, _ = w.Write(rc.buf.Bytes())
}

type readCloser struct{ *bytes.Reader }

func (readCloser) Close() error { return nil }
