package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
)

func runCall(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "call", "METHOD [JSON|-]", "Send one raw JSON-RPC call to the engine and print the result as indented JSON.\nJSON is the params object; `-` reads it from stdin. `agentos call system.schema` lists every method.")
	f.Bool("json", true, "accepted for symmetry: call always prints JSON")
	pos, err := f.parseN(args, 1, 2)
	if err != nil {
		return err
	}
	var params json.RawMessage
	if len(pos) == 2 {
		src := []byte(pos[1])
		if pos[1] == "-" {
			if src, err = io.ReadAll(e.stdin); err != nil {
				return fmt.Errorf("read params from stdin: %w", err)
			}
		}
		src = bytes.TrimSpace(src)
		if !json.Valid(src) {
			return usagef("call: params are not valid JSON: %s", clip(string(src), 80))
		}
		params = src
	}
	c, err := dial(ctx, e)
	if err != nil {
		return err
	}
	defer c.Close()
	var raw rawJSON
	if err := c.Call(ctx, pos[0], params, &raw); err != nil {
		return err
	}
	return printJSON(e.stdout, raw)
}
