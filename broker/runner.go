package broker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/agentos/agentos/broker/sandbox"
)

// Runner defaults for zero RunnerOptions and Call fields.
const (
	DefaultMaxConcurrent = 8
	DefaultMaxQueue      = 256
	DefaultCallTimeout   = 60 * time.Second
)

// RunnerOptions configure a Runner. Zero fields take the defaults.
type RunnerOptions struct {
	Python        string // absolute interpreter path (see FindPython)
	SDKDir        string // folder holding agentos_worker.py
	Limits        Limits
	MaxConcurrent int // worker processes at once (default 8)
	MaxQueue      int // calls waiting for a process slot (default 256); beyond is unavailable
	Logger        *slog.Logger
	// Sandbox is config.yaml's sandbox mode: strict, best-effort (default) or off
	// (DESIGN §7.1). Strict refuses every call while a layer is missing.
	Sandbox string
	// TempDir is where each call's working dir is made ("" = the system's
	// temp dir). The engine gives each home its own, so it can sweep the
	// dirs a killed engine left (SweepCallDirs) without touching another's.
	TempDir string
	// Runner is config.yaml's runner: spawn (default: one exec per call) or
	// fork (a pre-imported template forks each call; DESIGN §7.1 "Fork
	// server"). Fork falls back to spawn for any call it cannot serve.
	Runner string
	// Audit, when set, gets a not-allowed record for each syscall the
	// sandbox refused a call (op "syscall", scope its name).
	Audit *AuditLog
}

// Runner runs tool calls, each in a fresh worker process (DESIGN §7,
// docs/worker-protocol.md), at most MaxConcurrent at a time.
type Runner struct {
	python   string
	sdkDir   string
	limits   Limits
	log      *slog.Logger
	slots    chan struct{} // one token per running call
	maxQueue int64
	queued   atomic.Int64
	running  atomic.Int64
	seq      atomic.Uint64

	sandbox    sandbox.Status
	sandboxErr error  // an unknown mode: every call is refused with it
	tempDir    string // where call dirs are made

	kind       string // RunnerSpawn or RunnerFork
	audit      *AuditLog
	forkMu     sync.Mutex
	forks      map[string]*forkServer // templateKey.id → its running template
	forkFailed map[string]time.Time   // templateKey.id → when its template last failed to start
}

// NewRunner returns a Runner. A missing interpreter or SDK folder shows up as an
// unavailable error on Run, not here, so an engine without Python still starts.
func NewRunner(opts RunnerOptions) *Runner {
	if opts.MaxConcurrent <= 0 {
		opts.MaxConcurrent = DefaultMaxConcurrent
	}
	if opts.MaxQueue <= 0 {
		opts.MaxQueue = DefaultMaxQueue
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	sdk := opts.SDKDir
	if sdk != "" {
		if abs, err := filepath.Abs(sdk); err == nil {
			sdk = abs
		}
	}
	mode, modeErr := sandbox.ParseMode(opts.Sandbox)
	if modeErr != nil {
		mode = sandbox.Strict // refuse rather than guess
	}
	sb := sandbox.Probe(mode)
	if sb.Mode != sandbox.Off && len(sb.Missing) > 0 {
		opts.Logger.Info("sandbox layers missing", "mode", sb.Mode, "layers", sb.Layers, "missing", sb.Why)
	}
	kind, kindErr := ParseRunnerKind(opts.Runner)
	if kindErr != nil {
		opts.Logger.Warn("unknown runner kind; spawning every call", "err", kindErr)
		kind = RunnerSpawn
	}
	return &Runner{
		kind:       kind,
		forks:      map[string]*forkServer{},
		forkFailed: map[string]time.Time{},
		sandbox:    sb,
		sandboxErr: modeErr,
		python:     opts.Python,
		sdkDir:     sdk,
		limits:     opts.Limits.withDefaults(),
		log:        opts.Logger,
		slots:      make(chan struct{}, opts.MaxConcurrent),
		maxQueue:   int64(opts.MaxQueue),
		tempDir:    opts.TempDir,
		audit:      opts.Audit,
	}
}

// callDirPrefix starts the name of every call's working dir.
const callDirPrefix = "agentos-call-"

// SweepCallDirs removes the call dirs in dir that a runner left behind: those
// of an engine that was killed mid-call. Only the owner of dir may call it
// (the engine, holding its home's lock), since it cannot tell a live call's
// dir from a dead one's. It returns how many it removed.
func SweepCallDirs(dir string) (int, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("sweep call dirs: %w", err)
	}
	n := 0
	var errs []error
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), callDirPrefix) {
			continue
		}
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			errs = append(errs, err)
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}

// Call is one tool call.
type Call struct {
	ID       string // echoed by the worker; generated when empty
	Skill    string
	SkillDir string // the skill's folder; put first on the worker's sys.path
	Module   string // file name without .py inside SkillDir
	Function string
	Params   json.RawMessage // a JSON object; empty means {}
	Timeout  time.Duration   // from process start (default 60 s); queueing is bounded by ctx only
	// Nested marks a call made by a running skill: it does not queue for a
	// slot (its caller holds one and waits for it).
	Nested bool
	// ReadPaths and WritePaths are the user's files(read|write PATH) grants
	// for this skill (absolute, cleaned): the only paths of the user's the
	// sandbox lets the call reach, beyond the skill's folder and its temp dir.
	ReadPaths, WritePaths []string
	// Settings is the skill's settings from config.yaml (a JSON object, or
	// empty), sent in the call line for agentos.settings.get.
	Settings json.RawMessage
}

// Sandbox reports the sandbox mode and which layers every call gets and which
// ones are missing on this machine (system.status shows them).
func (r *Runner) Sandbox() (mode string, layers, missing []string) {
	return string(r.sandbox.Mode), slices.Clone(r.sandbox.Layers), slices.Clone(r.sandbox.Missing)
}

// Close stops the runner's fork servers (and any call they still run). A runner
// that spawns has nothing to stop; a closed runner starts new templates on demand.
func (r *Runner) Close() { r.stopForkServers() }

// Running reports how many worker processes are running now.
func (r *Runner) Running() int { return int(r.running.Load()) }

// Run runs one call in a fresh worker and returns the tool's result. h serves the
// worker's ops, progress and logs; nil denies every op. Failures are *RunError.
// Run returns only after the worker's whole process group is gone, its temp dir is
// removed and every HandleOp has returned.
func (r *Runner) Run(ctx context.Context, c Call, h OpHandler) (json.RawMessage, error) {
	if err := r.prepare(&c); err != nil {
		return nil, err
	}
	if h == nil {
		h = denyOps{}
	}
	if c.Nested {
		// The caller's own call holds a slot while it waits for this one:
		// taking another from the same pool could deadlock it. Nesting depth
		// bounds how many such calls can run.
		return r.run(ctx, c, h)
	}
	release, err := r.acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	return r.run(ctx, c, h)
}

// prepare checks the call and fills its defaults.
func (r *Runner) prepare(c *Call) error {
	if r.sandboxErr != nil {
		return &RunError{Kind: KindUnavailable, Message: r.sandboxErr.Error()}
	}
	if err := r.sandbox.Check(); err != nil {
		return &RunError{Kind: KindUnavailable, Message: "skill runner refuses to run: " + err.Error()}
	}
	if r.python == "" || r.sdkDir == "" {
		return &RunError{Kind: KindUnavailable, Message: "skill runner has no Python interpreter or SDK folder configured"}
	}
	// A stat per call is cheap next to a process start, and a missing shim otherwise
	// looks like every skill failing on its own.
	if _, err := os.Stat(filepath.Join(r.sdkDir, workerScript)); err != nil {
		return &RunError{Kind: KindUnavailable, Message: fmt.Sprintf("skill runner has no worker shim: %v", err)}
	}
	if c.Module == "" || c.Function == "" || c.SkillDir == "" {
		return &RunError{Kind: KindInvalid, Message: "call needs a skill folder, a module and a function"}
	}
	// The worker runs in its own temp dir, so a relative folder would point elsewhere.
	dir, err := filepath.Abs(c.SkillDir)
	if err != nil {
		return &RunError{Kind: KindInvalid, Message: fmt.Sprintf("skill folder %q: %v", c.SkillDir, err)}
	}
	c.SkillDir = dir
	params := bytes.TrimSpace(c.Params)
	if len(params) == 0 {
		params = []byte("{}")
	}
	if params[0] != '{' || !json.Valid(params) {
		return &RunError{Kind: KindInvalid, Message: "params must be a JSON object"}
	}
	c.Params = params
	if c.Timeout <= 0 {
		c.Timeout = DefaultCallTimeout
	}
	if c.ID == "" {
		c.ID = "c" + strconv.FormatUint(r.seq.Add(1), 10)
	}
	return nil
}

// acquire takes a process slot, waiting in the bounded queue when all are busy.
func (r *Runner) acquire(ctx context.Context) (release func(), err error) {
	release = func() { <-r.slots }
	if err := ctx.Err(); err != nil {
		return nil, contextRunError(err, "before start")
	}
	select {
	case r.slots <- struct{}{}:
		return release, nil
	default:
	}
	if r.queued.Add(1) > r.maxQueue {
		r.queued.Add(-1)
		return nil, &RunError{Kind: KindUnavailable, Message: fmt.Sprintf(
			"skill runner is busy: %d calls running and %d waiting", cap(r.slots), r.maxQueue)}
	}
	defer r.queued.Add(-1)
	select {
	case r.slots <- struct{}{}:
		return release, nil
	case <-ctx.Done():
		return nil, contextRunError(ctx.Err(), "while waiting for a free worker")
	}
}

// contextRunError maps a context's end to a RunError: a deadline is a timeout,
// anything else a cancellation.
func contextRunError(err error, when string) *RunError {
	if errors.Is(err, context.DeadlineExceeded) {
		return &RunError{Kind: KindTimeout, Message: "call timed out " + when}
	}
	return &RunError{Kind: KindCancelled, Message: "call cancelled " + when}
}
