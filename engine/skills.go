package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/agentos/agentos/broker"
	"github.com/agentos/agentos/broker/sandbox"
	"github.com/agentos/agentos/engine/wire"
	"github.com/agentos/agentos/graph"
	"github.com/agentos/agentos/sdk"
	"github.com/agentos/agentos/skills"
)

// skillsRuntime holds the discovered skills and runs their tools.
type skillsRuntime struct {
	disc   *broker.Discoverer
	runner *broker.Runner
	roots  []broker.Root
	audit  *broker.AuditLog
	gate   *broker.Gate
	graph  *graph.Store // where @returns items are stored
	bus    *Bus
	log    *slog.Logger
	// unusable says why no skill can run (no interpreter found): skills
	// are then listed from their SKILL.md only.
	unusable string

	// configPath is config.yaml, re-read for skills.<id> settings and
	// grants when it changes (the rest of it is read once, at start);
	// skillCfg is the last version that loaded (guarded by reloadMu), home
	// expands ~/ grants.
	configPath string
	shapesDir  string // the user's shapes: an edit there reloads the shapes too
	home       string
	skillCfg   map[string]broker.SkillConfig

	reloadMu    sync.Mutex // one discovery at a time, so the newest result is the one kept
	onChange    func([]*broker.Skill)
	mu          sync.RWMutex
	skills      []*broker.Skill // Permissions are the effective ones (applyConfig)
	effective   map[*broker.Skill]*broker.Effective
	fingerprint string
	calls       atomic.Int64
}

// maxToolTimeout caps a tool's @timeout: one call must not hold a runner
// slot for days.
const maxToolTimeout = time.Hour

// runSettings are config.yaml's keys on how tools run.
type runSettings struct {
	python  string // the interpreter (python:)
	sandbox string // strict, best-effort or off (sandbox:)
	runner  string // fork or spawn (runner:)
}

// close stops what the runtime started for later calls (the fork servers).
func (rt *skillsRuntime) close() {
	if rt.runner != nil {
		rt.runner.Close()
	}
	rt.audit.Close()
}

// newSkillsRuntime finds the interpreter, extracts the SDK and discovers
// the skills. Without an interpreter the engine still runs: skills are
// listed as unusable and the reason is given on every skills.run.
func newSkillsRuntime(ctx context.Context, paths wire.Paths, run runSettings, extraDirs []string, store *graph.Store, bus *Bus, log *slog.Logger, onChange func([]*broker.Skill)) (*skillsRuntime, error) {
	audit, err := broker.OpenAuditLog(paths.AuditLog)
	if err != nil {
		return nil, err
	}
	bundledDir, err := skills.Extract(filepath.Join(paths.Home, "bundled"))
	if err != nil {
		return nil, fmt.Errorf("extract the bundled skills: %w", err)
	}
	rt := &skillsRuntime{roots: skillRoots(paths, bundledDir, extraDirs), audit: audit, gate: broker.NewGate(audit, log),
		graph: store, bus: bus, log: log, onChange: onChange, configPath: paths.Config, shapesDir: paths.ShapesDir}
	if home, err := os.UserHomeDir(); err == nil {
		rt.home = home
	}
	py, err := broker.FindPython(ctx, run.python)
	if err != nil {
		rt.unusable = fmt.Sprintf("no Python interpreter: %v (set python: in config.yaml)", err)
		log.Warn("skills cannot run", "reason", rt.unusable)
		return rt, nil
	}
	sdkDir, err := sdk.Extract(filepath.Join(paths.Home, "sdk"))
	if err != nil {
		return nil, fmt.Errorf("extract the Python SDK: %w", err)
	}
	if err := broker.CompileSDK(ctx, py, sdkDir); err != nil {
		log.Warn("skill calls will compile the SDK each time", "err", err)
	}
	rt.disc = broker.NewDiscoverer(py, sdkDir)
	// This engine holds the home's lock: call dirs in its tmp/ are those of
	// an engine killed mid-call.
	if n, err := broker.SweepCallDirs(paths.Tmp); err != nil {
		log.Warn("sweeping call dirs an earlier engine left", "err", err)
	} else if n > 0 {
		log.Info("swept call dirs an earlier engine left", "dirs", n)
	}
	if n := sandbox.SweepCgroups(); n > 0 {
		log.Info("swept pids cgroups that killed engines left", "cgroups", n)
	}
	rt.runner = broker.NewRunner(broker.RunnerOptions{Python: py, SDKDir: sdkDir, Logger: log,
		Sandbox: run.sandbox, Runner: run.runner, TempDir: paths.Tmp, Audit: audit})
	if mode, layers, missing := rt.runner.Sandbox(); len(missing) > 0 {
		log.Warn("skills run with sandbox layers missing", "mode", mode, "layers", layers, "missing", missing)
	}
	log.Info("skills runtime ready", "python", py, "sdk", sdkDir)
	return rt, nil
}

// skillRoots lists where skills come from, later roots overriding earlier:
// bundled, then the user's, then --skills-dir folders.
func skillRoots(paths wire.Paths, bundledDir string, extra []string) []broker.Root {
	roots := []broker.Root{{Dir: bundledDir, Source: "bundled"}, {Dir: paths.SkillsDir, Source: "user"}}
	for _, d := range extra {
		roots = append(roots, broker.Root{Dir: d, Source: "flag"})
	}
	return roots
}

// reload rediscovers the skills if any SKILL.md or .py file changed since
// the last time, and reports whether the list changed.
func (rt *skillsRuntime) reload(ctx context.Context, force bool) bool {
	// Discovery must not die with the request that asked for it.
	ctx = context.WithoutCancel(ctx)
	rt.reloadMu.Lock()
	defer rt.reloadMu.Unlock()
	fp := rootsFingerprint(rt.roots) + configFingerprint(rt.configPath) + shapesFingerprint(rt.shapesDir)
	rt.mu.RLock()
	same := fp == rt.fingerprint
	rt.mu.RUnlock()
	if same && !force {
		return false
	}
	var skills []*broker.Skill
	if rt.disc != nil {
		skills = rt.disc.Discover(ctx, rt.roots)
	}
	for _, s := range skills {
		if s.Invalid != "" {
			rt.log.Warn("skill skipped", "skill", s.ID, "dir", s.Dir, "reason", s.Invalid)
			if errors.Is(s.InvalidErr, broker.ErrDiscovery) {
				fp = "" // the parser itself failed, not the skill: try again next tick
			}
		}
	}
	cfg := rt.loadSkillConfig()
	for id := range cfg {
		if rt.disc != nil && !slices.ContainsFunc(skills, func(s *broker.Skill) bool { return s.ID == id }) {
			rt.log.Warn("config.yaml configures a skill that is not installed", "skill", id)
		}
	}
	effs := make(map[*broker.Skill]*broker.Effective, len(skills))
	for i, s := range skills {
		cp, eff := broker.ApplyConfig(s, cfg[s.ID], rt.home)
		skills[i], effs[cp] = cp, eff
	}
	rt.mu.Lock()
	rt.skills, rt.effective, rt.fingerprint = skills, effs, fp
	rt.mu.Unlock()
	ids := make([]string, len(skills))
	for i, s := range skills {
		ids[i] = s.ID
	}
	rt.bus.Publish(wire.Event{Type: wire.EventSkillsChanged, IDs: ids})
	if rt.onChange != nil {
		rt.onChange(skills)
	}
	return true
}

// loadSkillConfig re-reads the skills: part of config.yaml. A file that no
// longer loads keeps the settings and grants of the last one that did (the
// engine started with a valid one), and the error is logged.
func (rt *skillsRuntime) loadSkillConfig() map[string]broker.SkillConfig {
	if rt.configPath == "" {
		return rt.skillCfg
	}
	cfg, err := LoadConfig(rt.configPath)
	if err != nil {
		rt.log.Error("config.yaml no longer loads; skills keep their previous settings and grants", "err", err)
		return rt.skillCfg
	}
	rt.skillCfg = cfg.Skills
	return rt.skillCfg
}

// configFingerprint is config.yaml's size and mtime, so an edit of a
// skill's settings or grants reloads the skills.
func configFingerprint(path string) string {
	if path == "" {
		return ""
	}
	fi, err := os.Stat(path)
	if err != nil {
		return "config:none\n"
	}
	return fmt.Sprintf("config|%d|%d\n", fi.Size(), fi.ModTime().UnixNano())
}

// shapesFingerprint summarises the user's shape files (name, size, mtime):
// a new or edited shape reloads the shapes without a restart.
func shapesFingerprint(dir string) string {
	if dir == "" {
		return ""
	}
	var b strings.Builder
	matches, _ := filepath.Glob(filepath.Join(dir, "*.y*ml"))
	sort.Strings(matches)
	for _, m := range matches {
		if fi, err := os.Stat(m); err == nil {
			fmt.Fprintf(&b, "shape|%s|%d|%d\n", m, fi.Size(), fi.ModTime().UnixNano())
		}
	}
	return b.String()
}

// effectiveOf is what config.yaml adds to s, a skill of list(); a skill
// from elsewhere gets nothing.
func (rt *skillsRuntime) effectiveOf(s *broker.Skill) *broker.Effective {
	rt.mu.RLock()
	defer rt.mu.RUnlock()
	if e := rt.effective[s]; e != nil {
		return e
	}
	return &broker.Effective{}
}

// watch polls the skill folders and reloads on change, so an edited skill
// is picked up without a restart. Polling a few folders every second is
// cheaper than it sounds and needs no platform-specific watcher.
func (rt *skillsRuntime) watch(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if rt.reload(ctx, false) {
				rt.log.Info("skills reloaded after a change on disk")
			}
		}
	}
}

// rootsFingerprint summarises name, size and mtime of every SKILL.md and
// .py file one level below each root's skill folders.
func rootsFingerprint(roots []broker.Root) string {
	var b strings.Builder
	for _, r := range roots {
		matches, _ := filepath.Glob(filepath.Join(r.Dir, "*", "*"))
		yamls, _ := filepath.Glob(filepath.Join(r.Dir, "*", "shapes", "*.y*ml"))
		matches = append(matches, yamls...)
		sort.Strings(matches)
		for _, m := range matches {
			if b := filepath.Base(m); !strings.HasSuffix(m, ".py") && !strings.HasSuffix(m, "ml") && b != "SKILL.md" && b != "skill.md" {
				continue
			}
			fi, err := os.Stat(m)
			if err != nil {
				continue
			}
			fmt.Fprintf(&b, "%s|%d|%d\n", m, fi.Size(), fi.ModTime().UnixNano())
		}
		entries, _ := os.ReadDir(r.Dir)
		for _, e := range entries {
			b.WriteString(e.Name() + "\n")
		}
	}
	return b.String()
}

func (rt *skillsRuntime) list() []*broker.Skill {
	rt.mu.RLock()
	defer rt.mu.RUnlock()
	return rt.skills
}

func (rt *skillsRuntime) get(id string) (*broker.Skill, error) {
	for _, s := range rt.list() {
		if s.ID == id {
			return s, nil
		}
	}
	return nil, wire.Errorf(wire.KindNotFound, "no skill %q; `agentos skills list` shows the installed ones", id)
}

// resolveTool finds a tool that can run.
func (rt *skillsRuntime) resolveTool(skillID, toolName string) (*broker.Skill, *broker.Tool, error) {
	s, err := rt.get(skillID)
	if err != nil {
		return nil, nil, err
	}
	if s.Invalid != "" {
		return nil, nil, wire.Errorf(wire.KindInvalid, "skill %s cannot run: %s", s.ID, s.Invalid)
	}
	t := s.Tool(toolName)
	if t == nil {
		names := make([]string, len(s.Tools))
		for i, tt := range s.Tools {
			names[i] = tt.Name
		}
		return nil, nil, wire.Errorf(wire.KindNotFound, "skill %s has no tool %q (it has: %s)", s.ID, toolName, strings.Join(names, ", "))
	}
	return s, t, nil
}

// run runs tool t of skill s in a fresh process, as (part of) job j. Its
// sideband ops go through the broker's gate to what ops builds for the call.
func (rt *skillsRuntime) run(ctx context.Context, j *Job, s *broker.Skill, t *broker.Tool, params []byte, ops func(callID string) broker.OpHandler) (any, error) {
	if rt.unusable != "" {
		return nil, wire.Errorf(wire.KindUnavailable, "skills cannot run: %s", rt.unusable)
	}
	if err := broker.CheckCall(s, t); err != nil {
		return nil, err
	}
	call := rt.newCall(j, s, t, params)
	callID := call.ID
	// s comes from list(): its Permissions, which the gate checks, are the
	// effective ones (applyConfig).
	res, err := rt.runner.Run(ctx, call, rt.gate.Wrap(s, t.Name, callID, ops(callID)))
	if err != nil {
		var re *broker.RunError
		if errors.As(err, &re) && (re.Traceback != "" || re.Stderr != "") {
			rt.log.Warn("skill call failed", "skill", s.ID, "tool", t.Name, "call", callID, "kind", re.Kind,
				"err", re.Message, "traceback", re.Traceback, "stderr", re.Stderr)
		}
		return nil, fromRunError(err)
	}
	if t.Returns == "" {
		return res, nil
	}
	return rt.store(ctx, s, t, res)
}

// newCall is the runner's call for tool t of skill s as (part of) job j:
// with the user's files grants for the sandbox and the skill's settings.
func (rt *skillsRuntime) newCall(j *Job, s *broker.Skill, t *broker.Tool, params []byte) broker.Call {
	eff := rt.effectiveOf(s)
	return broker.Call{ID: j.ID + "." + strconv.FormatInt(rt.calls.Add(1), 10), Skill: s.ID, SkillDir: s.Dir,
		Module: t.Module, Function: t.Function, Params: params,
		Timeout: min(time.Duration(t.Timeout*float64(time.Second)), maxToolTimeout), Nested: j.parentJob != nil,
		ReadPaths: eff.Read, WritePaths: eff.Write, Settings: eff.Settings}
}

// store upserts what a @returns tool returned, with provenance, and answers
// the data together with the node ids it landed in.
func (rt *skillsRuntime) store(ctx context.Context, s *broker.Skill, t *broker.Tool, res json.RawMessage) (any, error) {
	shape, many := strings.CutSuffix(t.Returns, "[]")
	var items []map[string]any
	var one map[string]any
	dec := json.NewDecoder(bytes.NewReader(res))
	dec.UseNumber()
	target := any(&one)
	if many {
		target = &items
	}
	if err := dec.Decode(target); err != nil || (!many && one == nil) {
		want := "an object"
		if many {
			want = "a list of objects"
		}
		return nil, wire.Errorf(wire.KindSkillFailed, "%s.%s declares @returns(%q) but did not return %s", s.ID, t.Name, t.Returns, want)
	}
	if !many {
		items = []map[string]any{one}
	}
	wr, err := rt.graph.Import(graph.WithActor(ctx, "skill:"+s.ID), s.ID, shape, items)
	if err != nil {
		return nil, fmt.Errorf("store what %s.%s returned: %w", s.ID, t.Name, err)
	}
	out := map[string]any{}
	if many {
		out["items"], out["ids"], out["created"], out["updated"] = json.RawMessage(res), wr.IDs, wr.Created, wr.Updated
	} else {
		out["item"], out["id"], out["created"] = json.RawMessage(res), wr.IDs[0], wr.Created == 1
	}
	if len(wr.Warnings) > 0 {
		out["warnings"] = wr.Warnings
	}
	return out, nil
}

// fromRunError carries a runner error's kind over to the engine's.
func fromRunError(err error) error {
	var k interface{ ErrorKind() string }
	if !errors.As(err, &k) {
		return err
	}
	kind := wire.Kind(k.ErrorKind())
	if !kind.Known() {
		kind = wire.KindSkillFailed
	}
	return wire.Errorf(kind, "%s", err.Error())
}

// sandbox is what system.status says of the skills' sandbox.
func (rt *skillsRuntime) sandbox() *wire.Sandbox {
	if rt.runner == nil {
		return nil
	}
	mode, layers, missing := rt.runner.Sandbox()
	return &wire.Sandbox{Mode: mode, Layers: layers, Missing: missing}
}
