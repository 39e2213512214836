package main

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// subcommands are the words completed after a command that takes one.
var subcommands = map[string]string{
	"skills":       "list show new install remove test",
	"shapes":       "list show",
	"secrets":      "set list delete export-key import-key",
	"capabilities": "list",
	"completion":   "bash zsh fish",
	"help":         "",
}

func runCompletion(_ context.Context, e *env, args []string) error {
	f := newFlags(e, "completion", "bash|zsh|fish", "Print a shell completion script for agentos: commands, their subcommands, shape names\n"+
		"for read and capability names for invoke (asked of the running engine as you type).\n"+
		"  bash: source <(agentos completion bash)        zsh: source <(agentos completion zsh)\n"+
		"  fish: agentos completion fish | source")
	pos, err := f.parseN(args, 1, 1)
	if err != nil {
		return err
	}
	var names []string
	for _, c := range commands() {
		if c.name != "completion" {
			names = append(names, c.name)
		}
	}
	names = append(names, "completion")
	names = append(names, "help")
	subcommands["help"] = strings.Join(names, " ")
	switch pos[0] {
	case "bash":
		fmt.Fprint(e.stdout, bashCompletion(names))
	case "zsh":
		fmt.Fprint(e.stdout, "#compdef agentos\nautoload -U +X bashcompinit && bashcompinit\n"+bashCompletion(names))
	case "fish":
		fmt.Fprint(e.stdout, fishCompletion(names))
	default:
		return usagef("completion: %q: want bash, zsh or fish", pos[0])
	}
	return nil
}

// The shapes and capabilities a running engine has, as words; nothing when none runs.
const (
	shapeWords      = `agentos shapes list 2>/dev/null | awk 'NR>1 {print $1}'`
	capabilityWords = `agentos capabilities 2>/dev/null | awk 'NR>1 && $1 !~ /^[0-9]+$/ {print $1}'`
)

func bashCompletion(names []string) string {
	var b strings.Builder
	b.WriteString("# agentos completion for bash (source <(agentos completion bash))\n_agentos() {\n")
	b.WriteString("  local cur=${COMP_WORDS[COMP_CWORD]}\n")
	fmt.Fprintf(&b, "  if [ \"$COMP_CWORD\" -eq 1 ]; then COMPREPLY=($(compgen -W %q -- \"$cur\")); return; fi\n", strings.Join(names, " "))
	b.WriteString("  [ \"$COMP_CWORD\" -eq 2 ] || return\n  case \"${COMP_WORDS[1]}\" in\n")
	for _, cmd := range slices.Sorted(maps.Keys(subcommands)) {
		fmt.Fprintf(&b, "    %s) COMPREPLY=($(compgen -W %q -- \"$cur\"));;\n", cmd, subcommands[cmd])
	}
	fmt.Fprintf(&b, "    read) COMPREPLY=($(compgen -W \"$(%s)\" -- \"$cur\"));;\n", shapeWords)
	fmt.Fprintf(&b, "    invoke) COMPREPLY=($(compgen -W \"$(%s)\" -- \"$cur\"));;\n", capabilityWords)
	b.WriteString("  esac\n}\ncomplete -F _agentos agentos\n")
	return b.String()
}

func fishCompletion(names []string) string {
	var b strings.Builder
	b.WriteString("# agentos completion for fish (agentos completion fish | source)\ncomplete -c agentos -f\n")
	fmt.Fprintf(&b, "complete -c agentos -n __fish_use_subcommand -a %q\n", strings.Join(names, " "))
	for _, cmd := range slices.Sorted(maps.Keys(subcommands)) {
		fmt.Fprintf(&b, "complete -c agentos -n '__fish_seen_subcommand_from %s' -a %q\n", cmd, subcommands[cmd])
	}
	fmt.Fprintf(&b, "complete -c agentos -n '__fish_seen_subcommand_from read' -a '(%s)'\n", shapeWords)
	fmt.Fprintf(&b, "complete -c agentos -n '__fish_seen_subcommand_from invoke' -a '(%s)'\n", capabilityWords)
	return b.String()
}
