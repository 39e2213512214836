package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/agentos/agentos/broker"
)

// skillView is a skill as skills.list and skills.get answer it.
type skillView struct {
	broker.Skill
	Capabilities []string `json:"capabilities"`
	// PermissionSources are the effective permissions, each with where it
	// came from: allowed-tools, grant (config.yaml), settings.KEY.
	PermissionSources []struct {
		Permission string   `json:"permission"`
		From       []string `json:"from"`
	} `json:"permission_sources"`
}

func runSkills(ctx context.Context, e *env, args []string) error {
	// The subcommand is the first argument that is not a flag.
	sub, rest := "list", args
	for i, a := range args {
		if !strings.HasPrefix(a, "-") {
			sub, rest = a, append(append([]string(nil), args[:i]...), args[i+1:]...)
			break
		}
	}
	switch sub {
	case "new":
		return runSkillsNew(e, rest)
	case "install":
		return runSkillsInstall(ctx, e, rest)
	case "remove":
		return runSkillsRemove(e, rest)
	case "test":
		return runSkillsTest(ctx, e, rest)
	case "list", "show":
	default:
		return usagef("usage: agentos skills list | show ID | new ID | install DIR | remove ID | test DIR [TOOL [JSON]]")
	}
	f := newFlags(e, "skills", "list | show ID | new ID | install DIR | remove ID | test DIR [TOOL [JSON]]",
		"Manage skills: list the installed ones (invalid ones with the reason), show one's tools, permissions and guide,\n"+
			"scaffold a new one, install or remove one in $AGENTOS_HOME/skills, or test one against a throwaway graph.").withJSON()
	pos, err := f.parseN(rest, 0, 1)
	if err != nil {
		return err
	}
	if (sub == "show") != (len(pos) == 1) {
		return usagef("usage: agentos skills list | agentos skills show ID")
	}
	if sub == "show" {
		pos = append([]string{"show"}, pos...)
	}
	c, err := dial(ctx, e)
	if err != nil {
		return err
	}
	defer c.Close()
	var raw rawJSON
	if sub == "show" {
		if err := c.Call(ctx, "skills.get", map[string]string{"id": pos[1]}, &raw); err != nil {
			return err
		}
		if f.jsonOut() {
			return printJSON(e.stdout, raw)
		}
		var s skillView
		if err := raw.decode(&s); err != nil {
			return err
		}
		return printSkill(e, &s)
	}
	if err := c.Call(ctx, "skills.list", nil, &raw); err != nil {
		return err
	}
	if f.jsonOut() {
		return printJSON(e.stdout, raw)
	}
	var res struct {
		Skills []skillView `json:"skills"`
	}
	if err := raw.decode(&res); err != nil {
		return err
	}
	if len(res.Skills) == 0 {
		fmt.Fprintln(e.stderr, "no skills installed; put skill folders in $AGENTOS_HOME/skills")
		return nil
	}
	t := newTable(e.stdout)
	t.row("SKILL", "TOOLS", "PROVIDES", "SOURCE", "STATUS")
	for _, s := range res.Skills {
		status := "ok"
		if s.Invalid != "" {
			status = "invalid: " + clip(s.Invalid, 60)
		}
		t.row(s.ID, fmt.Sprint(len(s.Tools)), strings.Join(s.Capabilities, ","), s.Source, status)
	}
	return t.flush()
}

func printSkill(e *env, s *skillView) error {
	t := newTable(e.stdout)
	t.row("skill", s.ID)
	t.row("about", s.Description)
	t.row("folder", s.Dir)
	t.row("allowed", s.AllowedTools)
	for i, p := range s.PermissionSources {
		label := ""
		if i == 0 {
			label = "permissions"
		}
		t.row(label, p.Permission+"  from "+strings.Join(p.From, ", "))
	}
	if s.Invalid != "" {
		t.row("INVALID", s.Invalid)
	}
	for _, w := range s.Warnings {
		t.row("warning", w)
	}
	t.row("", "")
	for _, tool := range s.Tools {
		var caps []string
		for _, p := range tool.Provides {
			caps = append(caps, p.Capability)
		}
		line := tool.Module + "." + tool.Function
		if len(caps) > 0 {
			line += "  provides " + strings.Join(caps, ", ")
		}
		if tool.Returns != "" {
			line += "  returns " + tool.Returns
		}
		t.row(tool.Name, line)
		if tool.Description != "" {
			t.row("", clip(tool.Description, 100))
		}
	}
	if err := t.flush(); err != nil {
		return err
	}
	if s.Skill.Guide != "" {
		fmt.Fprintf(e.stdout, "\n%s\n", s.Skill.Guide)
	}
	return nil
}
