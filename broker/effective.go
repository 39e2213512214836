package broker

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// SkillConfig is skills.<id> in config.yaml.
type SkillConfig struct {
	// Settings is a free map the skill reads with agentos.settings.get;
	// the host:port of every http(s) URL in it joins the skill's http scope.
	Settings map[string]any `yaml:"settings"`
	// Grant adds permissions beyond the skill's allowed-tools, in the same
	// grammar; files(read|write PATH...) only ever comes from here.
	Grant []Grant `yaml:"grant"`
}

// Grant is one entry of skills.<id>.grant, with its line for errors.
type Grant struct {
	Text string
	Line int
}

// UnmarshalYAML takes a grant as a plain string.
func (g *Grant) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		return fmt.Errorf("line %d: a grant is a string in the allowed-tools grammar, like \"files(read ~/Notes)\"", n.Line)
	}
	g.Text, g.Line = n.Value, n.Line
	return nil
}

// Where an effective permission came from (DESIGN §7.0). A settings URL
// is named by its key path: settings.base_url, settings.endpoints[1].
const (
	fromAllowedTools = "allowed-tools"
	fromGrant        = "grant"
	fromSettings     = "settings"
)

// PermissionSource is one effective permission of a skill and every place
// it came from, as skills.list and skills.get show it.
type PermissionSource struct {
	Permission string   `json:"permission"` // in allowed-tools syntax: http(api.example.com:443)
	Op         string   `json:"op"`
	Scope      string   `json:"scope"` // files: read:/path or write:/path
	From       []string `json:"from"`
}

// Effective is what config.yaml adds to one discovered skill: the sources
// of its effective permissions, the settings handed to each call, and the
// files the sandbox lets a call reach.
type Effective struct {
	Sources     []PermissionSource
	Settings    json.RawMessage // a JSON object; nil when the user set none
	Read, Write []string
}

// Validate checks skills.<id> at load: every grant parses (its line is
// named) and the settings can travel as JSON.
func (sc SkillConfig) Validate(id string) error {
	for _, g := range sc.Grant {
		if _, err := ParseGrant(g.Text, ""); err != nil {
			return fmt.Errorf("line %d: skills.%s.grant: %v", g.Line, id, err)
		}
	}
	if _, err := json.Marshal(sc.Settings); err != nil {
		return fmt.Errorf("skills.%s.settings: %v (use string keys and plain values)", id, err)
	}
	return nil
}

// ApplyConfig returns a copy of s whose Permissions are the effective ones:
// its allowed-tools ∪ the user's grants ∪ http(host:port) of every URL in
// its settings. files(...) counts only from a grant: in a SKILL.md it is a
// request, shown as a warning and not given. home expands ~/ of grants;
// without one a ~/ grant is left out with a warning. s is not modified
// (discovery may hand out the same value again).
func ApplyConfig(s *Skill, sc SkillConfig, home string) (*Skill, *Effective) {
	out := *s
	out.Warnings = slices.Clone(s.Warnings)
	perms := Permissions{}
	from := map[[2]string][]string{}
	add := func(op, scope, source string) {
		k := [2]string{op, scope}
		if !slices.Contains(from[k], source) {
			from[k] = append(from[k], source)
		}
		if !slices.Contains(perms[op], scope) {
			perms[op] = append(perms[op], scope)
		}
	}
	for op, scopes := range s.Permissions {
		if op == OpFiles {
			continue
		}
		for _, sc := range scopes {
			add(op, sc, fromAllowedTools)
		}
	}
	if req := (Permissions{OpFiles: s.Permissions[OpFiles]}); len(req[OpFiles]) > 0 {
		out.Warnings = append(out.Warnings, fmt.Sprintf(
			"SKILL.md asks for %s: only the user can grant files, in config.yaml skills.%s.grant", req, s.ID))
	}
	for _, g := range sc.Grant {
		p, err := ParseGrant(g.Text, home)
		if err != nil { // LoadConfig checked the syntax; this is a grant of ~/ with no home
			out.Warnings = append(out.Warnings, fmt.Sprintf("config.yaml line %d: grant left out: %v", g.Line, err))
			continue
		}
		for op, scopes := range p {
			for _, scope := range scopes {
				if op == OpFiles && !filepath.IsAbs(scope[strings.IndexByte(scope, ':')+1:]) {
					out.Warnings = append(out.Warnings, fmt.Sprintf(
						"config.yaml line %d: grant %q left out: the engine has no home directory to expand ~ to", g.Line, g.Text))
					continue
				}
				add(op, scope, fromGrant)
			}
		}
	}
	for _, h := range settingsURLs(sc.Settings) {
		add(OpHTTP, h.scope, fromSettings+h.key)
	}
	eff := &Effective{}
	for k, src := range from {
		eff.Sources = append(eff.Sources, PermissionSource{
			Permission: Permissions{k[0]: {k[1]}}.String(), Op: k[0], Scope: k[1], From: src})
	}
	slices.SortFunc(eff.Sources, func(a, b PermissionSource) int {
		return cmp.Or(cmp.Compare(a.Op, b.Op), cmp.Compare(a.Scope, b.Scope))
	})
	for op := range perms {
		slices.Sort(perms[op])
	}
	out.Permissions = perms
	eff.Read, eff.Write = perms.Files()
	if len(sc.Settings) > 0 {
		eff.Settings, _ = json.Marshal(sc.Settings) // validate made sure it encodes
	}
	return &out, eff
}

// settingsURL is the http scope one URL in a skill's settings adds.
type settingsURL struct{ key, scope string }

// settingsURLs finds every string in settings, nested ones too, that is an
// absolute http(s) URL, and returns the host:port it reaches with the key
// path it sits at (".base_url", ".endpoints[1]"), in key order.
func settingsURLs(settings map[string]any) []settingsURL {
	var out []settingsURL
	var walk func(key string, v any)
	walk = func(key string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for _, k := range slices.Sorted(maps.Keys(v)) {
				walk(key+"."+k, v[k])
			}
		case []any:
			for i, e := range v {
				walk(key+"["+strconv.Itoa(i)+"]", e)
			}
		case string:
			u, err := url.Parse(strings.TrimSpace(v))
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
				return
			}
			scope := HTTPScope(u)
			// Only what the grammar accepts as a scope: a URL with an odd
			// host must not become an entry nobody could have written.
			if _, err := ParseGrant("http("+scope+")", ""); err == nil {
				out = append(out, settingsURL{key: key, scope: scope})
			}
		}
	}
	walk("", settings)
	return out
}
