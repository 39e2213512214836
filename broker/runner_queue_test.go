package broker

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestAtMostMaxConcurrentWorkersRunAndTheRestQueue(t *testing.T) {
	t.Parallel()
	r := newTestRunner(t, func(o *RunnerOptions) { o.MaxConcurrent = 2 })
	var inOp, peak atomic.Int32
	paired := make(chan struct{}) // closed once two calls were in an op together
	var pairOnce sync.Once
	h := &recorder{serve: func(context.Context, Op) (json.RawMessage, error) {
		n := inOp.Add(1)
		defer inOp.Add(-1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		if got := r.Running(); got > 2 {
			t.Errorf("Running() = %d with MaxConcurrent 2", got)
		}
		if n >= 2 {
			pairOnce.Do(func() { close(paired) })
		}
		// Hold the op until a second call joins, so a third would overlap too if
		// the runner let it start; the timeout only keeps a broken runner from hanging.
		select {
		case <-paired:
		case <-time.After(5 * time.Second):
		}
		time.Sleep(20 * time.Millisecond)
		return json.RawMessage(`true`), nil
	}}
	var wg sync.WaitGroup
	for range 6 {
		wg.Go(func() {
			if _, err := r.Run(context.Background(), fixtureCall(t, "op", map[string]any{}), h); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if p := peak.Load(); p != 2 {
		t.Errorf("peak concurrent calls = %d, want 2", p)
	}
}

func TestFullQueueIsUnavailableAndWaitingRespectsContext(t *testing.T) {
	t.Parallel()
	r := newTestRunner(t, func(o *RunnerOptions) { o.MaxConcurrent, o.MaxQueue = 1, 1 })

	// Occupy the only slot until released.
	hold, release := context.WithCancel(context.Background())
	busy := make(chan error, 1)
	go func() {
		_, err := r.Run(hold, fixtureCall(t, "hang", nil), nil)
		busy <- err
	}()
	if !eventually(5*time.Second, func() bool { return r.Running() == 1 }) {
		t.Fatal("first call never started")
	}

	// The second waits in the queue until its context ends.
	waitCtx, stopWaiting := context.WithCancel(context.Background())
	queued := make(chan error, 1)
	go func() {
		_, err := r.Run(waitCtx, fixtureCall(t, "echo", nil), nil)
		queued <- err
	}()
	if !eventually(5*time.Second, func() bool { return r.queued.Load() == 1 }) {
		t.Fatal("second call never queued")
	}

	// The third finds the queue full.
	_, err := r.Run(context.Background(), fixtureCall(t, "echo", nil), nil)
	runError(t, err, KindUnavailable)

	// A queued call with a deadline gives up as a timeout.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	stopWaiting() // frees the queue place for this one
	runError(t, <-queued, KindCancelled)
	_, err = r.Run(ctx, fixtureCall(t, "echo", nil), nil)
	runError(t, err, KindTimeout)

	release()
	runError(t, <-busy, KindCancelled)
	if r.Running() != 0 || r.queued.Load() != 0 {
		t.Errorf("running %d, queued %d after everything ended", r.Running(), r.queued.Load())
	}
	// The slot is free again.
	if _, err := r.Run(context.Background(), fixtureCall(t, "echo", nil), nil); err != nil {
		t.Errorf("call after the queue drained: %v", err)
	}
}

func TestCancelledContextIsRefusedBeforeStart(t *testing.T) {
	t.Parallel()
	r := newTestRunner(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := r.Run(ctx, fixtureCall(t, "echo", nil), nil)
	runError(t, err, KindCancelled)
	var re *RunError
	if errors.As(err, &re) && re.Stderr != "" {
		t.Errorf("no worker should have run, stderr = %q", re.Stderr)
	}
}
