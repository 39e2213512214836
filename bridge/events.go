package bridge

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/agentos/agentos/engine/wire"
)

// SSE tuning: how often a quiet stream sends a comment so proxies and
// browsers keep it open, how long one write may take before the client is
// given up, and how many events may wait for a slow client.
var (
	heartbeatEvery = 15 * time.Second
	resubscribeGap = time.Second
)

const (
	sseWriteTimeout = 30 * time.Second
	sseBuffer       = 1024
	// maxStreams bounds open streams: each holds an engine connection.
	maxStreams = 64
)

// observerStream is GET /observer/stream: the engine's observer events as
// server-sent events, each with its id. A client resumes with Last-Event-ID
// (or ?since=): the events after it that the engine's ring still holds are
// replayed first, a lagged event leading if some are gone. A client that
// falls behind live events by more than sseBuffer gets a lagged event with
// the count it lost. The stream survives engine restarts: it resubscribes
// where it left off.
func (s *Server) observerStream(w http.ResponseWriter, r *http.Request) {
	since := int64(-1)
	for _, v := range []string{r.Header.Get("Last-Event-ID"), r.URL.Query().Get("since")} {
		if v == "" {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			writeError(w, http.StatusBadRequest, string(wire.KindInvalid), "Last-Event-ID/since must be an event id, not "+quote(v))
			return
		}
		since = n
		break
	}
	ctx := r.Context()
	if s.streams.Add(1) > maxStreams {
		s.streams.Add(-1)
		writeError(w, http.StatusServiceUnavailable, string(wire.KindUnavailable), fmt.Sprintf("the bridge already serves %d event streams; close one first", maxStreams))
		return
	}
	defer s.streams.Add(-1)
	st := newStream(w, since)
	// Subscribed before the headers go out: once a client has them, no
	// event it could see is missed.
	sub, _ := s.engine.subscribe(ctx, st.last, st.offer)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	heartbeat := time.NewTicker(heartbeatEvery)
	defer heartbeat.Stop()
	ok := st.write("retry: 2000\n\n") == nil
	for ok {
		var subDone <-chan struct{}
		if sub != nil {
			subDone = sub.Done()
		} else {
			ok = st.write(": engine unreachable, retrying\n\n") == nil
		}
		ok = ok && st.pump(ctx, subDone, heartbeat.C)
		if sub != nil {
			sub.Close()
			sub = nil
		}
		if ok {
			sub, _ = s.engine.subscribe(ctx, st.last, st.offer)
		}
	}
	if sub != nil {
		sub.Close()
	}
}

// stream is one SSE client.
type stream struct {
	w    http.ResponseWriter
	rc   *http.ResponseController
	last int64 // id of the last event written (-1: none yet, only new ones wanted)

	// The queue between the engine connection's reader (offer) and the
	// writer (pump). It grows as needed up to limit: room for a whole
	// replay of the engine's ring plus sseBuffer live events, allocated
	// only when a client is that far behind. dropped counts events lost
	// beyond it and lastDropped is the newest of them; the writer turns
	// them into a lagged event when it next takes the queue. The lock also
	// covers the moment an old subscription's reader and a new one's
	// overlap.
	mu          sync.Mutex
	queue       []wire.Event
	limit       int
	wake        chan struct{} // one pending wake-up for pump
	dropped     int64
	lastDropped int64
}

func newStream(w http.ResponseWriter, since int64) *stream {
	return &stream{w: w, rc: http.NewResponseController(w), last: since,
		limit: wire.HistorySize + sseBuffer, wake: make(chan struct{}, 1)}
}

// offer runs on the engine connection's reader: it must never block.
func (st *stream) offer(ev wire.Event) {
	st.mu.Lock()
	if st.dropped == 0 && len(st.queue) < st.limit {
		st.queue = append(st.queue, ev)
	} else {
		st.dropped++
		st.lastDropped = ev.ID
	}
	st.mu.Unlock()
	select {
	case st.wake <- struct{}{}:
	default:
	}
}

// take empties the queue: what was queued, then a lagged event for what
// did not fit (its id is the newest event lost, so a client resuming after
// it misses nothing more).
func (st *stream) take() []wire.Event {
	st.mu.Lock()
	defer st.mu.Unlock()
	out := st.queue
	st.queue = nil
	if st.dropped > 0 {
		out = append(out, wire.Event{ID: st.lastDropped, Type: wire.EventLagged, Missed: st.dropped, At: time.Now().UTC()})
		st.dropped = 0
	}
	return out
}

// pump writes events until the subscription ends (true: resubscribe) or the
// client is gone (false). A nil done means there is no subscription: it
// waits resubscribeGap before saying try again.
func (st *stream) pump(ctx context.Context, done <-chan struct{}, heartbeat <-chan time.Time) bool {
	var retry <-chan time.Time
	if done == nil {
		retry = time.After(resubscribeGap)
	}
	for {
		select {
		case <-ctx.Done():
			return false
		case <-retry:
			return true
		case <-done:
			// Write what arrived before the engine went away, then resubscribe.
			return st.flush() == nil
		case <-st.wake:
			if st.flush() != nil {
				return false
			}
		case <-heartbeat:
			if st.write(": heartbeat\n\n") != nil {
				return false
			}
		}
	}
}

// flush writes everything queued, then flushes it to the client once.
func (st *stream) flush() error {
	for _, ev := range st.take() {
		if err := st.event(ev); err != nil {
			return err
		}
	}
	return st.rc.Flush()
}

func (st *stream) event(ev wire.Event) error {
	if ev.ID <= st.last && ev.Type != wire.EventLagged {
		return nil // replayed again after a resubscribe
	}
	data, err := json.Marshal(ev)
	if err != nil {
		return nil
	}
	_ = st.rc.SetWriteDeadline(time.Now().Add(sseWriteTimeout))
	if _, err := fmt.Fprintf(st.w, "id: %d\ndata: %s\n\n", ev.ID, data); err != nil {
		return err
	}
	st.last = max(st.last, ev.ID)
	return nil
}

func (st *stream) write(s string) error {
	_ = st.rc.SetWriteDeadline(time.Now().Add(sseWriteTimeout))
	if _, err := st.w.Write([]byte(s)); err != nil {
		return err
	}
	return st.rc.Flush()
}

// observerHistory is GET /observer/history?since=&limit=: the events the
// engine still remembers, oldest first.
func (s *Server) observerHistory(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	params := map[string]any{}
	if v := q.Get("since"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			writeError(w, http.StatusBadRequest, string(wire.KindInvalid), "since must be an event id, not "+quote(v))
			return
		}
		params["since"] = n
	}
	limit, ok := intParam(w, q.Get("limit"), "limit")
	if !ok {
		return
	}
	if limit > 0 {
		params["limit"] = limit
	}
	raw, err := s.engine.call(r.Context(), "observer.history", params)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeRaw(w, raw)
}
