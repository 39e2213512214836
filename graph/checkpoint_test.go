package graph

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"
)

// After commits, the background checkpointer copies the WAL into the
// database file without the writer doing it: the file grows by what was
// written while no write runs. A handed-over store leaves it to the WAL
// threshold (the replicator's checkpoints, in the engine).
func TestCommitsAreCheckpointedInTheBackground(t *testing.T) {
	s := openTest(t, nil, Options{})
	ctx := context.Background()
	size := func() int64 {
		fi, err := os.Stat(s.path)
		ok(t, err)
		return fi.Size()
	}
	before := size()
	for i := 0; i < 3; i++ {
		_, err := s.Write(ctx, "task", benchItems(i*benchBatch))
		ok(t, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for size() <= before {
		if time.Now().After(deadline) {
			t.Fatalf("database file still %d bytes 10 s after the commits: nothing was checkpointed", size())
		}
		time.Sleep(20 * time.Millisecond)
	}

	ok(t, s.HandOverCheckpoints(ctx))
	ok(t, s.HandOverCheckpoints(ctx)) // twice is harmless
	after := size()
	_, err := s.Write(ctx, "task", benchItems(10*benchBatch))
	ok(t, err)
	time.Sleep(200 * time.Millisecond) // several checkpoint pauses
	if got := size(); got != after {
		t.Errorf("database file grew from %d to %d after the hand-over: something still checkpoints a small WAL", after, got)
	}
}

// Handing checkpoints over, or closing the store, while writes commit
// must not race them (a commit tells the checkpointer after its COMMIT).
func TestCheckpointerStopsUnderConcurrentWrites(t *testing.T) {
	s := openTest(t, nil, Options{})
	ctx := context.Background()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 200; i++ {
			if _, err := s.Create(ctx, "task", map[string]any{"title": "t" + strconv.Itoa(i)}, nil); err != nil {
				return // closed under us: expected at the end
			}
		}
	}()
	time.Sleep(5 * time.Millisecond)
	ok(t, s.HandOverCheckpoints(ctx))
	ok(t, s.Close())
	<-done
}
