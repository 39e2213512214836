package bridge

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/agentos/agentos/engine"
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
			writeError(w, http.StatusBadRequest, string(engine.KindInvalid), "Last-Event-ID/since must be an event id, not "+quote(v))
			return
		}
		since = n
		break
	}
	ctx := r.Context()
	s.streams.Add(1)
	defer s.streams.Add(-1)
	st := &stream{w: w, rc: http.NewResponseController(w), last: since, ch: make(chan engine.Event, sseBuffer)}
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
	ch   chan engine.Event

	// dropped counts events lost because ch was full; lastDropped is the
	// newest of them. Only offer touches them; the lock covers the moment
	// an old subscription's reader and a new one's overlap.
	mu          sync.Mutex
	dropped     int64
	lastDropped int64
}

// offer runs on the engine connection's reader: it must never block.
func (st *stream) offer(ev engine.Event) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.dropped > 0 {
		lag := engine.Event{ID: st.lastDropped, Type: engine.EventLagged, Missed: st.dropped, At: time.Now().UTC()}
		select {
		case st.ch <- lag:
			st.dropped = 0
		default:
		}
	}
	if st.dropped > 0 {
		st.dropped++
		st.lastDropped = ev.ID
		return
	}
	select {
	case st.ch <- ev:
	default:
		st.dropped, st.lastDropped = 1, ev.ID
	}
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
			for {
				select {
				case ev := <-st.ch:
					if st.event(ev) != nil {
						return false
					}
				default:
					return true
				}
			}
		case ev := <-st.ch:
			if st.event(ev) != nil {
				return false
			}
		case <-heartbeat:
			if st.write(": heartbeat\n\n") != nil {
				return false
			}
		}
	}
}

func (st *stream) event(ev engine.Event) error {
	if ev.ID <= st.last && ev.Type != engine.EventLagged {
		return nil // replayed again after a resubscribe
	}
	data, err := json.Marshal(ev)
	if err != nil {
		return nil
	}
	if err := st.write(fmt.Sprintf("id: %d\ndata: %s\n\n", ev.ID, data)); err != nil {
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
			writeError(w, http.StatusBadRequest, string(engine.KindInvalid), "since must be an event id, not "+quote(v))
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
