package engine

import (
	"sync"
	"time"

	"github.com/agentos/agentos/engine/wire"
	"github.com/agentos/agentos/graph"
)

// Bus fans events out to subscribers and keeps a ring of recent history.
// Publishing never blocks: a subscriber that cannot keep up loses events and
// is told how many through a lagged event.
type Bus struct {
	mu     sync.Mutex
	seed   int64 // ids of this run are above it
	nextID int64
	ring   []wire.Event // circular, len == cap once full
	start  int          // index of the oldest event in ring
	size   int
	subs   map[*Subscription]struct{}
}

// NewBus returns a bus that remembers the last historySize events.
//
// Ids start from the clock in microseconds, not from 1, so they keep
// increasing across engine restarts: a client resuming with the last id it
// saw before a restart gets the new events instead of waiting for the
// counter to catch up. (They stay ahead of the clock unless an engine
// averaged over a million events a second for its whole life.)
func NewBus(historySize int) *Bus {
	if historySize <= 0 {
		historySize = 4096
	}
	seed := time.Now().UnixMicro()
	return &Bus{ring: make([]wire.Event, historySize), subs: map[*Subscription]struct{}{}, seed: seed, nextID: seed}
}

// Publish stamps ev with the next id and time and delivers it.
func (b *Bus) Publish(ev wire.Event) {
	b.mu.Lock()
	b.nextID++
	ev.ID = b.nextID
	if ev.At.IsZero() {
		ev.At = time.Now().UTC()
	}
	idx := (b.start + b.size) % len(b.ring)
	b.ring[idx] = ev
	if b.size < len(b.ring) {
		b.size++
	} else {
		b.start = (b.start + 1) % len(b.ring)
	}
	for s := range b.subs {
		s.offer(ev)
	}
	b.mu.Unlock()
}

// PublishGraphChange publishes a committed graph mutation, with the call_id
// of the call that made it (see Server.run and jobTable.start).
func (b *Bus) PublishGraphChange(ev graph.ChangeEvent) {
	b.Publish(wire.Event{Type: wire.EventGraphChanged, Op: ev.Op, IDs: ev.IDs, Shapes: ev.Shapes, CallID: ev.CallID})
}

// LastID is the id of the newest event, 0 if none.
func (b *Bus) LastID() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.nextID
}

// History returns the remembered events with id > since, oldest first, and
// how many events after since are no longer remembered.
func (b *Bus) History(since int64) (events []wire.Event, missed int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.historyLocked(since)
}

func (b *Bus) historyLocked(since int64) ([]wire.Event, int64) {
	var out []wire.Event
	var missed int64
	if b.size > 0 {
		// Only events of this run can be missed: ids at or below the seed
		// (0, or one from before a restart) ask for everything remembered.
		from := max(since, b.seed)
		if oldest := b.ring[b.start].ID; from < oldest-1 {
			missed = oldest - 1 - from
		}
	}
	for i := 0; i < b.size; i++ {
		ev := b.ring[(b.start+i)%len(b.ring)]
		if ev.ID > since {
			out = append(out, ev)
		}
	}
	return out, missed
}

// Subscription is one subscriber's queue.
type Subscription struct {
	bus        *Bus
	types      map[string]bool // deliver only these types; nil: all
	ch         chan wire.Event
	mu         sync.Mutex
	first      *wire.Event // a lagged event for history the ring no longer held
	lagging    bool        // dropping until the subscriber has caught up
	missed     int64
	lastMissed int64 // id of the newest event lost
	done       chan struct{}
	once       sync.Once
}

// Subscribe registers a subscriber and returns it with the id of the newest
// event at that moment. With since >= 0, the events after since that the ring
// still holds are queued first (a lagged event leads if some are gone).
// buffer bounds how far the subscriber may fall behind live events.
func (b *Bus) Subscribe(since int64, buffer int) (*Subscription, int64) {
	return b.SubscribeTypes(since, buffer, nil)
}

// SubscribeTypes is Subscribe for the events of the given types only (all
// of them when types is empty); lagged events always come. Events of other
// types are never queued, so they cannot make the subscriber lag either.
func (b *Bus) SubscribeTypes(since int64, buffer int, types []string) (*Subscription, int64) {
	if buffer <= 0 {
		buffer = 1024
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	var backlog []wire.Event
	var missed int64
	if since >= 0 {
		backlog, missed = b.historyLocked(since)
	}
	s := &Subscription{bus: b, ch: make(chan wire.Event, len(backlog)+buffer), done: make(chan struct{})}
	if len(types) > 0 {
		s.types = make(map[string]bool, len(types))
		for _, t := range types {
			s.types[t] = true
		}
	}
	if missed > 0 {
		s.first = &wire.Event{ID: since + missed, Type: wire.EventLagged, At: time.Now().UTC(), Missed: missed}
	}
	for _, ev := range backlog {
		s.offer(ev)
	}
	b.subs[s] = struct{}{}
	return s, b.nextID
}

// offer queues ev or, when the queue is full, drops it. Once one event is
// dropped every later one is too, until the subscriber has drained what was
// queued: the gap then sits at one place, announced by one lagged event.
func (s *Subscription) offer(ev wire.Event) {
	if s.types != nil && !s.types[ev.Type] {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.lagging {
		select {
		case s.ch <- ev:
			return
		default:
			s.lagging = true
		}
	}
	s.missed++
	s.lastMissed = ev.ID
}

// Next blocks until an event is available or the subscription is closed
// (ok false). Events come in id order; where some were dropped a lagged
// event stands in their place, carrying the id of the newest one lost, so
// resuming after it is exact.
func (s *Subscription) Next(done <-chan struct{}) (wire.Event, bool) {
	s.mu.Lock()
	if s.first != nil {
		ev := *s.first
		s.first = nil
		s.mu.Unlock()
		return ev, true
	}
	if s.lagging {
		select {
		case ev := <-s.ch:
			s.mu.Unlock()
			return ev, true
		default:
		}
		ev := wire.Event{ID: s.lastMissed, Type: wire.EventLagged, At: time.Now().UTC(), Missed: s.missed}
		s.lagging, s.missed = false, 0
		s.mu.Unlock()
		return ev, true
	}
	s.mu.Unlock()
	select {
	case ev := <-s.ch:
		return ev, true
	case <-s.done:
		return wire.Event{}, false
	case <-done:
		return wire.Event{}, false
	}
}

// Close unregisters the subscription.
func (s *Subscription) Close() {
	s.once.Do(func() {
		s.bus.mu.Lock()
		delete(s.bus.subs, s)
		s.bus.mu.Unlock()
		close(s.done)
	})
}
