package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
)

func runCapabilities(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "capabilities", "[list]", "List capabilities with their providers in the order they would be tried, and why.").withJSON()
	pos, err := f.parseN(args, 0, 1)
	if err != nil {
		return err
	}
	if len(pos) == 1 && pos[0] != "list" {
		return usagef("usage: agentos capabilities [list]")
	}
	raw, err := fetch(ctx, e, "capabilities.list", nil)
	if err != nil {
		return err
	}
	if f.jsonOut() {
		return printJSON(e.stdout, raw)
	}
	var res struct {
		Capabilities []struct {
			Capability string
			Pin        string
			Policy     string
			Providers  []struct {
				Skill, Tool, Reason string
				Local               bool
			}
		}
	}
	if err := raw.decode(&res); err != nil {
		return err
	}
	if len(res.Capabilities) == 0 {
		fmt.Fprintln(e.stderr, "no capabilities: no installed skill declares @provides(...)")
		return nil
	}
	t := newTable(e.stdout)
	t.row("CAPABILITY", "#", "PROVIDER", "WHERE", "WHY")
	for _, cp := range res.Capabilities {
		for i, p := range cp.Providers {
			where := "cloud"
			if p.Local {
				where = "local"
			}
			name := cp.Capability
			if i > 0 {
				name = ""
			}
			t.row(name, fmt.Sprint(i+1), p.Skill+"/"+p.Tool, where, p.Reason)
		}
	}
	return t.flush()
}

func runPrefer(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "prefer", "CAPABILITY SKILL", "Pin the provider of a capability (saved in config.yaml). `agentos prefer CAPABILITY \"\"` clears the pin.").withJSON()
	pos, err := f.parseN(args, 2, 2)
	if err != nil {
		return err
	}
	c, err := dial(ctx, e)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Call(ctx, "capabilities.prefer", map[string]string{"capability": pos[0], "skill": strings.TrimSpace(pos[1])}, nil); err != nil {
		return err
	}
	if f.jsonOut() {
		return json.NewEncoder(e.stdout).Encode(map[string]string{"capability": pos[0], "pin": strings.TrimSpace(pos[1])})
	}
	if pos[1] == "" {
		fmt.Fprintf(e.stdout, "%s: pin cleared\n", pos[0])
	} else {
		fmt.Fprintf(e.stdout, "%s: %s is preferred\n", pos[0], pos[1])
	}
	return nil
}
