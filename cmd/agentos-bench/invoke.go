package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"

	"github.com/agentos/agentos/broker"
)

// writeNoopSkill puts a skill with a tool that does nothing into home, so
// the invoke path measures the engine and the process start alone.
func writeNoopSkill(home string) error {
	dir := filepath.Join(home, "skills", "noop")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	md := "---\nname: noop\ndescription: Does nothing; measures the cost of a call.\n---\n"
	src := "from agentos import provides\n\n@provides(\"bench.noop\")\ndef noop() -> dict:\n    return {}\n"
	if err := os.WriteFile(filepath.Join(dir, "SKILL.md"), []byte(md), 0o600); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "tools.py"), []byte(src), 0o600)
}

// invoke measures a no-op tool call (a fresh process per call) against a
// fresh interpreter that can speak JSON, started by absolute path.
func (b *bench) invoke(ctx context.Context, n int) error {
	python, err := broker.FindPython(ctx, "")
	if err != nil {
		return err
	}
	floor := make([]time.Duration, n)
	for i := range floor {
		t0 := time.Now()
		if err := exec.CommandContext(ctx, python, "-I", "-S", "-c", "import json").Run(); err != nil {
			return fmt.Errorf("python floor: %w", err)
		}
		floor[i] = time.Since(t0)
	}
	call := func() error {
		return b.client.Call(ctx, "skills.run", map[string]any{"skill": "noop", "tool": "noop"}, nil)
	}
	if err := call(); err != nil { // also waits for discovery to have run
		return fmt.Errorf("skills.run noop: %w", err)
	}
	lat := make([]time.Duration, n)
	for i := range lat {
		t0 := time.Now()
		if err := call(); err != nil {
			return err
		}
		lat[i] = time.Since(t0)
	}
	p50, fp50 := percentile(lat, .5), percentile(floor, .5)
	b.latencyRow("no-op skill call, fresh process (p50)", p50, fp50, 1.5,
		"≤ 1.5× python3 -I -S -c 'import json'",
		fmt.Sprintf("p99 %s vs floor p99 %s; through skills.run, the path capabilities.invoke takes", ms(percentile(lat, .99)), ms(percentile(floor, .99))))
	b.rows[len(b.rows)-1].Ours, b.rows[len(b.rows)-1].Floor = ms(p50), ms(fp50)

	const workers, each = 20, 10
	t0 := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				if err := call(); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	rate := float64(workers*each) / time.Since(t0).Seconds()
	b.rows = append(b.rows, row{
		Path:   "20 concurrent no-op skill calls",
		Ours:   fmt.Sprintf("%.0f calls/s", rate),
		Floor:  fmt.Sprintf("%.0f starts/s", float64(time.Second)/float64(fp50)),
		Ratio:  rate / (float64(time.Second) / float64(fp50)),
		Target: "bounded by the runner's concurrency (8 processes)",
		Note:   "floor: one interpreter start at a time, from the p50 above",
	})
	return nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }
