package main

import (
	"context"
	"encoding/json"
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
		if params, err = paramsArg(e, "call", pos[1]); err != nil {
			return err
		}
	}
	raw, err := fetch(ctx, e, pos[0], params)
	if err != nil {
		return err
	}
	return printJSON(e.stdout, raw)
}
