package agents

import (
	"encoding/json"
	"slices"
	"testing"
)

func TestNodeIDsFindTheNodesAResultHolds(t *testing.T) {
	for _, c := range []struct {
		raw  string
		want []string
	}{
		{`{"id":"n1","shapes":["note"],"fields":{}}`, []string{"n1"}},
		{`{"created":true,"id":"n2","item":{"url":"http://x/"}}`, []string{"n2"}},
		{`{"nodes":[{"id":"a","shapes":["task"]},{"id":"b"}]}`, []string{"a"}},
		{`{"ids":["c","d"]}`, []string{"c", "d"}},
		{`{"id":"not-a-node"}`, nil},
		{`"just text"`, nil},
	} {
		if got := nodeIDs(json.RawMessage(c.raw)); !slices.Equal(got, c.want) {
			t.Errorf("nodeIDs(%s) = %v, want %v", c.raw, got, c.want)
		}
	}
}

func TestWithoutHitsHidesTheLiveRuns(t *testing.T) {
	raw := `{"hits":[{"node":{"id":"run1"},"snippet":"x"},{"node":{"id":"note1"},"snippet":"y"},{"node":{"id":"run0"}}],"more":1}`
	var got struct {
		Hits []struct {
			Node struct{ ID string }
		}
		More int
	}
	if err := json.Unmarshal(withoutHits(json.RawMessage(raw), []string{"run0", "run1"}), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Hits) != 1 || got.Hits[0].Node.ID != "note1" || got.More != 1 {
		t.Errorf("got %+v", got)
	}
	if string(withoutHits(json.RawMessage(`not json`), nil)) != "not json" {
		t.Error("a result that is not a search's should pass unchanged")
	}
}
