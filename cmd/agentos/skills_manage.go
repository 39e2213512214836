package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/agentos/agentos/broker"
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
	f := newFlags(e, "skills", "install DIR|GIT-URL",
		"Check a skill and copy it into $AGENTOS_HOME/skills, where the engine picks it up within a second. "+
			"A git URL (https://, ssh://, git@host:path, file://, or ending in .git) is cloned shallow with the git binary. "+
			"It says what the skill may do first, and on a terminal asks before installing.")
	force := f.Bool("force", false, "replace an installed skill of the same id (the old one is kept in skills/.removed)")
	sub := f.String("path", "", "the skill's folder inside the repository or folder (for repositories holding several skills)")
	yes := f.Bool("yes", false, "install without asking, on a terminal too")
	pos, err := f.parseN(args, 1, 1)
	if err != nil {
		return err
	}
	src := pos[0]
	if isGitURL(src) {
		dir, err := shallowClone(ctx, src)
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		src = dir
	} else if src, err = filepath.Abs(src); err != nil {
		return err
	}
	if *sub != "" {
		if filepath.IsAbs(*sub) || strings.Contains(filepath.ToSlash(filepath.Clean(*sub)), "../") || filepath.Clean(*sub) == ".." {
			return usagef("skills install: --path %q must be a folder inside the source", *sub)
		}
		src = filepath.Join(src, *sub)
	}
	sk, err := broker.ReadSkillMD(src)
	if err != nil {
		return fmt.Errorf("%s is not a skill agentos can use: %w", pos[0], err)
	}
	id := sk.ID // its name: the folder it is installed in must match it
	fmt.Fprint(e.stdout, describePermissions(sk))
	if !*yes {
		if in, ok := e.stdin.(*os.File); ok && isTerminal(in) {
			fmt.Fprintf(e.stderr, "install %s? [y/N] ", id)
			var answer string
			fmt.Fscanln(in, &answer)
			if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
				return errors.New("not installed")
			}
		}
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

// describePermissions says what a skill may do once installed.
func describePermissions(sk *broker.Skill) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s\n", sk.ID, clip(sk.Description, 200))
	ops := make([]string, 0, len(sk.Permissions))
	for op := range sk.Permissions {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	if len(ops) == 0 {
		b.WriteString("  it may: nothing beyond its own folder (no network, secrets, graph or files)\n")
	}
	for _, op := range ops {
		scopes := strings.Join(sk.Permissions[op], " ")
		switch op {
		case broker.OpFiles:
			fmt.Fprintf(&b, "  it asks for files(%s): given only by a grant in config.yaml (skills.%s.grant)\n", scopes, sk.ID)
		default:
			fmt.Fprintf(&b, "  it may: %s(%s)\n", op, scopes)
		}
	}
	if len(sk.OtherTools) > 0 {
		fmt.Fprintf(&b, "  for other agents (no effect here): %s\n", strings.Join(sk.OtherTools, " "))
	}
	return b.String()
}

// isGitURL says whether an install source names a repository, not a folder.
func isGitURL(s string) bool {
	for _, p := range []string{"https://", "http://", "ssh://", "git://", "file://", "git@"} {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return strings.HasSuffix(s, ".git") && !isDir(s)
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

// shallowClone clones url (depth 1, no hooks run: a fresh clone has none)
// into a temporary folder with the git binary.
func shallowClone(ctx context.Context, url string) (string, error) {
	git, err := exec.LookPath("git")
	if err != nil {
		return "", errors.New("skills install: installing from a git URL needs the git binary, which is not on PATH")
	}
	dir, err := os.MkdirTemp("", "agentos-install-")
	if err != nil {
		return "", err
	}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(cctx, git, "clone", "--quiet", "--depth", "1", "--", url, filepath.Join(dir, "src"))
	cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("skills install: git clone %s: %v: %s", url, err, strings.TrimSpace(string(out)))
	}
	return filepath.Join(dir, "src"), nil
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
