package engine_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/agentos/agentos/broker"
	"github.com/agentos/agentos/engine/wire"
	"github.com/agentos/agentos/internal/testkit"
)

const bigTools = `from agentos import provides, capability

@provides("big")
def big(mib: int) -> str:
    return "x" * (mib << 20)

@provides("big.nested")
def big_nested(mib: int) -> int:
    return len(capability("big").invoke({"mib": mib}))
`

// A large result keeps its share of the runner's large-line pool until its
// reply is written, and gives it back then: more large results than the pool
// holds at once, one after the other and by every way of calling, all come
// through, and the pool is empty afterwards.
func TestLargeResultsGiveTheirLineShareBackOnceReplied(t *testing.T) {
	home := testkit.Home(t)
	testkit.AddSkill(t, home, "bigs", "capability(big)", bigTools)
	testkit.RunEngine(t, home)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	c, err := wire.DialHome(ctx, home, wire.ClientOptions{Name: "test"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const mib = 3
	want := mib<<20 + 2 // the JSON string
	// The default pool holds two such lines: a share kept for ever would stall
	// the third call.
	for i := range 3 {
		var raw json.RawMessage
		if err := c.Call(ctx, wire.MethodSkillsRun, map[string]any{"skill": "bigs", "tool": "big", "params": map[string]any{"mib": mib}}, &raw); err != nil || len(raw) != want {
			t.Fatalf("skills.run %d: %d bytes, %v", i, len(raw), err)
		}
		if err := c.Call(ctx, wire.MethodInvoke, map[string]any{"capability": "big", "params": map[string]any{"mib": mib}}, &raw); err != nil || len(raw) != want {
			t.Fatalf("capabilities.invoke %d: %d bytes, %v", i, len(raw), err)
		}
		var n int
		if err := c.Call(ctx, wire.MethodInvoke, map[string]any{"capability": "big.nested", "params": map[string]any{"mib": mib}}, &n); err != nil || n != mib<<20 {
			t.Fatalf("nested %d: %d, %v", i, n, err)
		}
		var async struct{ Job string }
		if err := c.Call(ctx, wire.MethodInvoke, map[string]any{"capability": "big", "async": true, "params": map[string]any{"mib": mib}}, &async); err != nil {
			t.Fatal(err)
		}
		for {
			var j wire.Job
			if err := c.Call(ctx, wire.MethodJobsGet, wire.IDParams{ID: async.Job}, &j); err != nil {
				t.Fatal(err)
			}
			if j.State != wire.JobRunning {
				if j.State != wire.JobCompleted {
					t.Fatalf("async job %d: %+v", i, j)
				}
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	// The last reply's share is given back just after it is written.
	for deadline := time.Now().Add(10 * time.Second); broker.LinePoolInUse() != 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the pool still holds %d bytes after every call was answered", broker.LinePoolInUse())
		}
	}
}
