package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/agentos/agentos/broker/sandbox"
	"github.com/agentos/agentos/engine"
	"github.com/agentos/agentos/engine/wire"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

// Exit codes (DESIGN §3).
const (
	exitOK          = 0
	exitError       = 1
	exitUnreachable = 2
	exitLocked      = 3
	exitUsage       = 64
	exitInterrupted = 130 // Ctrl-C: as a shell reports a process SIGINT ended
)

// env is what a command gets from the process: streams and the state dir.
type env struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	home   string
}

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, e *env, args []string) error
}

func commands() []command {
	return []command{
		{"engine", "run the daemon in the foreground (engine + bridge)", runEngine},
		{"bridge", "serve the HTTP bridge and web UI alone (the engine already serves it)", runBridge},
		{"start", "start the engine in the background and wait until it answers", runStart},
		{"stop", "stop the running engine gracefully", runStop},
		{"status", "show pid, uptime, db path and counts", runStatus},
		{"call", "raw JSON-RPC call: agentos call METHOD [JSON|-]", runCall},
		{"read", "read a node by id, or nodes of a shape: agentos read ID|SHAPE", runRead},
		{"search", "full-text search: agentos search QUERY", runSearch},
		{"create", "create a node: agentos create task title=\"File taxes\" due=2027-04-15", runCreate},
		{"update", "change a node's fields: agentos update ID status=done", runUpdate},
		{"delete", "delete a node (softly): agentos delete ID", runDeleteRestore(wire.MethodDelete, "delete", "deleted")},
		{"restore", "bring back a deleted node (agentos restore ID), or build the graph from a replica (agentos restore URL)", runDeleteRestore(wire.MethodRestore, "restore", "restored")},
		{"link", "add an edge: agentos link FROM LABEL TO", runLinkUnlink(wire.MethodLink, "link")},
		{"unlink", "remove an edge: agentos unlink FROM LABEL TO", runLinkUnlink(wire.MethodUnlink, "unlink")},
		{"shapes", "list or show shapes: agentos shapes list|show NAME", runShapes},
		{"watch", "tail the observer stream", runWatch},
		{"skills", "list or show skills: agentos skills list|show ID", runSkills},
		{"secrets", "store, list or delete vault secrets: agentos secrets set|list|delete", runSecrets},
		{"invoke", "invoke a capability: agentos invoke CAPABILITY [JSON]", runInvoke},
		{"agents", "list, show or run agents: agentos agents list|show NAME|run NAME \"TASK\"", runAgents},
		{"capabilities", "capabilities with their providers, ranked, and why", runCapabilities},
		{"prefer", "pin a capability's provider: agentos prefer CAPABILITY SKILL", runPrefer},
		{"mcp", "serve MCP on stdio, forwarding to the engine", runMCP},
		{"version", "print the version", runVersion},
		{"completion", "print a shell completion script: agentos completion bash|zsh|fish", runCompletion},
	}
}

func main() {
	// A call's sandbox helper is this binary re-executed: it must become
	// that before anything else runs.
	sandbox.MaybeRunChild()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// After the first signal the default handling comes back, so a second
	// Ctrl-C ends a shutdown that takes too long.
	context.AfterFunc(ctx, stop)
	code := run(ctx, os.Args[1:], &env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr})
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, e *env) int {
	if len(args) == 0 {
		usage(e.stderr)
		return exitUsage
	}
	switch args[0] {
	case "-h", "--help":
		usage(e.stdout)
		return exitOK
	case "help": // help CMD is CMD --help
		if len(args) == 1 {
			usage(e.stdout)
			return exitOK
		}
		args = []string{args[1], "--help"}
	case "--version", "-V":
		args = append([]string{"version"}, args[1:]...)
	}
	home, err := wire.DefaultHome()
	if err != nil {
		fmt.Fprintln(e.stderr, "agentos:", err)
		return exitError
	}
	e.home = home
	for _, c := range commands() {
		if c.name == args[0] {
			return exitCode(e, c.run(ctx, e, args[1:]))
		}
	}
	fmt.Fprintf(e.stderr, "agentos: unknown command %q; run `agentos --help` for the list\n", args[0])
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "agentos — a local capability broker for AI agents")
	fmt.Fprintln(w, "\nUsage: agentos COMMAND [flags] [args]\n\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nEvery command takes --help (or: agentos help COMMAND); commands that print data take --json.")
	fmt.Fprintln(w, "agentos --version prints the version.")
	fmt.Fprintln(w, "State lives in $AGENTOS_HOME (default ~/.agentos).")
}

// usageError is a mistake in how a command was called: exit code 64.
type usageError struct{ msg string }

func (u *usageError) Error() string { return u.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

// errHelpShown means --help was asked for and printed: exit 0.
var errHelpShown = errors.New("help shown")

func exitCode(e *env, err error) int {
	if err == nil || errors.Is(err, errHelpShown) {
		return exitOK
	}
	var ue *usageError
	var ie *interruptedError
	switch {
	case errors.As(err, &ie):
		fmt.Fprintln(e.stderr, "agentos:", ie)
		return exitInterrupted
	case errors.As(err, &ue):
		fmt.Fprintln(e.stderr, "agentos:", ue.msg)
		return exitUsage
	case engine.IsLocked(err):
		fmt.Fprintln(e.stderr, "agentos:", err)
		return exitLocked
	case errors.Is(err, wire.ErrUnreachable):
		fmt.Fprintf(e.stderr, "agentos: no engine answers on %s (%v); start it with `agentos start` (or `agentos engine` in the foreground)\n", e.home, err)
		return exitUnreachable
	}
	var ee *wire.Error
	if errors.As(err, &ee) {
		fmt.Fprintf(e.stderr, "agentos: %s (%s)\n", ee.Message, ee.Kind)
		return exitError
	}
	fmt.Fprintln(e.stderr, "agentos:", err)
	return exitError
}

func runVersion(_ context.Context, e *env, args []string) error {
	f := newFlags(e, "version", "", "Print the version.").withJSON()
	if _, err := f.parseN(args, 0, 0); err != nil {
		return err
	}
	if f.jsonOut() {
		return json.NewEncoder(e.stdout).Encode(map[string]string{"version": version})
	}
	fmt.Fprintln(e.stdout, "agentos", version)
	return nil
}
