package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/agentos/agentos/bridge"
	"github.com/agentos/agentos/engine"
	"github.com/agentos/agentos/engine/wire"
	"github.com/gofrs/flock"
)

func runEngine(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "engine", "", "Run the daemon in the foreground until SIGINT/SIGTERM. Logs go to stderr and $AGENTOS_HOME/logs/engine.log.")
	noBridge := f.Bool("no-bridge", false, "do not serve the HTTP bridge")
	bridgeAddr := f.String("bridge-addr", "", "address of the HTTP bridge, loopback only (default: bridge.addr in config.yaml, else 127.0.0.1:3456)")
	level := f.String("log-level", "info", "log level: debug, info, warn, error")
	quiet := f.Bool("quiet", false, "log only to the log file, not to stderr")
	var skillsDirs listFlag
	f.Var(&skillsDirs, "skills-dir", "an extra folder of skills (repeatable), after $AGENTOS_HOME/skills")
	if _, err := f.parseN(args, 0, 0); err != nil {
		return err
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(*level)); err != nil {
		return usagef("engine: --log-level must be debug, info, warn or error")
	}
	cfg := engine.Config{Home: e.home, Version: version, LogLevel: lvl}
	for _, d := range skillsDirs {
		abs, err := filepath.Abs(d)
		if err != nil {
			return err
		}
		cfg.SkillsDirs = append(cfg.SkillsDirs, abs)
	}
	if !*quiet {
		cfg.LogTo = e.stderr
	}
	ln, settings, err := listenEngineBridge(e, *noBridge, *bridgeAddr)
	if err != nil {
		return err
	}
	if ln == nil {
		cfg.Server.BridgeError = settings.Failed
		return engine.Run(ctx, cfg)
	}
	stopBridge := bridge.Attach(ctx, &cfg, ln, bridgeOptions(e.home, settings))
	defer stopBridge()
	return engine.Run(ctx, cfg)
}

func runStart(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "start", "", "Start the engine in the background; returns once its socket answers.")
	timeout := f.Duration("timeout", 20*time.Second, "how long to wait for the engine to answer")
	noBridge := f.Bool("no-bridge", false, "do not serve the HTTP bridge")
	bridgeAddr := f.String("bridge-addr", "", "address of the HTTP bridge")
	if _, err := f.parseN(args, 0, 0); err != nil {
		return err
	}
	paths := wire.PathsFor(e.home)
	if pid, ok := runningPID(ctx, e); ok {
		fmt.Fprintf(e.stdout, "engine already running (pid %d) on %s\n", pid, e.home)
		return nil
	}
	if err := engine.EnsureDirs(paths); err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find agentos binary: %w", err)
	}
	logf, err := os.OpenFile(paths.Log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("open log: %w", err)
	}
	defer logf.Close()
	logStart, _ := logf.Seek(0, io.SeekEnd)
	engineArgs := []string{"engine", "--quiet"}
	if *noBridge {
		engineArgs = append(engineArgs, "--no-bridge")
	}
	if *bridgeAddr != "" {
		engineArgs = append(engineArgs, "--bridge-addr", *bridgeAddr)
	}
	cmd := exec.Command(exe, engineArgs...)
	cmd.Env = append(os.Environ(), "AGENTOS_HOME="+e.home)
	cmd.Dir = "/"
	cmd.Stdout, cmd.Stderr = logf, logf // panics and runtime errors land in the log too
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start engine: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	waitCtx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	ready := make(chan error, 1)
	go func() { ready <- wire.WaitReady(waitCtx, paths.Socket) }()
	select {
	case err := <-ready:
		if err != nil {
			_ = cmd.Process.Kill()
			return fmt.Errorf("engine did not answer within %s: %s", *timeout, logTail(paths.Log, logStart))
		}
		// Another start may have won the race for the lock: say whose
		// engine answered rather than claim ours.
		if pid, ok := runningPID(ctx, e); ok && pid != cmd.Process.Pid {
			fmt.Fprintf(e.stdout, "engine already running (pid %d) on %s\n", pid, e.home)
			return nil
		}
		fmt.Fprintf(e.stdout, "engine started (pid %d) on %s\n", cmd.Process.Pid, e.home)
		return nil
	case err := <-exited:
		var xe *exec.ExitError
		if errors.As(err, &xe) && xe.ExitCode() == exitLocked {
			return &engine.LockedError{Home: e.home, PID: engine.ReadPID(paths.PID)}
		}
		return fmt.Errorf("engine exited at start (%v): %s", err, logTail(paths.Log, logStart))
	}
}

// logTail returns the last meaningful lines written to the log after offset.
func logTail(path string, offset int64) string {
	f, err := os.Open(path)
	if err != nil {
		return "see " + path
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return "see " + path
	}
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) > 3 {
		lines = lines[len(lines)-3:]
	}
	if len(lines) == 0 {
		return "nothing in " + path
	}
	return strings.Join(lines, " | ")
}

// runningPID asks the engine for its pid (system.hello, answered on the
// connection's read loop, so a busy engine still answers at once); ok is
// false if none answers.
func runningPID(ctx context.Context, e *env) (int, bool) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	c, err := dial(ctx, e)
	if err != nil {
		return 0, false
	}
	c.Close()
	return c.Engine.PID, true
}

// lockHeld reports whether an engine process holds the home's lock.
func lockHeld(home string) bool {
	l := flock.New(wire.PathsFor(home).Lock)
	ok, err := l.TryLock()
	if err != nil {
		return false
	}
	if ok {
		l.Unlock()
	}
	return !ok
}

func runStop(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "stop", "", "Stop the running engine gracefully (SIGTERM) and wait until it is gone.").withJSON()
	timeout := f.Duration("timeout", 20*time.Second, "how long to wait before giving up")
	if _, err := f.parseN(args, 0, 0); err != nil {
		return err
	}
	// Only signal the pid the engine itself reports: a pid file left by a
	// crash may name an unrelated process by now.
	pid, ok := runningPID(ctx, e)
	if !ok {
		if lockHeld(e.home) {
			paths := wire.PathsFor(e.home)
			return fmt.Errorf("an engine holds %s but does not answer on its socket (pid %d per engine.pid); see %s, or kill it",
				paths.Lock, engine.ReadPID(paths.PID), paths.Log)
		}
		return wire.ErrUnreachable
	}
	proc, err := os.FindProcess(pid)
	if err != nil {
		return fmt.Errorf("find engine process %d: %w", pid, err)
	}
	if err := proc.Signal(syscall.SIGTERM); err != nil {
		return fmt.Errorf("signal engine (pid %d): %w", pid, err)
	}
	paths := wire.PathsFor(e.home)
	deadline := time.Now().Add(*timeout)
	for time.Now().Before(deadline) {
		// The lock is released last, after the socket and pid file are
		// gone; unlike kill(pid, 0) it is also free once the process is a
		// zombie nobody reaps.
		if !lockHeld(e.home) {
			if f.jsonOut() {
				return json.NewEncoder(e.stdout).Encode(map[string]any{"stopped": true, "pid": pid})
			}
			fmt.Fprintf(e.stdout, "engine stopped (pid %d)\n", pid)
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("engine (pid %d) did not stop within %s; see %s", pid, *timeout, paths.Log)
}

func runStatus(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "status", "", "Show the running engine's pid, uptime, paths and graph counts.").withJSON()
	if _, err := f.parseN(args, 0, 0); err != nil {
		return err
	}
	raw, err := fetch(ctx, e, "system.status", nil)
	if err != nil {
		return err
	}
	if f.jsonOut() {
		return printJSON(e.stdout, raw)
	}
	var st wire.Status
	if err := raw.decode(&st); err != nil {
		return err
	}
	up := time.Duration(st.UptimeSec * float64(time.Second)).Round(time.Second)
	t := newTable(e.stdout)
	t.row("engine", fmt.Sprintf("running (pid %d), version %s", st.PID, st.Version))
	t.row("uptime", up.String())
	t.row("home", st.Home)
	t.row("database", st.DBPath)
	t.row("socket", st.Socket)
	if sb := st.Sandbox; sb != nil {
		line := sb.Mode + ": " + strings.Join(sb.Layers, ", ")
		if len(sb.Missing) > 0 {
			line += " (missing: " + strings.Join(sb.Missing, ", ") + ")"
		}
		t.row("sandbox", line)
	}
	if st.Bridge != "" {
		t.row("bridge", st.Bridge)
	} else if st.BridgeError != "" {
		t.row("bridge", "not serving: "+st.BridgeError)
	}
	if r := st.Replica; r != nil {
		t.row("replica", replicaLine(r))
	}
	for _, msg := range st.ShapeErrors {
		t.row("shape skipped", msg)
	}
	t.row("nodes", fmt.Sprint(st.Nodes))
	t.row("edges", fmt.Sprint(st.Edges))
	t.row("shapes", fmt.Sprint(st.Shapes))
	t.row("skills", fmt.Sprint(len(st.Skills)))
	t.row("jobs", fmt.Sprintf("%d running", st.JobsRunning))
	return t.flush()
}

// replicaLine is the replica as agentos status shows it.
func replicaLine(r *wire.Replica) string {
	lag := time.Duration(r.LagSec * float64(time.Second)).Round(time.Millisecond)
	switch {
	case r.Error != "" && r.SyncedAt.IsZero():
		return fmt.Sprintf("%s: FAILING, nothing replicated yet: %s", r.URL, r.Error)
	case r.Error != "":
		return fmt.Sprintf("%s: FAILING for %s (the newest writes it may lack are %s old): %s", r.URL,
			time.Since(r.ErrorAt).Round(time.Second), lag, r.Error)
	}
	return fmt.Sprintf("%s: at %s, lag ≤ %s", r.URL, r.Replicated, lag)
}
