package engine

import (
	"encoding/json"
	"testing"

	"github.com/agentos/agentos/engine/wire"
	"github.com/agentos/agentos/graph"
)

// The bounds the wire params publish are the store's own: a caller is never
// promised more (or less) than the store gives.
func TestParamBoundsAreTheStores(t *testing.T) {
	maximum := func(params any, prop string) float64 {
		var s struct {
			Properties map[string]struct {
				Maximum float64 `json:"maximum"`
			} `json:"properties"`
		}
		if err := json.Unmarshal(wire.Schema(params), &s); err != nil {
			t.Fatal(err)
		}
		return s.Properties[prop].Maximum
	}
	if got := maximum(wire.SearchParams{}, "limit"); got != graph.MaxSearchLimit {
		t.Errorf("data.search limit: schema says %v, the store %d", got, graph.MaxSearchLimit)
	}
	if got := maximum(wire.ReadParams{}, "limit"); got != graph.MaxPageLimit {
		t.Errorf("data.read limit: schema says %v, the store %d", got, graph.MaxPageLimit)
	}
	// Every method of the table serves the schema of its params struct.
	srv, _ := testServer(t)
	for name, m := range srv.methods {
		if !json.Valid(m.params) {
			t.Errorf("%s: invalid schema %s", name, m.params)
		}
	}
}
