package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/agentos/agentos/engine/wire"
	"github.com/agentos/agentos/shapes"
)

// flags is a command's flag set plus what its --help prints.
type flags struct {
	*flag.FlagSet
	out       io.Writer
	argsUsage string
	summary   string
	json      *bool
}

// newFlags makes the flag set of one command; --help prints to stdout.
func newFlags(e *env, name, argsUsage, summary string) *flags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return &flags{FlagSet: fs, out: e.stdout, argsUsage: argsUsage, summary: summary}
}

// withJSON adds the --json flag every data-printing command has.
func (f *flags) withJSON() *flags {
	f.json = f.Bool("json", false, "print JSON instead of a table")
	return f
}

func (f *flags) jsonOut() bool { return f.json != nil && *f.json }

// parse parses flags that may come before or after positional arguments
// (DESIGN §3) and returns the positional ones. `--` ends flag parsing.
func (f *flags) parse(args []string) ([]string, error) {
	var pos []string
	for {
		err := f.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			f.printHelp()
			return nil, errHelpShown
		}
		if err != nil {
			return nil, usagef("%s: %s (see `agentos %s --help`)", f.Name(), f.explain(err), f.Name())
		}
		rest := f.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

var (
	flagUndefined = regexp.MustCompile(`^flag provided but not defined: -+(.+)$`)
	flagBadValue  = regexp.MustCompile(`^invalid (?:boolean )?value "(.*)" for flag -+(\S+): (.*)$`)
	flagNoValue   = regexp.MustCompile(`^flag needs an argument: -+(.+)$`)
)

// explain words the flag package's errors as the help shows flags (--where),
// says what was wrong, and offers the flag most likely meant.
func (f *flags) explain(err error) string {
	msg := err.Error()
	if m := flagUndefined.FindStringSubmatch(msg); m != nil {
		var names []string
		f.VisitAll(func(fl *flag.Flag) { names = append(names, fl.Name) })
		if guess := shapes.Closest(m[1], names); guess != "" {
			return fmt.Sprintf("unknown flag --%s (did you mean --%s?)", m[1], guess)
		}
		return fmt.Sprintf("unknown flag --%s", m[1])
	}
	if m := flagBadValue.FindStringSubmatch(msg); m != nil {
		why := m[3]
		if why == "parse error" || strings.HasPrefix(why, "parse error") {
			why = "not " + kindOfFlag(f.Lookup(m[2]))
		}
		return fmt.Sprintf("--%s %q: %s", m[2], m[1], why)
	}
	if m := flagNoValue.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("--%s needs a value", m[1])
	}
	return msg
}

// kindOfFlag says what a flag's value must be, for its parse errors.
func kindOfFlag(fl *flag.Flag) string {
	if fl == nil {
		return "a valid value"
	}
	switch t := fmt.Sprintf("%T", fl.Value); {
	case strings.Contains(t, "duration"):
		return "a duration (like 30s or 2m)"
	case strings.Contains(t, "float"):
		return "a number"
	case strings.Contains(t, "int"):
		return "a whole number"
	case strings.Contains(t, "bool"):
		return "true or false"
	}
	return "a valid value"
}

// parseN is parse plus a check of the positional argument count.
func (f *flags) parseN(args []string, min, max int) ([]string, error) {
	pos, err := f.parse(args)
	if err != nil {
		return nil, err
	}
	if len(pos) < min || (max >= 0 && len(pos) > max) {
		return nil, usagef("usage: agentos %s %s (see `agentos %s --help`)", f.Name(), f.argsUsage, f.Name())
	}
	return pos, nil
}

func (f *flags) printHelp() {
	fmt.Fprintf(f.out, "Usage: agentos %s [flags] %s\n\n%s\n", f.Name(), f.argsUsage, f.summary)
	var lines []string
	f.VisitAll(func(fl *flag.Flag) {
		name, u := flag.UnquoteUsage(fl)
		line := "  --" + fl.Name
		if name != "" {
			line += " " + name
		}
		line += "\n      " + u
		if fl.DefValue != "" && fl.DefValue != "false" && fl.DefValue != "0" {
			line += fmt.Sprintf(" (default %s)", fl.DefValue)
		}
		lines = append(lines, line)
	})
	if len(lines) > 0 {
		fmt.Fprintf(f.out, "\nFlags:\n%s\n", strings.Join(lines, "\n"))
	}
}

// listFlag collects a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

// dial connects to the engine of e.home as the CLI.
func dial(ctx context.Context, e *env) (*wire.Client, error) {
	return wire.DialHome(ctx, e.home, wire.ClientOptions{Name: "cli"})
}

// fetch dials the engine, makes one call and returns its raw result.
func fetch(ctx context.Context, e *env, method string, params any) (rawJSON, error) {
	c, err := dial(ctx, e)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	var raw rawJSON
	if err := c.Call(ctx, method, params, &raw); err != nil {
		return nil, err
	}
	return raw, nil
}

// paramsArg reads a command's JSON params argument: the text itself, or
// stdin for "-". It must be a JSON object.
func paramsArg(e *env, cmd, arg string) (json.RawMessage, error) {
	src := []byte(arg)
	if arg == "-" {
		var err error
		if src, err = io.ReadAll(e.stdin); err != nil {
			return nil, fmt.Errorf("read params from stdin: %w", err)
		}
	}
	src = bytes.TrimSpace(src)
	if !json.Valid(src) || len(src) == 0 || src[0] != '{' {
		return nil, usagef("%s: params must be a JSON object, e.g. '{\"id\": \"...\"}': %s", cmd, clip(string(src), 80))
	}
	return src, nil
}
