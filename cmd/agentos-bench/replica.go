package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/agentos/agentos/engine/wire"
)

// replicatedIngest ingests the same notes into two fresh engines, one
// replicating its graph to a file replica (DESIGN §14) and one not, in
// alternating batches so that both see the same machine, and samples the
// replica's lag while it goes. It reports the ingest rate with replication
// against without, the lag's p50, and what replication costs in memory.
func (b *bench) replicatedIngest(ctx context.Context, n int) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	offHome, onHome := filepath.Join(b.dir, "repl-off"), filepath.Join(b.dir, "repl-on")
	replicaDir := filepath.Join(b.dir, "replica")
	if err := os.MkdirAll(onHome, 0o700); err != nil {
		return err
	}
	cfg := fmt.Sprintf("replicate:\n  url: %q\n", "file://"+replicaDir)
	if err := os.WriteFile(filepath.Join(onHome, "config.yaml"), []byte(cfg), 0o600); err != nil {
		return err
	}
	offEng, off, err := startEngineChild(ctx, exe, offHome)
	if err != nil {
		return err
	}
	defer func() { off.Close(); offEng.Process.Signal(os.Interrupt); offEng.Wait() }()
	onEng, on, err := startEngineChild(ctx, exe, onHome)
	if err != nil {
		return err
	}
	defer func() { on.Close(); onEng.Process.Signal(os.Interrupt); onEng.Wait() }()

	var st wire.Status
	if err := on.Call(ctx, wire.MethodStatus, nil, &st); err != nil {
		return err
	}
	if st.Replica == nil || st.Replica.Error != "" {
		return fmt.Errorf("the replicating engine does not replicate: %+v", st.Replica)
	}
	// The lag, sampled on a connection of its own while the ingest runs.
	probe, err := wire.DialHome(ctx, onHome, wire.ClientOptions{Name: "bench-lag"})
	if err != nil {
		return err
	}
	defer probe.Close()
	var lags []time.Duration
	var lagErr string
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
			}
			var s wire.Status
			if probe.Call(ctx, wire.MethodStatus, nil, &s) == nil && s.Replica != nil {
				lags = append(lags, time.Duration(s.Replica.LagSec*float64(time.Second)))
				if s.Replica.Error != "" {
					lagErr = s.Replica.Error
				}
			}
		}
	})

	var offDur, onDur time.Duration
	for start := 0; start < n; start += 1000 {
		end := min(start+1000, n)
		items := make([]map[string]any, 0, end-start)
		for i := start; i < end; i++ {
			items = append(items, map[string]any{"name": fmt.Sprintf("note %d", i), "content": noteText(i)})
		}
		params := map[string]any{"shape": "note", "items": items}
		for _, side := range []struct {
			c   *wire.Client
			dur *time.Duration
		}{{off, &offDur}, {on, &onDur}} {
			t0 := time.Now()
			if err := side.c.Call(ctx, "data.write", params, nil); err != nil {
				close(stop)
				wg.Wait()
				return fmt.Errorf("data.write: %w", err)
			}
			*side.dur += time.Since(t0)
		}
	}
	time.Sleep(1500 * time.Millisecond) // a last sample after the ingest: the replica catches up
	close(stop)
	wg.Wait()
	if lagErr != "" {
		return fmt.Errorf("the replica failed during the ingest: %s", lagErr)
	}
	offRate, onRate := float64(n)/offDur.Seconds(), float64(n)/onDur.Seconds()
	ratio := onRate / offRate
	met := ratio >= 0.9
	offRSS, onRSS := rssKB(offEng.Process.Pid), rssKB(onEng.Process.Pid)
	b.rows = append(b.rows, row{
		Path:   fmt.Sprintf("data.write ingest with replication on (file replica), %d notes", n),
		Ours:   fmt.Sprintf("%.0f items/s", onRate),
		Floor:  fmt.Sprintf("%.0f items/s off", offRate),
		Ratio:  ratio,
		Target: "≥ 0.9× replication off",
		Met:    &met,
		Note: fmt.Sprintf("two fresh engines fed alternating batches of 1000; RSS after: %.1f MB replicating, %.1f MB not",
			float64(onRSS)/1024, float64(offRSS)/1024),
	})
	b.rows = append(b.rows, row{
		Path:   "replica lag during that ingest, p50",
		Ours:   fmt.Sprintf("%.0f ms", float64(percentile(lags, .5).Microseconds())/1000),
		Floor:  "-",
		Target: "- (a figure, no target)",
		Note: fmt.Sprintf("%d samples, every 50 ms; p99 %.0f ms, max %.0f ms; the lag bounds how old the newest writes the replica may lack are (1 s sync interval)",
			len(lags), float64(percentile(lags, .99).Microseconds())/1000, float64(percentile(lags, 1).Microseconds())/1000),
	})
	return nil
}
