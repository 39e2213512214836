package bridge

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/agentos/agentos/engine/wire"
)

// metrics is GET /metrics in the Prometheus text format (version 0.0.4).
// The engine keeps the counters (it sees every call, whoever made it); the
// bridge only renders them. Without an engine, agentos_engine_up is 0 and
// the graph counts come from the bridge's own read-only connection.
func (s *Server) metrics(w http.ResponseWriter, r *http.Request) {
	var m wire.Metrics
	up := 0
	if raw, err := s.engine.call(r.Context(), "system.metrics", nil); err == nil && json.Unmarshal(raw, &m) == nil {
		up = 1
	} else {
		counts, err := s.store.Counts(r.Context())
		if err != nil {
			writeErr(w, err)
			return
		}
		m.Nodes, m.Edges, m.ByShape = counts.Nodes, counts.Edges, counts.ByShape
	}
	var b strings.Builder
	gauge := func(name, help string, v float64) {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s gauge\n%s %s\n", name, help, name, name, num(v))
	}
	gauge("agentos_engine_up", "1 when the bridge reached the engine for this scrape.", float64(up))
	if up == 1 {
		gauge("agentos_engine_uptime_seconds", "Seconds since the engine started.", m.UptimeSec)
		gauge("agentos_skill_processes_running", "Skill worker processes running now.", float64(m.SkillProcesses))
		gauge("agentos_jobs_running", "Capability and skill jobs running now.", float64(m.JobsRunning))
		fmt.Fprintf(&b, "# HELP agentos_events_total Observer events published since the engine started.\n# TYPE agentos_events_total counter\nagentos_events_total %d\n", m.EventsPublished)
		if r := m.Replica; r != nil {
			failing := 0.0
			if r.Error != "" {
				failing = 1
			}
			gauge("agentos_replica_lag_seconds", "At most how old the newest writes the graph's replica may lack are.", r.LagSec)
			gauge("agentos_replica_failing", "1 while the graph's replica fails to sync.", failing)
		}
	}
	gauge("agentos_bridge_streams", "Open /observer/stream clients of this bridge.", float64(s.streams.Load()))
	gauge("agentos_graph_nodes", "Live nodes in the graph.", float64(m.Nodes))
	gauge("agentos_graph_edges", "Live edges in the graph.", float64(m.Edges))
	b.WriteString("# HELP agentos_graph_shape_nodes Live nodes per shape.\n# TYPE agentos_graph_shape_nodes gauge\n")
	names := make([]string, 0, len(m.ByShape))
	for n := range m.ByShape {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(&b, "agentos_graph_shape_nodes{shape=%s} %d\n", label(n), m.ByShape[n])
	}
	writeCalls(&b, m, "method", "agentos_calls", "Socket method calls", "by method and outcome (ok or the error kind).")
	writeCalls(&b, m, "capability", "agentos_capability_calls", "Capability and skill jobs", "by capability and outcome (completed, failed, cancelled).")
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte(b.String()))
}

// writeCalls renders the calls of one kind as a counter and a histogram.
// The label naming the call is the kind itself: method="..." or
// capability="...".
func writeCalls(b *strings.Builder, m wire.Metrics, kind, prefix, what, by string) {
	fmt.Fprintf(b, "# HELP %s_total %s %s\n# TYPE %s_total counter\n", prefix, what, by, prefix)
	for _, c := range m.Calls {
		if c.Kind == kind {
			fmt.Fprintf(b, "%s_total{%s=%s,outcome=%s} %d\n", prefix, kind, label(c.Name), label(c.Outcome), c.Count)
		}
	}
	fmt.Fprintf(b, "# HELP %s_duration_seconds Latency of %s %s\n# TYPE %s_duration_seconds histogram\n", prefix, strings.ToLower(what), by, prefix)
	for _, c := range m.Calls {
		if c.Kind != kind {
			continue
		}
		lbl := fmt.Sprintf("%s=%s,outcome=%s", kind, label(c.Name), label(c.Outcome))
		for i, le := range m.Buckets {
			if i < len(c.Buckets) {
				fmt.Fprintf(b, "%s_duration_seconds_bucket{%s,le=\"%s\"} %d\n", prefix, lbl, num(le), c.Buckets[i])
			}
		}
		fmt.Fprintf(b, "%s_duration_seconds_bucket{%s,le=\"+Inf\"} %d\n", prefix, lbl, c.Count)
		fmt.Fprintf(b, "%s_duration_seconds_sum{%s} %s\n", prefix, lbl, num(c.SumSeconds))
		fmt.Fprintf(b, "%s_duration_seconds_count{%s} %d\n", prefix, lbl, c.Count)
	}
}

func num(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// label quotes a label value as the text format wants it.
func label(v string) string {
	r := strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)
	return `"` + r.Replace(v) + `"`
}
