package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/agentos/agentos/engine/wire"
	"github.com/agentos/agentos/graph"
)

// parseFields reads key=value arguments (a value that parses as JSON is that
// JSON: 3, true, null, ["a","b"]; anything else is text), or one JSON object.
func parseFields(verb string, args []string) (map[string]any, error) {
	if len(args) == 1 && strings.HasPrefix(strings.TrimSpace(args[0]), "{") {
		var fields map[string]any
		if err := json.Unmarshal([]byte(args[0]), &fields); err != nil {
			return nil, usagef("%s: the fields are not a JSON object: %v", verb, err)
		}
		return fields, nil
	}
	fields := map[string]any{}
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if !ok || k == "" {
			return nil, usagef("%s: %q: give fields as key=value (or one JSON object)", verb, a)
		}
		var parsed any
		if json.Unmarshal([]byte(v), &parsed) == nil {
			fields[k] = parsed
		} else {
			fields[k] = v
		}
	}
	return fields, nil
}

// printWritten prints the node a write answered with, and its warnings.
func printWritten(ctx context.Context, e *env, c *wire.Client, raw rawJSON, asJSON bool, verb string) error {
	if asJSON {
		return printJSON(e.stdout, raw)
	}
	var out struct {
		graph.Node
		Warnings []string `json:"warnings"`
	}
	if err := raw.decode(&out); err != nil {
		return err
	}
	for _, w := range out.Warnings {
		fmt.Fprintln(e.stderr, "warning:", w)
	}
	title, _ := displayOf(shapeOf(ctx, c, firstShape(out.Shapes)), &out.Node)
	fmt.Fprintf(e.stdout, "%s %s %s %s\n", verb, firstShape(out.Shapes), out.ID, title)
	return nil
}

func runCreate(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "create", "SHAPE key=value... | SHAPE JSON", "Create a node: agentos create task title=\"File taxes\" due=2027-04-15").withJSON()
	pos, err := f.parseN(args, 2, -1)
	if err != nil {
		return err
	}
	fields, err := parseFields("create", pos[1:])
	if err != nil {
		return err
	}
	return writeCall(ctx, e, f.jsonOut(), "created", wire.MethodCreate, wire.CreateParams{Shape: pos[0], Fields: fields})
}

func runUpdate(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "update", "ID key=value... | ID JSON", "Change fields of a node (key=null removes one): agentos update ID status=done").withJSON()
	pos, err := f.parseN(args, 2, -1)
	if err != nil {
		return err
	}
	fields, err := parseFields("update", pos[1:])
	if err != nil {
		return err
	}
	return writeCall(ctx, e, f.jsonOut(), "updated", wire.MethodUpdate, wire.UpdateParams{ID: pos[0], Fields: fields})
}

// runDeleteRestore is delete and restore: a soft delete, and its undo.
func runDeleteRestore(method, verb, done string) func(context.Context, *env, []string) error {
	return func(ctx context.Context, e *env, args []string) error {
		usage, summary := "ID", "Delete a node (softly: agentos restore ID brings it back)."
		var timestamp *string
		if verb == "restore" {
			usage = "ID | URL"
			summary = "Bring back a deleted node (ID), or build this home's graph from a replica (URL:\n" +
				"file:///path, s3://bucket/path?endpoint=…, sftp://user@host/path; see docs/replication.md).\n" +
				"A home that already has a database is refused; the result is integrity-checked.\n\n" +
				"  agentos restore 01J…                                  # undelete a node\n" +
				"  agentos restore s3://backups/laptop                   # the latest state\n" +
				"  agentos restore file:///mnt/b --timestamp 2026-12-01T09:00:00Z   # as it was then"
			timestamp = new(string)
		}
		f := newFlags(e, verb, usage, summary).withJSON()
		if timestamp != nil {
			f.StringVar(timestamp, "timestamp", "", "URL: restore the graph as it was at this RFC 3339 time")
		}
		pos, err := f.parseN(args, 1, 1)
		if err != nil {
			return err
		}
		if verb == "restore" && strings.Contains(pos[0], "://") {
			return runRestoreGraph(ctx, e, pos[0], *timestamp, f.jsonOut())
		}
		if timestamp != nil && *timestamp != "" {
			return usagef("restore: --timestamp goes with a replica URL, not a node id")
		}
		return writeCall(ctx, e, f.jsonOut(), done, method, wire.IDParams{ID: pos[0]})
	}
}

// runLinkUnlink is link and unlink: FROM LABEL TO.
func runLinkUnlink(method, verb string) func(context.Context, *env, []string) error {
	return func(ctx context.Context, e *env, args []string) error {
		f := newFlags(e, verb, "FROM LABEL TO", map[string]string{
			"link":   "Add an edge: agentos link TASK_ID project PROJECT_ID",
			"unlink": "Remove an edge: agentos unlink TASK_ID project PROJECT_ID",
		}[verb]).withJSON()
		pos, err := f.parseN(args, 3, 3)
		if err != nil {
			return err
		}
		c, err := dial(ctx, e)
		if err != nil {
			return err
		}
		defer c.Close()
		var raw rawJSON
		if err := c.Call(ctx, method, wire.LinkParams{From: pos[0], Label: pos[1], To: pos[2]}, &raw); err != nil {
			return err
		}
		if f.jsonOut() {
			return printJSON(e.stdout, raw)
		}
		arrow := "->"
		if verb == "unlink" {
			arrow = "-/->"
		}
		fmt.Fprintf(e.stdout, "%s -%s%s %s\n", pos[0], pos[1], arrow, pos[2])
		return nil
	}
}

func writeCall(ctx context.Context, e *env, asJSON bool, verb, method string, params any) error {
	c, err := dial(ctx, e)
	if err != nil {
		return err
	}
	defer c.Close()
	var raw rawJSON
	if err := c.Call(ctx, method, params, &raw); err != nil {
		return err
	}
	return printWritten(ctx, e, c, raw, asJSON, verb)
}
