package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/agentos/agentos/engine/wire"
)

func runWatch(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "watch", "", "Print observer events as they happen (calls, graph changes, jobs) until interrupted.").withJSON()
	since := f.Int64("since", -1, "first replay remembered events after this id (0: all remembered)")
	if _, err := f.parseN(args, 0, 0); err != nil {
		return err
	}
	c, err := wire.DialHome(ctx, e.home, wire.ClientOptions{Name: "cli-watch"})
	if err != nil {
		return err
	}
	defer c.Close()
	events := make(chan wire.Event, 1024)
	if _, err := c.Subscribe(ctx, *since, func(ev wire.Event) { events <- ev }); err != nil {
		return err
	}
	enc := json.NewEncoder(e.stdout)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-c.Done():
			// Print what arrived before the stream ended: often the last
			// completed events.
			for {
				select {
				case ev := <-events:
					if err := printEvent(e, enc, f.jsonOut(), ev); err != nil {
						return err
					}
				default:
					return fmt.Errorf("%w: the engine closed the stream", wire.ErrUnreachable)
				}
			}
		case ev := <-events:
			if err := printEvent(e, enc, f.jsonOut(), ev); err != nil {
				return err
			}
		}
	}
}

func printEvent(e *env, enc *json.Encoder, asJSON bool, ev wire.Event) error {
	if asJSON {
		return enc.Encode(ev)
	}
	_, err := fmt.Fprintln(e.stdout, formatEvent(ev))
	return err
}

func formatEvent(ev wire.Event) string {
	parts := []string{fmt.Sprintf("#%d", ev.ID), ev.At.Local().Format("15:04:05.000"), fmt.Sprintf("%-14s", ev.Type)}
	add := func(k, v string) {
		if v != "" {
			parts = append(parts, k+v)
		}
	}
	add("", ev.Method)
	add("", ev.Capability)
	add("op=", ev.Op)
	add("skill=", ev.Skill)
	add("provider=", ev.Provider)
	add("by=", ev.Caller)
	add("call=", ev.CallID) // ties a graph change to its call or job
	if ev.LatencyMS > 0 {
		add("", fmt.Sprintf("%.2fms", ev.LatencyMS))
	}
	if len(ev.IDs) > 0 {
		ids := ev.IDs
		more := ""
		if len(ids) > 3 {
			ids, more = ids[:3], fmt.Sprintf(" +%d", len(ev.IDs)-3)
		}
		add("ids=", strings.Join(ids, ",")+more)
	}
	add("shapes=", strings.Join(ev.Shapes, ","))
	if ev.Missed > 0 {
		add("missed=", fmt.Sprint(ev.Missed))
	}
	add("error=", ev.Error)
	return strings.Join(parts, " ")
}
