package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/agentos/agentos/engine/wire"
)

var skillID = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

const newSkillMD = `---
name: %s
description: Say what this skill does and when an agent should use it.
allowed-tools: graph(read)
---
# %s

Write here, for an agent, when to use this skill's tools and how.
`

const newSkillTools = `"""Tools of the %[1]s skill. Standard library only; reach the network, secrets and
the graph through the agentos SDK, within what SKILL.md's allowed-tools grants.

@provides names the capability a tool provides: it is what agentos invoke, MCP
clients (as the tool %[2]s) and other skills call. A function marked only @tool
runs with agentos skills test and skills.run, and is offered to no one else."""
from agentos import provides, graph, log


@provides("%[1]s.hello")
def hello(name: str = "world") -> dict:
    """Say hello and count the notes in the graph."""
    page = graph.read(shape="note", limit=1000)
    log.info("greeting %%s", name)
    return {"greeting": f"hello, {name}", "notes": len(page["nodes"])}
`

func runSkillsNew(e *env, args []string) error {
	f := newFlags(e, "skills", "new ID", "Scaffold a skill folder in $AGENTOS_HOME/skills (or --dir).")
	dir := f.String("dir", "", "create it in this folder instead")
	pos, err := f.parseN(args, 1, 1)
	if err != nil {
		return err
	}
	id := pos[0]
	if len(id) > 64 || !skillID.MatchString(id) {
		return usagef("skills new: %q: use 1-64 lowercase letters, digits and single hyphens", id)
	}
	parent := *dir
	if parent == "" {
		parent = wire.PathsFor(e.home).SkillsDir
	}
	target := filepath.Join(parent, id)
	if _, err := os.Stat(target); err == nil {
		return fmt.Errorf("%s already exists; pick another id or remove it first", target)
	}
	if err := os.MkdirAll(target, 0o755); err != nil {
		return fmt.Errorf("create skill folder: %w", err)
	}
	files := map[string]string{
		"SKILL.md": fmt.Sprintf(newSkillMD, id, id),
		"tools.py": fmt.Sprintf(newSkillTools, id, strings.ReplaceAll(id, ".", "_")+"_hello"),
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(target, name), []byte(content), 0o644); err != nil {
			return fmt.Errorf("write %s: %w", name, err)
		}
	}
	fmt.Fprintf(e.stdout, "created %s\ntry it:  agentos skills test %s hello\nthen:    agentos skills install %s && agentos invoke %s.hello '{\"name\": \"you\"}'\n",
		target, target, target, id)
	return nil
}

func runSkillsInstall(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "skills", "install DIR", "Copy a skill folder into $AGENTOS_HOME/skills; the engine picks it up within a second.")
	force := f.Bool("force", false, "replace an installed skill of the same id (the old one is kept in skills/.removed)")
	pos, err := f.parseN(args, 1, 1)
	if err != nil {
		return err
	}
	src, err := filepath.Abs(pos[0])
	if err != nil {
		return err
	}
	id := filepath.Base(src)
	if _, err := os.Stat(filepath.Join(src, "SKILL.md")); err != nil {
		return fmt.Errorf("%s has no SKILL.md: not a skill folder", src)
	}
	dst := filepath.Join(wire.PathsFor(e.home).SkillsDir, id)
	if _, err := os.Stat(dst); err == nil {
		if !*force {
			return fmt.Errorf("skill %s is already installed at %s; use --force to replace it", id, dst)
		}
		if err := moveAside(e.home, id); err != nil {
			return err
		}
	}
	if err := copyDir(src, dst); err != nil {
		return fmt.Errorf("install %s: %w", id, err)
	}
	fmt.Fprintf(e.stdout, "installed %s at %s\n", id, dst)
	if c, err := dial(ctx, e); err == nil {
		defer c.Close()
		var s struct{ Invalid string }
		if c.Call(ctx, "skills.reload", nil, nil) == nil && c.Call(ctx, "skills.get", map[string]string{"id": id}, &s) == nil && s.Invalid != "" {
			fmt.Fprintf(e.stderr, "warning: the engine cannot use it: %s\n", s.Invalid)
		}
	}
	return nil
}

func runSkillsRemove(e *env, args []string) error {
	f := newFlags(e, "skills", "remove ID", "Remove a skill from $AGENTOS_HOME/skills. It is moved to skills/.removed, not deleted.")
	pos, err := f.parseN(args, 1, 1)
	if err != nil {
		return err
	}
	if err := moveAside(e.home, pos[0]); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "removed %s (kept in %s)\n", pos[0], filepath.Join(wire.PathsFor(e.home).SkillsDir, ".removed"))
	return nil
}

// moveAside moves an installed skill into skills/.removed, which discovery
// skips: removing a skill never loses its files.
func moveAside(home, id string) error {
	dir := wire.PathsFor(home).SkillsDir
	src := filepath.Join(dir, id)
	if id == "" || strings.ContainsAny(id, "/\\") || strings.HasPrefix(id, ".") {
		return usagef("skills remove: %q is not a skill id", id)
	}
	if _, err := os.Stat(src); err != nil {
		return fmt.Errorf("no skill %q in %s", id, dir)
	}
	aside := filepath.Join(dir, ".removed")
	if err := os.MkdirAll(aside, 0o700); err != nil {
		return err
	}
	return os.Rename(src, filepath.Join(aside, id+"-"+time.Now().Format("20060102-150405")))
}

func copyDir(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if d.Name() == "__pycache__" || (strings.HasPrefix(d.Name(), ".") && rel != ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil // links and devices are not part of a skill
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
}

// runSkillsTest runs a skill's tools against a throwaway engine: its own temp
// AGENTOS_HOME, so the user's graph is never touched.
func runSkillsTest(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "skills", "test DIR [TOOL [JSON]]",
		"Run a skill's tools in a throwaway engine (temp home and graph). Without TOOL, every tool that takes no required params is run.\n"+
			"A failing tool's traceback (with file:line) and stderr are printed under it.")
	verbose := f.Bool("verbose", false, "also print each call's log lines (the skill's log.info and friends)")
	pos, err := f.parseN(args, 1, 3)
	if err != nil {
		return err
	}
	src, err := filepath.Abs(pos[0])
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(src, "SKILL.md")); err != nil {
		return fmt.Errorf("%s has no SKILL.md: not a skill folder", src)
	}
	params := json.RawMessage("{}")
	if len(pos) == 3 {
		if !json.Valid([]byte(pos[2])) || !strings.HasPrefix(strings.TrimSpace(pos[2]), "{") {
			return usagef("skills test: params must be a JSON object")
		}
		params = json.RawMessage(pos[2])
	}
	home, err := os.MkdirTemp("", "agentos-test")
	if err != nil {
		return err
	}
	defer os.RemoveAll(home)
	if err := copyDir(src, filepath.Join(home, "skills", filepath.Base(src))); err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	eng := exec.Command(exe, "engine", "--no-bridge", "--quiet")
	eng.Env = append(os.Environ(), "AGENTOS_HOME="+home)
	eng.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := eng.Start(); err != nil {
		return fmt.Errorf("start a test engine: %w", err)
	}
	defer func() { eng.Process.Signal(syscall.SIGTERM); eng.Wait() }()
	wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := wire.WaitReady(wctx, wire.PathsFor(home).Socket); err != nil {
		return fmt.Errorf("the test engine did not start: %s", logTail(wire.PathsFor(home).Log, 0))
	}
	test := &env{stdin: e.stdin, stdout: e.stdout, stderr: e.stderr, home: home}
	c, err := dial(ctx, test)
	if err != nil {
		return err
	}
	defer c.Close()
	var sk skillView
	if err := c.Call(ctx, "skills.get", map[string]string{"id": filepath.Base(src)}, &sk); err != nil {
		return err
	}
	if sk.Invalid != "" {
		return fmt.Errorf("the skill is invalid: %s", sk.Invalid)
	}
	var tools []string
	if len(pos) >= 2 {
		tools = []string{pos[1]}
	} else {
		for _, t := range sk.Tools {
			var schema struct{ Required []string }
			json.Unmarshal(t.Params, &schema)
			if len(schema.Required) == 0 {
				tools = append(tools, t.Name)
			} else {
				fmt.Fprintf(e.stderr, "skip %s: it needs %s (agentos skills test DIR %s '{...}')\n", t.Name, strings.Join(schema.Required, ", "), t.Name)
			}
		}
	}
	failed := 0
	logPath := wire.PathsFor(home).Log
	for _, tool := range tools {
		var raw rawJSON
		from := fileSize(logPath)
		err := c.Call(ctx, "skills.run", map[string]any{"skill": sk.ID, "tool": tool, "params": params}, &raw)
		records := skillLogRecords(logPath, from, sk.ID)
		if *verbose {
			for _, r := range records {
				if r["msg"] != "skill call failed" {
					fmt.Fprintf(e.stdout, "     log %s: %s\n", strings.ToLower(r["level"]), r["msg"])
				}
			}
		}
		if err != nil {
			failed++
			fmt.Fprintf(e.stdout, "FAIL %s: %v\n", tool, err)
			for _, r := range records {
				if r["msg"] == "skill call failed" {
					for _, key := range []string{"traceback", "stderr"} {
						// The copy's paths are the user's files.
						text := strings.ReplaceAll(strings.TrimSpace(r[key]), filepath.Join(home, "skills", filepath.Base(src)), src)
						if text != "" {
							fmt.Fprintf(e.stdout, "     %s:\n%s\n", key, indent(text, "       "))
						}
					}
				}
			}
			continue
		}
		fmt.Fprintf(e.stdout, "ok   %s: %s\n", tool, clip(string(raw), 200))
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d tools failed", failed, len(tools))
	}
	return nil
}

func fileSize(path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return st.Size()
}

// skillLogRecords are the engine log's records about skill id written after
// offset from: its log lines and its failed calls' tracebacks.
func skillLogRecords(path string, from int64, id string) []map[string]string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	if _, err := f.Seek(from, io.SeekStart); err != nil {
		return nil
	}
	b, err := io.ReadAll(io.LimitReader(f, 4<<20))
	if err != nil {
		return nil
	}
	var out []map[string]string
	for _, line := range strings.Split(string(b), "\n") {
		if r := parseLogfmt(line); r["skill"] == id {
			out = append(out, r)
		}
	}
	return out
}

// parseLogfmt reads one slog text record: key=value pairs, a value bare or
// quoted as Go quotes it.
func parseLogfmt(line string) map[string]string {
	rec := map[string]string{}
	for line != "" {
		line = strings.TrimLeft(line, " ")
		k, rest, ok := strings.Cut(line, "=")
		if !ok || k == "" {
			break
		}
		var v string
		if strings.HasPrefix(rest, `"`) {
			end := 1
			for end < len(rest) && rest[end] != '"' {
				if rest[end] == '\\' {
					end++
				}
				end++
			}
			if end >= len(rest) {
				break
			}
			if u, err := strconv.Unquote(rest[:end+1]); err == nil {
				v = u
			}
			line = rest[end+1:]
		} else {
			v, line, _ = strings.Cut(rest, " ")
		}
		rec[k] = v
	}
	return rec
}

func indent(text, prefix string) string {
	return prefix + strings.ReplaceAll(text, "\n", "\n"+prefix)
}
