package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestPercentileOfSortedDurations(t *testing.T) {
	d := []time.Duration{5, 1, 4, 2, 3}
	if p := percentile(d, .5); p != 3 {
		t.Fatalf("p50 = %d, want 3", p)
	}
	if p := percentile(d, 1); p != 5 {
		t.Fatalf("p100 = %d, want 5", p)
	}
	if p := percentile(nil, .5); p != 0 {
		t.Fatalf("empty = %d", p)
	}
}

// The benchmark program itself runs end to end on small sizes: a real
// engine child, the echo floor, raw SQLite floors, every path reported.
// Figures are not checked (machines are noisy); their presence is.
func TestBenchReportsEveryPathAgainstItsFloor(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an engine and builds small graphs")
	}
	bin := filepath.Join(t.TempDir(), "agentos-bench")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "-items", "3000", "-big", "4000", "-pings", "400", "-invokes", "5", "-searches", "2", "-search-clients", "3", "-json")
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("bench: %v", err)
	}
	var rows []row
	if err := json.Unmarshal(out, &rows); err != nil {
		t.Fatalf("report is not JSON: %v\n%s", err, out)
	}
	want := []string{"system.ping", "data.write ingest, ", "data.write ingest against the schema floor", "data.write ingest with replication on", "replica lag during that ingest", "data.read {id}", "MCP tools/call read {id} via the proxy (", "MCP tools/call read {id} via the proxy, lean client", "floor: data.read {id} through a raw line relay", "MCP write tool", "GET /api/nodes?shape=", "GET /api/nodes/{id}", "GET /api/shapes", "data.read {shape, where}", "data.search a word in 25%", "GET /api/graph (the overview)", "no-op skill call, sandboxed fork server", "no-op skill call, sandboxed spawn", "no-op skill call, sandbox off", "20 concurrent", "idle engine RSS"}
	if len(rows) != len(want) {
		t.Fatalf("%d rows, want %d: %s", len(rows), len(want), out)
	}
	for i, w := range want {
		if !strings.HasPrefix(rows[i].Path, w) || rows[i].Ours == "" || rows[i].Target == "" {
			t.Errorf("row %d = %+v, want path %q with figures", i, rows[i], w)
		}
		if rows[i].Floor != "-" && rows[i].Ratio <= 0 {
			t.Errorf("row %q has a floor but no ratio", rows[i].Path)
		}
	}
}
