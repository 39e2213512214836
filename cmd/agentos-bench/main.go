package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/agentos/agentos/broker/sandbox"
)

func main() {
	// The engine child's skill calls re-execute this binary as their
	// sandbox helper, as the agentos binary does.
	sandbox.MaybeRunChild()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "agentos-bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	// Child modes: the engine and the echo floor run as their own processes,
	// so neither shares a scheduler or heap with the measuring client.
	if len(args) >= 2 && args[0] == childEngine {
		return runEngineChild(ctx, args[1])
	}
	if len(args) >= 2 && args[0] == childEcho {
		return runEchoChild(ctx, args[1])
	}
	if len(args) >= 2 && args[0] == childMCP {
		return runMCPChild(ctx, args[1])
	}
	fs := flag.NewFlagSet("agentos-bench", flag.ContinueOnError)
	items := fs.Int("items", 100_000, "items to ingest for the data.write path")
	big := fs.Int("big", 1_000_000, "nodes in the graph for the data.read {shape, where} and data.search paths (0 skips both)")
	searches := fs.Int("searches", 5, "searches (and raw FTS5 floors) on the big graph")
	searchClients := fs.Int("search-clients", 0, "also run this many concurrent clients searching the big graph (0: no)")
	pings := fs.Int("pings", 20_000, "round trips for the ping and point-read paths")
	invokes := fs.Int("invokes", 200, "no-op skill calls for the invoke path (0 skips it)")
	partial := fs.Int("partial-lines", 0, "connections that each hold a 16 MiB partial request line, for the memory row (0 skips it; it waits out the 30 s line timeout)")
	jsonOut := fs.Bool("json", false, "print results as JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	b, err := newBench(ctx, *pings)
	if err != nil {
		return err
	}
	defer b.close()
	steps := []func(context.Context) error{
		b.ping,
		func(ctx context.Context) error { return b.ingest(ctx, *items) },
		func(ctx context.Context) error { return b.replicatedIngest(ctx, *items) },
		b.pointRead,
		b.mcpRead,
		b.mcpWrites,
		b.bridgeReads,
	}
	if *big > 0 {
		steps = append(steps,
			func(ctx context.Context) error { return b.whereRead(ctx, *big) },
			func(ctx context.Context) error { return b.searchRead(ctx, *big, *searches, *searchClients) })
	}
	steps = append(steps, b.overviewRoute)
	if *invokes > 0 {
		steps = append(steps, func(ctx context.Context) error { return b.invoke(ctx, *invokes) })
	}
	steps = append(steps, b.idleMemory)
	if *partial > 0 {
		steps = append(steps, func(ctx context.Context) error { return b.partialLines(ctx, *partial) })
	}
	for _, step := range steps {
		if err := step(ctx); err != nil {
			return err
		}
	}
	return b.report(os.Stdout, *jsonOut)
}
