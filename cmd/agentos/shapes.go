package main

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/agentos/agentos/shapes"
)

func runShapes(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "shapes", "list | show NAME", "List the loaded shapes, or show one shape's fields, relations and identity.").withJSON()
	pos, err := f.parseN(args, 0, 2)
	if err != nil {
		return err
	}
	sub := "list"
	if len(pos) > 0 {
		sub = pos[0]
	}
	switch {
	case sub == "list" && len(pos) <= 1:
	case sub == "show" && len(pos) == 2:
	default:
		return usagef("usage: agentos shapes list | agentos shapes show NAME")
	}
	c, err := dial(ctx, e)
	if err != nil {
		return err
	}
	defer c.Close()
	var raw rawJSON
	if sub == "show" {
		if err := c.Call(ctx, "shapes.get", map[string]string{"name": pos[1]}, &raw); err != nil {
			return err
		}
		if f.jsonOut() {
			return printJSON(e.stdout, raw)
		}
		var sh shapes.Shape
		if err := raw.decode(&sh); err != nil {
			return err
		}
		return printShape(e, &sh)
	}
	if err := c.Call(ctx, "shapes.list", nil, &raw); err != nil {
		return err
	}
	if f.jsonOut() {
		return printJSON(e.stdout, raw)
	}
	var res struct {
		Shapes []*shapes.Shape `json:"shapes"`
		Errors []string        `json:"errors"`
	}
	if err := raw.decode(&res); err != nil {
		return err
	}
	t := newTable(e.stdout)
	t.row("NAME", "ALSO", "IDENTITY", "FIELDS", "DESCRIPTION")
	for _, sh := range res.Shapes {
		t.row(sh.Name, strings.Join(sh.Also, ","), identityOf(sh), fmt.Sprint(len(sh.Fields)), clip(sh.Description, 60))
	}
	if err := t.flush(); err != nil {
		return err
	}
	for _, msg := range res.Errors {
		fmt.Fprintln(e.stderr, "skipped:", msg)
	}
	return nil
}

func identityOf(sh *shapes.Shape) string {
	switch {
	case len(sh.Identity) > 0:
		return strings.Join(sh.Identity, "+")
	case len(sh.IdentityAny) > 0:
		return strings.Join(sh.IdentityAny, "|")
	}
	return "-"
}

func printShape(e *env, sh *shapes.Shape) error {
	t := newTable(e.stdout)
	t.row("shape", sh.Name)
	if sh.Description != "" {
		t.row("about", sh.Description)
	}
	if len(sh.Also) > 0 {
		t.row("also", strings.Join(sh.Also, ", "))
	}
	t.row("identity", identityOf(sh)+identityNote(sh))
	if sh.Strict {
		t.row("strict", "yes: values that do not fit are rejected")
	}
	t.row("source", sh.Source)
	t.row("", "")
	names := make([]string, 0, len(sh.Fields))
	for k := range sh.Fields {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		fl := sh.Fields[k]
		typ := string(fl.Type)
		if fl.Type == shapes.TypeEnum {
			typ = "enum(" + strings.Join(fl.Enum, "|") + ")"
		}
		if fl.Array {
			typ += "[]"
		}
		t.row(k, typ)
	}
	rels := make([]string, 0, len(sh.Relations))
	for k := range sh.Relations {
		rels = append(rels, k)
	}
	sort.Strings(rels)
	for _, k := range rels {
		r := sh.Relations[k]
		target := "-> " + r.Shape
		if r.Many {
			target += "[]"
		}
		t.row(k, target)
	}
	return t.flush()
}

func identityNote(sh *shapes.Shape) string {
	switch {
	case len(sh.Identity) > 1:
		return "  (all must match)"
	case len(sh.IdentityAny) > 1:
		return "  (any one matches, in this order)"
	}
	return ""
}
