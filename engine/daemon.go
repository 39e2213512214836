package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/agentos/agentos/engine/wire"
	"github.com/agentos/agentos/graph"
	"github.com/agentos/agentos/shapes"
	"github.com/gofrs/flock"
)

// Config is what a daemon needs to run.
type Config struct {
	Home     string
	Version  string
	LogLevel slog.Level
	// LogTo receives a copy of the log besides logs/engine.log (the
	// foreground `agentos engine` passes stderr). May be nil.
	LogTo  io.Writer
	Server ServerOptions
	// SkillsDirs are extra folders of skills (agentos engine --skills-dir),
	// searched after $AGENTOS_HOME/skills.
	SkillsDirs []string
	// Ready is called once the socket accepts connections, with the
	// engine's logger (the bridge, run in the same process, logs there).
	Ready func(wire.Paths, *slog.Logger)
}

// LockedError says another engine holds the lock on this home.
type LockedError struct {
	Home string
	PID  int // 0 when the pid file could not be read
}

func (e *LockedError) Error() string {
	if e.PID > 0 {
		return fmt.Sprintf("another engine (pid %d) is already running on %s; stop it with `agentos stop`", e.PID, e.Home)
	}
	return fmt.Sprintf("another engine is already running on %s; stop it with `agentos stop`", e.Home)
}

// Run runs the daemon until ctx is cancelled, then shuts down gracefully:
// in-flight requests finish, the socket and pid file are removed, the lock is
// released.
func Run(ctx context.Context, cfg Config) (err error) {
	paths := wire.PathsFor(cfg.Home)
	if err := EnsureDirs(paths); err != nil {
		return err
	}
	logFile, err := os.OpenFile(paths.Log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("open log: %w", err)
	}
	defer logFile.Close()
	var w io.Writer = logFile
	if cfg.LogTo != nil {
		w = io.MultiWriter(logFile, cfg.LogTo)
	}
	log := slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: cfg.LogLevel}))

	lock := flock.New(paths.Lock)
	locked, err := lock.TryLock()
	if err != nil {
		return fmt.Errorf("lock %s: %w", paths.Lock, err)
	}
	if !locked {
		return &LockedError{Home: cfg.Home, PID: ReadPID(paths.PID)}
	}
	defer lock.Unlock()
	// The pid file is written as soon as the lock is ours, so a second
	// engine never names the pid a crashed one left behind.
	if err := os.WriteFile(paths.PID, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o600); err != nil {
		return fmt.Errorf("write pid file: %w", err)
	}
	defer os.Remove(paths.PID)

	ln, err := listenSocket(paths.Socket)
	if err != nil {
		return err
	}
	defer ln.Close() // also unlinks the socket file

	fileCfg, err := LoadConfig(paths.Config)
	if err != nil {
		return err
	}
	// Problems in shape files are logged once, by the reload that follows
	// skill discovery (loadShapes), which sees every folder.
	reg, _ := shapes.Load(paths.ShapesDir)
	bus := NewBus(wire.HistorySize)
	opts := cfg.Server.withDefaults()
	// More readers than workers: a point read answered on a connection's
	// read loop never waits behind a slow query holding every reader.
	store, err := graph.Open(ctx, paths.DB, reg, graph.Options{OnChange: bus.PublishGraphChange, ReadConns: opts.Workers + 4})
	if err != nil {
		return fmt.Errorf("open graph %s: %w", paths.DB, err)
	}
	defer store.Close()
	repl := startReplication(ctx, fileCfg.Replicate, paths.DB, cfg.Home, store, log)
	defer repl.close(log) // before the store closes: the last writes are shipped

	opts.Version, opts.Home, opts.Socket = cfg.Version, cfg.Home, paths.Socket
	checkVault(cfg.Home, log)
	shapeSet := newShapeSet(reg, store, paths.ShapesDir, log)
	skills, err := newSkillsRuntime(ctx, paths,
		runSettings{python: fileCfg.Python, sandbox: fileCfg.Sandbox, runner: fileCfg.Runner}, cfg.SkillsDirs, store, bus, log, shapeSet.reload)
	if err != nil {
		return err
	}
	defer skills.close()
	skills.reload(ctx, true)
	srv := newServer(serverDeps{store: store, shapes: shapeSet, bus: bus, log: log, skills: skills,
		config: fileCfg, configPath: paths.Config, replication: repl}, opts)
	go skills.watch(ctx, time.Second)
	go srv.runMissions(ctx)

	// Connections get their own context: a shutdown signal must let
	// in-flight requests finish rather than cancel them.
	connCtx, cancelConns := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelConns()
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(connCtx, ln) }()
	log.Info("engine started", "pid", os.Getpid(), "home", cfg.Home, "socket", paths.Socket, "version", cfg.Version,
		"shapes", len(reg.List()))
	if cfg.Ready != nil {
		cfg.Ready(paths, log)
	}

	var runErr error
	select {
	case <-ctx.Done():
		ln.Close()
		runErr = <-serveErr // no connection is accepted after this
	case runErr = <-serveErr:
		log.Error("socket server stopped", "err", runErr)
	}
	log.Info("engine stopping")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		log.Warn("shutdown", "err", err)
	}
	cancelConns()
	log.Info("engine stopped")
	return runErr
}

// listenSocket listens on path, clearing a stale socket left by an engine
// that died. Whoever holds the lock owns the path, but we still dial first:
// if something answers, it is not ours to remove.
func listenSocket(path string) (net.Listener, error) {
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&os.ModeSocket == 0 {
			return nil, fmt.Errorf("%s exists and is not a socket; move it away and start again", path)
		}
		if c, err := net.DialTimeout("unix", path, 500*time.Millisecond); err == nil {
			c.Close()
			return nil, fmt.Errorf("something is already listening on %s", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("remove stale socket: %w", err)
		}
	}
	// Create the socket private from the start, not just after a chmod.
	old := umask(0o177)
	ln, err := net.Listen("unix", path)
	umask(old)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("chmod socket: %w", err)
	}
	return ln, nil
}

// ReadPID reads a pid file; 0 if absent or unreadable.
func ReadPID(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0
	}
	return pid
}

// IsLocked reports whether err means another engine holds the lock.
func IsLocked(err error) bool {
	var le *LockedError
	return errors.As(err, &le)
}
