package engine

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/agentos/agentos/engine/wire"
)

// LatencyBuckets are the upper bounds, in seconds, of the latency
// histograms system.metrics reports: from a point read (~50 µs) to a long
// capability call (minutes).
var LatencyBuckets = []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300}

type callKey struct{ kind, name, outcome string }

type histogram struct {
	count   uint64
	sum     float64
	buckets []uint64 // not cumulative; made cumulative on snapshot
}

// callMetrics counts calls. One short critical section per call: cheap next
// to the call itself (the cheapest, a ping, is ~20 µs).
type callMetrics struct {
	mu    sync.Mutex
	calls map[callKey]*histogram
}

func (m *callMetrics) observe(kind, name, outcome string, d time.Duration) {
	sec := d.Seconds()
	i := sort.SearchFloat64s(LatencyBuckets, sec) // first bound >= sec
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.calls == nil {
		m.calls = map[callKey]*histogram{}
	}
	k := callKey{kind, name, outcome}
	h := m.calls[k]
	if h == nil {
		h = &histogram{buckets: make([]uint64, len(LatencyBuckets))}
		m.calls[k] = h
	}
	h.count++
	h.sum += sec
	if i < len(h.buckets) {
		h.buckets[i]++
	}
}

func (m *callMetrics) snapshot() []wire.CallMetric {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]wire.CallMetric, 0, len(m.calls))
	for k, h := range m.calls {
		cum := make([]uint64, len(h.buckets))
		var run uint64
		for i, n := range h.buckets {
			run += n
			cum[i] = run
		}
		out = append(out, wire.CallMetric{Kind: k.kind, Name: k.name, Outcome: k.outcome, Count: h.count, SumSeconds: h.sum, Buckets: cum})
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.Outcome < b.Outcome
	})
	return out
}

func (s *Server) metrics(ctx context.Context, _ *call, _ *struct{}) (any, error) {
	counts, err := s.store.Counts(ctx)
	if err != nil {
		return nil, err
	}
	m := &wire.Metrics{
		UptimeSec:       time.Since(s.started).Seconds(),
		Calls:           s.calls.snapshot(),
		Buckets:         LatencyBuckets,
		JobsRunning:     s.jobs.running(),
		Nodes:           counts.Nodes,
		Edges:           counts.Edges,
		ByShape:         counts.ByShape,
		EventsPublished: s.bus.LastID() - s.bus.seed,
		Replica:         s.repl.status(),
	}
	if s.skills != nil && s.skills.runner != nil {
		m.SkillProcesses = s.skills.runner.Running()
	}
	return m, nil
}
