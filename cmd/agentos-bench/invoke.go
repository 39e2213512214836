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
	"github.com/agentos/agentos/engine/wire"
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
	mode, layers, missing := b.sandbox(ctx)
	// The main engine has the default config: sandboxed, runner: fork.
	p50, err := b.noopLatency(ctx, b.client, n)
	if err != nil {
		return err
	}
	fp50 := percentile(floor, .5)
	b.latencyRow("no-op skill call, sandboxed fork server (p50)", p50, fp50, 0.25,
		"≤ 0.25× python3 -I -S -c 'import json'",
		fmt.Sprintf("the default: runner: fork, a fresh process forked from a template that has imported the SDK; sandbox %s: %v (missing: %v); floor p99 %s; through skills.run, the path capabilities.invoke takes",
			mode, layers, missing, ms(percentile(floor, .99))))
	b.rows[len(b.rows)-1].Ours, b.rows[len(b.rows)-1].Floor = ms(p50), ms(fp50)

	// The same on engines whose config.yaml says runner: spawn (the fallback),
	// and sandbox: off: what each costs.
	spawnP50, err := b.noopOnEngine(ctx, "home-spawn", "runner: spawn\n", n)
	if err != nil {
		return err
	}
	b.latencyRow("no-op skill call, sandboxed spawn (p50)", spawnP50, fp50, 1.5,
		"≤ 1.5× python3 -I -S -c 'import json'",
		"runner: spawn: the sandbox helper and a fresh interpreter per call, the fallback for calls with files grants")
	b.rows[len(b.rows)-1].Ours, b.rows[len(b.rows)-1].Floor = ms(spawnP50), ms(fp50)
	offP50, err := b.noopOnEngine(ctx, "home-nosandbox", "sandbox: off\n", n)
	if err != nil {
		return err
	}
	b.latencyRow("no-op skill call, sandbox off (p50)", offP50, fp50, 1.5,
		"— (what the sandbox costs: the spawn row less this one)",
		fmt.Sprintf("the sandbox adds %s a call with spawn", ms(spawnP50-offP50)))
	b.rows[len(b.rows)-1].Ours, b.rows[len(b.rows)-1].Floor = ms(offP50), ms(fp50)

	call := func() error {
		return b.client.Call(ctx, "skills.run", map[string]any{"skill": "noop", "tool": "noop"}, nil)
	}
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
		Path:   "20 concurrent no-op skill calls, sandboxed fork server",
		Ours:   fmt.Sprintf("%.0f calls/s", rate),
		Floor:  fmt.Sprintf("%.0f starts/s", float64(time.Second)/float64(fp50)),
		Ratio:  rate / (float64(time.Second) / float64(fp50)),
		Target: "bounded by the runner's concurrency (8 processes)",
		Note:   "floor: one interpreter start at a time, from the p50 above",
	})
	return nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }

// noopLatency is the p50 of n no-op skill calls on c (after one that also
// waits for discovery).
func (b *bench) noopLatency(ctx context.Context, c *wire.Client, n int) (time.Duration, error) {
	call := func() error {
		return c.Call(ctx, wire.MethodSkillsRun, wire.SkillRunParams{Skill: "noop", Tool: "noop"}, nil)
	}
	if err := call(); err != nil {
		return 0, fmt.Errorf("skills.run noop: %w", err)
	}
	lat := make([]time.Duration, n)
	for i := range lat {
		t0 := time.Now()
		if err := call(); err != nil {
			return 0, err
		}
		lat[i] = time.Since(t0)
	}
	return percentile(lat, .5), nil
}

// sandbox is what the engine says of its skills' sandbox.
func (b *bench) sandbox(ctx context.Context) (mode string, layers, missing []string) {
	var st wire.Status
	if err := b.client.Call(ctx, wire.MethodStatus, nil, &st); err != nil || st.Sandbox == nil {
		return "unknown", nil, nil
	}
	return st.Sandbox.Mode, st.Sandbox.Layers, st.Sandbox.Missing
}

// noopOnEngine measures no-op calls on an engine of its own whose home has
// config as its config.yaml.
func (b *bench) noopOnEngine(ctx context.Context, name, config string, n int) (time.Duration, error) {
	home := filepath.Join(b.dir, name)
	if err := writeNoopSkill(home); err != nil {
		return 0, err
	}
	if err := os.WriteFile(filepath.Join(home, "config.yaml"), []byte(config), 0o600); err != nil {
		return 0, err
	}
	exe, err := os.Executable()
	if err != nil {
		return 0, err
	}
	cmd, c, err := startEngineChild(ctx, exe, home)
	if err != nil {
		return 0, err
	}
	defer func() {
		c.Close()
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
	}()
	return b.noopLatency(ctx, c, n)
}
