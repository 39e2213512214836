package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/agentos/agentos/agents"
	"github.com/agentos/agentos/engine/wire"
)

// runAgents is `agentos agents list|show|run` (DESIGN §15).
func runAgents(ctx context.Context, e *env, args []string) error {
	sub, rest := "list", args
	for i, a := range args {
		if !strings.HasPrefix(a, "-") {
			sub, rest = a, append(append([]string(nil), args[:i]...), args[i+1:]...)
			break
		}
	}
	const use = "list | show NAME | run NAME \"TASK\" | enable NAME | disable NAME"
	f := newFlags(e, "agents", use,
		"Agents are Markdown files (agents/NAME.md in $AGENTOS_HOME, or a skill's agents/ folder): a model,\n"+
			"the capabilities the agent may call and its system prompt. list shows them (and the files that do\n"+
			"not load, with why), show one in full, run runs one on a task and prints each step as it happens.\n"+
			"enable starts running an agent's mission on its schedule (every:), until disable; missions are off by default.").withJSON()
	model := f.String("model", "", "run: use this model instead of the agent's")
	var want int
	switch sub {
	case "list":
		want = 0
	case "show", "enable", "disable":
		want = 1
	case "run":
		want = 2
	default:
		return usagef("usage: agentos agents %s", use)
	}
	pos, err := f.parseN(rest, want, want)
	if err != nil {
		return err
	}
	if sub == "run" {
		return runAgent(ctx, e, pos[0], pos[1], *model, f.jsonOut())
	}
	c, err := dial(ctx, e)
	if err != nil {
		return err
	}
	defer c.Close()
	var raw rawJSON
	if sub == "enable" || sub == "disable" {
		method := map[string]string{"enable": wire.MethodAgentsEnable, "disable": wire.MethodAgentsDisable}[sub]
		if err := c.Call(ctx, method, wire.NameParams{Name: pos[0]}, &raw); err != nil {
			return err
		}
		if f.jsonOut() {
			return printJSON(e.stdout, raw)
		}
		fmt.Fprintf(e.stdout, "%s: mission %sd\n", pos[0], sub)
		return nil
	}
	if sub == "show" {
		if err := c.Call(ctx, wire.MethodAgentsGet, wire.NameParams{Name: pos[0]}, &raw); err != nil {
			return err
		}
		if f.jsonOut() {
			return printJSON(e.stdout, raw)
		}
		var a agents.Agent
		if err := raw.decode(&a); err != nil {
			return err
		}
		return printAgent(e, &a)
	}
	if err := c.Call(ctx, wire.MethodAgentsList, nil, &raw); err != nil {
		return err
	}
	if f.jsonOut() {
		return printJSON(e.stdout, raw)
	}
	var l agents.Listing
	if err := raw.decode(&l); err != nil {
		return err
	}
	if len(l.Agents) == 0 && len(l.Problems) == 0 {
		fmt.Fprintln(e.stderr, "no agents; put NAME.md files in $AGENTOS_HOME/agents (docs/agents.md)")
		return nil
	}
	t := newTable(e.stdout)
	t.row("AGENT", "TOOLS", "MISSION", "SOURCE", "ABOUT")
	for _, a := range l.Agents {
		tools := strings.Join(append(append([]string(nil), a.Tools...), prefixed("agent:", a.Delegate)...), ",")
		mission := "-"
		if a.Mission != "" {
			mission = "every " + a.Every.String() + ", off"
			if a.Enabled {
				mission = "every " + a.Every.String() + ", on"
			}
		}
		t.row(a.Name, tools, mission, a.Source, clip(a.Description, 60))
	}
	for _, p := range l.Problems {
		t.row("(invalid)", "", "", p.Source, p.Path+": "+clip(p.Reason, 80))
	}
	return t.flush()
}

func prefixed(p string, names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = p + n
	}
	return out
}

func printAgent(e *env, a *agents.Agent) error {
	t := newTable(e.stdout)
	t.row("agent", a.Name)
	t.row("about", a.Description)
	t.row("file", a.Path)
	t.row("tools", strings.Join(a.Tools, ", "))
	if len(a.Ignored) > 0 {
		t.row("ignored", strings.Join(a.Ignored, ", ")+" (other agents' tools)")
	}
	if len(a.Delegate) > 0 {
		t.row("delegates", strings.Join(a.Delegate, ", "))
	}
	model := a.Model
	if model == "" {
		model = "(the llm provider's default)"
	}
	t.row("model", model)
	t.row("max turns", fmt.Sprint(a.MaxTurns))
	if a.Mission != "" {
		state := "off: agentos agents enable " + a.Name
		if a.Enabled {
			state = "on"
		}
		t.row("mission", a.Mission+"  (every "+a.Every.String()+"; "+state+")")
	}
	if err := t.flush(); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "\n%s\n", a.Prompt)
	return nil
}

// runAgent invokes agent.run and prints each step (the job's progress) as
// it comes, then the answer; Ctrl-C cancels the run, its tool calls and
// its delegations.
func runAgent(ctx context.Context, e *env, name, task, model string, asJSON bool) error {
	params, _ := json.Marshal(map[string]string{"agent": name, "task": task, "model": model})
	req := wire.InvokeParams{Capability: "agent.run", Params: params}
	res, err := wire.Invoke(ctx, wire.PathsFor(e.home).Socket, wire.ClientOptions{Name: "cli"}, req,
		wire.Follow{OnProgress: func(ev wire.Event) {
			if msg, _ := ev.Data["message"].(string); msg != "" {
				fmt.Fprintln(e.stderr, msg)
			}
		}})
	var cancelled *wire.Cancelled
	switch {
	case errors.As(err, &cancelled):
		return &interruptedError{err: fmt.Errorf("interrupted: %w", cancelled)}
	case wire.IsKind(err, wire.KindNoProvider):
		return fmt.Errorf("%w (agent.run comes from the bundled agents skill: is it installed and valid? agentos skills show agents)", err)
	case err != nil:
		return err
	}
	if asJSON {
		return printJSON(e.stdout, rawJSON(res))
	}
	var r agents.Result
	if err := json.Unmarshal(res, &r); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, r.Answer)
	fmt.Fprintf(e.stderr, "run %s: %s after %d turns (%d tokens in, %d out)\n", r.Run, r.Outcome, r.Turns, r.Usage.InputTokens, r.Usage.OutputTokens)
	if r.Outcome == agents.OutcomeFailed || r.Outcome == agents.OutcomeCancelled {
		return fmt.Errorf("the run %s: %s", r.Outcome, r.Error)
	}
	return nil
}
