package broker

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"
)

// Root is a folder of skill folders, with where it comes from.
type Root struct {
	Dir    string
	Source string // bundled, user, flag
}

// Discoverer finds skills and their tools. Tools are found by running the
// SDK's ast-based parser over the Python files (skill code is never
// imported to discover it); results are cached by file content, so a reload
// only parses what changed.
type Discoverer struct {
	python string
	sdkDir string

	mu    sync.Mutex
	cache map[string]fileResult // path + "\x00" + sha256 of content
	used  map[string]bool       // cache keys the current Discover touched
}

type fileResult struct {
	Tools    []Tool   `json:"tools"`
	Warnings []string `json:"warnings"` // about the file, not one tool
	Error    string   `json:"error"`
}

// ErrDiscovery means the tool parser itself failed (it could not run, or
// did not print its report), not the skill it was parsing: the skill may be
// fine, and a later discovery can succeed.
var ErrDiscovery = errors.New("tool discovery failed")

// NewDiscoverer returns a discoverer that runs python (an absolute path) on
// the SDK in sdkDir.
func NewDiscoverer(python, sdkDir string) *Discoverer {
	return &Discoverer{python: python, sdkDir: sdkDir, cache: map[string]fileResult{}}
}

var moduleName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Discover lists every skill under roots, valid or not, sorted by id (one
// Discover at a time: the engine serializes reloads). A skill
// in a later root replaces one with the same id from an earlier root (a
// user's skill overrides a bundled one), with a warning saying so.
func (d *Discoverer) Discover(ctx context.Context, roots []Root) []*Skill {
	d.mu.Lock()
	d.used = map[string]bool{}
	d.mu.Unlock()
	defer d.prune()
	byID := map[string]*Skill{}
	for _, root := range roots {
		entries, err := os.ReadDir(root.Dir)
		if err != nil {
			continue // a missing root (no user skills yet) is normal
		}
		for _, e := range entries {
			if !e.IsDir() || strings.HasPrefix(e.Name(), ".") || strings.HasPrefix(e.Name(), "_") {
				continue
			}
			s := d.load(ctx, filepath.Join(root.Dir, e.Name()), root.Source)
			if prev, ok := byID[s.ID]; ok {
				s.Warnings = append(s.Warnings, fmt.Sprintf("overrides the %s skill of the same name in %s", prev.Source, prev.Dir))
			}
			byID[s.ID] = s
		}
	}
	out := make([]*Skill, 0, len(byID))
	for _, s := range byID {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// load reads one skill folder. Whatever is wrong ends up in Invalid.
func (d *Discoverer) load(ctx context.Context, dir, source string) *Skill {
	s := &Skill{ID: filepath.Base(dir), Dir: dir, Source: source, Permissions: Permissions{}, Tools: []Tool{}}
	md, err := readSkillFile(dir)
	if err != nil {
		s.setInvalid(err)
		return s
	}
	if err := parseSkillMD(s, md); err != nil {
		s.setInvalid(err)
		return s
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.py"))
	if err != nil {
		s.setInvalid(err)
		return s
	}
	results, err := d.parseFiles(ctx, files)
	if err != nil {
		s.setInvalid(err)
		return s
	}
	seen := map[string]string{}
	for _, f := range files {
		stem := strings.TrimSuffix(filepath.Base(f), ".py")
		r := results[f]
		if r.Error != "" {
			s.setInvalid(fmt.Errorf("%s: %s", filepath.Base(f), r.Error))
			return s
		}
		if !moduleName.MatchString(stem) {
			if len(r.Tools) > 0 {
				s.Warnings = append(s.Warnings, fmt.Sprintf("%s: not an importable module name; its tools are skipped", filepath.Base(f)))
			}
			continue
		}
		for _, w := range r.Warnings {
			s.Warnings = append(s.Warnings, filepath.Base(f)+": "+w)
		}
		for _, t := range r.Tools {
			if other, dup := seen[t.Name]; dup {
				s.Warnings = append(s.Warnings, fmt.Sprintf("tool %s in %s.py is skipped: %s.py defines it first", t.Name, stem, other))
				continue
			}
			seen[t.Name] = stem
			t.File = filepath.Base(f)
			s.Tools = append(s.Tools, t)
		}
	}
	if len(s.Tools) == 0 {
		s.Warnings = append(s.Warnings, "no tools found: decorate top-level functions with @tool or @provides(...)")
	}
	return s
}

// parseFiles returns the discovery result of each file, parsing only those
// whose content is not cached yet.
func (d *Discoverer) parseFiles(ctx context.Context, files []string) (map[string]fileResult, error) {
	out := make(map[string]fileResult, len(files))
	keys := make(map[string]string, len(files))
	var todo []string
	d.mu.Lock()
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			d.mu.Unlock()
			return nil, fmt.Errorf("read %s: %w", filepath.Base(f), err)
		}
		sum := sha256.Sum256(data)
		keys[f] = f + "\x00" + hex.EncodeToString(sum[:])
		if d.used != nil {
			d.used[keys[f]] = true
		}
		if r, ok := d.cache[keys[f]]; ok {
			out[f] = r
		} else {
			todo = append(todo, f)
		}
	}
	d.mu.Unlock()
	if len(todo) == 0 {
		return out, nil
	}
	parsed, err := d.runParser(ctx, todo)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, f := range todo {
		r, ok := parsed[f]
		if !ok {
			return nil, fmt.Errorf("%w: the parser said nothing about %s", ErrDiscovery, filepath.Base(f))
		}
		d.cache[keys[f]] = r
		out[f] = r
	}
	return out, nil
}

// prune drops cache entries the last Discover did not use: old versions of
// edited files and files that are gone.
func (d *Discoverer) prune() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for k := range d.cache {
		if !d.used[k] {
			delete(d.cache, k)
		}
	}
	d.used = nil
}

func (d *Discoverer) runParser(ctx context.Context, files []string) (map[string]fileResult, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	args := append([]string{"-I", "-S", filepath.Join(d.sdkDir, "agentos_discover.py")}, files...)
	cmd := exec.CommandContext(ctx, d.python, args...)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "LANG=C.UTF-8", "PYTHONDONTWRITEBYTECODE=1", "PYTHONIOENCODING=utf-8"}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%w (%v): %s", ErrDiscovery, err, lastLine(stderr.String()))
	}
	var res struct {
		Files map[string]fileResult `json:"files"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		return nil, fmt.Errorf("%w: the parser printed something that is not its JSON report: %v", ErrDiscovery, err)
	}
	return res.Files, nil
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	if s == "" {
		return "no output"
	}
	return s
}

// errNoSkill is returned by Find for an unknown skill id.
var errNoSkill = errors.New("no such skill")

// Find returns the skill with id from a discovered list.
func Find(skills []*Skill, id string) (*Skill, error) {
	for _, s := range skills {
		if s.ID == id {
			return s, nil
		}
	}
	return nil, fmt.Errorf("%w: %q", errNoSkill, id)
}
