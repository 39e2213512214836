package agents

import (
	"bytes"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// Agent is one agent file, checked.
type Agent struct {
	Name        string         `json:"name"`
	Description string         `json:"description"`
	Tools       []string       `json:"tools"`                // capabilities (and data.* methods) it may call
	Ignored     []string       `json:"ignored,omitempty"`    // other agents' tools in its list (Read, Bash, mcp__…), not callable here
	Model       string         `json:"model,omitempty"`      // the model it asks llm for ("" or inherit: the provider's default)
	MaxTurns    int            `json:"max_turns"`            // model turns before it stops (default 8)
	Delegate    []string       `json:"delegate,omitempty"`   // agents it may hand work to, offered as tools
	Mission     string         `json:"mission,omitempty"`    // a standing task, run every Every while enabled
	Every       time.Duration  `json:"every,omitempty"`      // how often the mission runs
	Prompt      string         `json:"prompt"`               // the body: its system prompt
	Path        string         `json:"path"`                 // where the file is
	Source      string         `json:"source"`               // "home", or "skill:ID" for a skill's agents/ folder
	Extensions  map[string]any `json:"extensions,omitempty"` // Claude Code's fields it carries (color, …), kept as written
	Enabled     bool           `json:"enabled"`              // its mission runs (set by the engine, from config.yaml)
}

const (
	// DefaultMaxTurns is max_turns when a file does not say.
	DefaultMaxTurns = 8
	maxMaxTurns     = 100
	maxNameLen      = 64
	maxDescLen      = 1024
	// MinEvery is the shortest schedule a mission may have.
	MinEvery = time.Second
)

var (
	nameRE       = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)
	capabilityRE = regexp.MustCompile(`^[a-z0-9_-]+(\.[a-z0-9_-]+)*$`)
	knownFields  = map[string]bool{"name": true, "description": true, "tools": true, "model": true, "max_turns": true,
		"delegate": true, "mission": true, "every": true}
	// Claude Code's subagent fields an agent file may carry; kept, unused.
	claudeFields = map[string]bool{"color": true, "permissionMode": true, "skills": true, "hooks": true, "mcpServers": true}
)

// Parse reads an agent file. An error says what is wrong, with the field.
func Parse(path, source string, data []byte) (*Agent, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	text := strings.ReplaceAll(string(data), "\r\n", "\n")
	if !strings.HasPrefix(text, "---\n") {
		return nil, fmt.Errorf("an agent file starts with a YAML frontmatter block between --- lines")
	}
	head, body, ok := strings.Cut(text[4:], "\n---")
	if !ok {
		return nil, fmt.Errorf("the frontmatter has no closing --- line")
	}
	var raw map[string]yaml.Node
	if err := yaml.Unmarshal([]byte(head), &raw); err != nil {
		return nil, fmt.Errorf("the frontmatter is not valid YAML: %v", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if raw == nil {
		return nil, fmt.Errorf("the frontmatter must be a YAML mapping with name, description and tools")
	}
	var unknown []string
	a := &Agent{Path: path, Source: source, MaxTurns: DefaultMaxTurns, Prompt: strings.TrimSpace(strings.TrimPrefix(body, "\n"))}
	for k, n := range raw {
		switch {
		case knownFields[k]:
		case claudeFields[k]:
			var v any
			_ = n.Decode(&v)
			if a.Extensions == nil {
				a.Extensions = map[string]any{}
			}
			a.Extensions[k] = v
		default:
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return nil, fmt.Errorf("unexpected frontmatter fields %s: an agent has name, description, tools, model, max_turns, delegate, mission and every",
			strings.Join(unknown, ", "))
	}
	str := func(key string) (string, error) {
		n, ok := raw[key]
		if !ok {
			return "", nil
		}
		if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
			return "", fmt.Errorf("%s must be a string (line %d)", key, n.Line)
		}
		return strings.TrimSpace(n.Value), nil
	}
	var err error
	if a.Name, err = str("name"); err != nil {
		return nil, err
	}
	switch {
	case a.Name == "":
		return nil, fmt.Errorf("name is required")
	case len(a.Name) > maxNameLen || !nameRE.MatchString(a.Name):
		return nil, fmt.Errorf("name %q: use lowercase letters, digits and single hyphens, at most %d characters", a.Name, maxNameLen)
	}
	if a.Description, err = str("description"); err != nil {
		return nil, err
	}
	switch n := utf8.RuneCountInString(a.Description); {
	case a.Description == "":
		return nil, fmt.Errorf("description is required: say what the agent does and when to use it")
	case n > maxDescLen:
		return nil, fmt.Errorf("description is %d characters; the limit is %d", n, maxDescLen)
	}
	tools, err := list(raw, "tools")
	if err != nil {
		return nil, err
	}
	for _, t := range tools {
		switch {
		case foreignTool(t):
			a.Ignored = append(a.Ignored, t)
		case capabilityRE.MatchString(t):
			a.Tools = append(a.Tools, t)
		default:
			return nil, fmt.Errorf("tools: %q is not a capability name (like web.read or data.search)", t)
		}
	}
	if a.Model, err = str("model"); err != nil {
		return nil, err
	}
	if a.Model == "inherit" {
		a.Model = ""
	}
	if n, ok := raw["max_turns"]; ok {
		var v int
		if n.Decode(&v) != nil || v < 1 || v > maxMaxTurns {
			return nil, fmt.Errorf("max_turns must be a whole number from 1 to %d (line %d)", maxMaxTurns, n.Line)
		}
		a.MaxTurns = v
	}
	if a.Delegate, err = list(raw, "delegate"); err != nil {
		return nil, err
	}
	for _, d := range a.Delegate {
		if !nameRE.MatchString(d) {
			return nil, fmt.Errorf("delegate: %q is not an agent name", d)
		}
		if d == a.Name {
			return nil, fmt.Errorf("delegate: an agent cannot delegate to itself")
		}
	}
	if len(a.Tools) == 0 && len(a.Delegate) == 0 {
		return nil, fmt.Errorf("tools is required: the capabilities the agent may call (like web.read, data.search)")
	}
	if a.Mission, err = str("mission"); err != nil {
		return nil, err
	}
	every, err := str("every")
	if err != nil {
		return nil, err
	}
	switch {
	case every == "" && a.Mission != "":
		return nil, fmt.Errorf("mission needs every: how often to run it (like 1h or 30m)")
	case every != "" && a.Mission == "":
		return nil, fmt.Errorf("every needs a mission: the task to run on that schedule")
	case every != "":
		d, err := time.ParseDuration(every)
		if err != nil || d < MinEvery {
			return nil, fmt.Errorf("every %q: give a duration of at least %s, like 30m or 1h", every, MinEvery)
		}
		a.Every = d
	}
	if a.Prompt == "" {
		return nil, fmt.Errorf("the body is empty: it is the agent's system prompt")
	}
	return a, nil
}

// list reads a field that is a YAML list of strings or one string of
// entries separated by commas or spaces (Claude Code writes "Read, Grep").
func list(raw map[string]yaml.Node, key string) ([]string, error) {
	n, ok := raw[key]
	if !ok {
		return nil, nil
	}
	var out []string
	switch n.Kind {
	case yaml.ScalarNode:
		out = strings.FieldsFunc(n.Value, func(r rune) bool { return r == ',' || unicode.IsSpace(r) })
	case yaml.SequenceNode:
		for _, c := range n.Content {
			if c.Kind != yaml.ScalarNode {
				return nil, fmt.Errorf("%s: each entry must be a string (line %d)", key, c.Line)
			}
			if v := strings.TrimSpace(c.Value); v != "" {
				out = append(out, v)
			}
		}
	default:
		return nil, fmt.Errorf("%s must be a list of names (line %d)", key, n.Line)
	}
	return out, nil
}

// foreignTool says whether a tools entry names another agent's tool
// (Claude Code's Read, Bash, mcp__server__tool) rather than a capability.
func foreignTool(t string) bool {
	r, _ := utf8.DecodeRuneInString(t)
	return unicode.IsUpper(r) || strings.HasPrefix(t, "mcp__")
}
