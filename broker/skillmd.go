package broker

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
	"golang.org/x/text/unicode/norm"
)

// Limits of the Agent Skills standard, in characters, as its reference
// validator (skills-ref) counts them.
const (
	maxNameLen          = 64
	maxDescriptionLen   = 1024
	maxCompatibilityLen = 500
)

// standardFields are the frontmatter fields of the Agent Skills standard.
var standardFields = map[string]bool{"name": true, "description": true, "license": true,
	"allowed-tools": true, "metadata": true, "compatibility": true}

// claudeFields are Claude Code's extensions of the frontmatter: accepted
// (skills-ref refuses them) and kept, for the agents that read them.
var claudeFields = map[string]bool{"argument-hint": true, "disable-model-invocation": true, "user-invocable": true,
	"model": true, "context": true, "agent": true, "hooks": true, "version": true, "when_to_use": true}

// parseSkillMD reads SKILL.md into s. Problems that make the skill unusable
// are returned as an error (the caller records it as Invalid). The checks
// are skills-ref's (docs/skills.md, "Agent Skills"), with Claude Code's
// fields allowed and other agents' allowed-tools entries kept aside.
func parseSkillMD(s *Skill, data []byte) error {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	text := strings.ReplaceAll(string(data), "\r\n", "\n")
	if !strings.HasPrefix(text, "---\n") {
		return fmt.Errorf("SKILL.md must start with a YAML frontmatter block between --- lines")
	}
	head, body, ok := strings.Cut(text[4:], "\n---")
	if !ok {
		return fmt.Errorf("SKILL.md: the frontmatter has no closing --- line")
	}
	body = strings.TrimPrefix(body, "\n")
	var raw map[string]yaml.Node
	if err := yaml.Unmarshal([]byte(head), &raw); err != nil {
		return fmt.Errorf("SKILL.md frontmatter is not valid YAML: %v", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if raw == nil {
		return fmt.Errorf("SKILL.md frontmatter must be a YAML mapping with name and description")
	}
	var unknown []string
	for k := range raw {
		if !standardFields[k] && !claudeFields[k] {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return fmt.Errorf("SKILL.md: unexpected frontmatter fields %s: the standard's are name, description, license, allowed-tools, metadata, compatibility (Claude Code's argument-hint, disable-model-invocation, user-invocable, model, context, agent, hooks are accepted too); put your own under metadata",
			strings.Join(unknown, ", "))
	}
	str := func(key string) (string, error) {
		n, ok := raw[key]
		if !ok {
			return "", nil
		}
		if n.Kind != yaml.ScalarNode || (n.Tag != "!!str" && n.Tag != "!!int" && n.Tag != "!!float" && n.Tag != "!!bool") {
			return "", fmt.Errorf("SKILL.md: %s must be a string (line %d)", key, n.Line)
		}
		return n.Value, nil
	}
	name, err := str("name")
	if err != nil {
		return err
	}
	description, err := str("description")
	if err != nil {
		return err
	}
	if err := checkName(name, s.ID); err != nil {
		return err
	}
	switch n := utf8.RuneCountInString(description); {
	case strings.TrimSpace(description) == "":
		return fmt.Errorf("SKILL.md: description is required: say what the skill does and when to use it")
	case n > maxDescriptionLen:
		return fmt.Errorf("SKILL.md: description is %d characters; the limit is %d", n, maxDescriptionLen)
	}
	license, err := str("license")
	if err != nil {
		return err
	}
	compatibility, err := str("compatibility")
	if err != nil {
		return err
	}
	if n := utf8.RuneCountInString(compatibility); n > maxCompatibilityLen {
		return fmt.Errorf("SKILL.md: compatibility is %d characters; the limit is %d", n, maxCompatibilityLen)
	}
	metadata, err := stringMap(raw["metadata"])
	if err != nil {
		return err
	}
	allowed, err := allowedTools(raw["allowed-tools"])
	if err != nil {
		return err
	}
	perms, foreign, err := ParseAllowedTools(allowed)
	if err != nil {
		return fmt.Errorf("SKILL.md: %v", err)
	}
	ext := map[string]any{}
	for k, n := range raw {
		if claudeFields[k] {
			var v any
			if err := n.Decode(&v); err == nil {
				ext[k] = v
			}
		}
	}
	s.Description = strings.TrimSpace(description)
	s.License, s.Compatibility, s.Metadata = license, compatibility, metadata
	s.AllowedTools, s.Permissions, s.OtherTools = allowed, perms, foreign
	if len(ext) > 0 {
		s.Extensions = ext
	}
	s.Guide = strings.TrimSpace(body)
	return nil
}

// ReadSkillMD reads and checks dir's SKILL.md (skill.md is taken too, as
// skills-ref does), as discovery will once the folder is named as the skill:
// for `agentos skills install`, which installs it under its name and
// refuses a skill the engine could not use before copying it. The folder's
// own name does not matter (a clone's is temporary).
func ReadSkillMD(dir string) (*Skill, error) {
	md, err := readSkillFile(dir)
	if err != nil {
		return nil, err
	}
	s := &Skill{ID: frontmatterName(md), Dir: dir, Permissions: Permissions{}}
	if err := parseSkillMD(s, md); err != nil {
		return nil, err
	}
	return s, nil
}

// frontmatterName is the name SKILL.md gives, or "" (parseSkillMD then says
// what is wrong).
func frontmatterName(md []byte) string {
	text := strings.ReplaceAll(string(bytes.TrimPrefix(md, []byte("\xef\xbb\xbf"))), "\r\n", "\n")
	head, _, _ := strings.Cut(strings.TrimPrefix(text, "---\n"), "\n---")
	var fm struct {
		Name any `yaml:"name"`
	}
	if yaml.Unmarshal([]byte(head), &fm) != nil {
		return ""
	}
	name, _ := fm.Name.(string)
	if strings.ContainsAny(name, "/\\") || strings.HasPrefix(name, ".") {
		return "" // never a path
	}
	return norm.NFKC.String(strings.TrimSpace(name))
}

// readSkillFile is dir's SKILL.md, or its skill.md.
func readSkillFile(dir string) ([]byte, error) {
	md, err := os.ReadFile(filepath.Join(dir, "SKILL.md"))
	if errors.Is(err, fs.ErrNotExist) {
		if md, err = os.ReadFile(filepath.Join(dir, "skill.md")); err == nil {
			return md, nil
		}
		return nil, fmt.Errorf("no SKILL.md in %s", dir)
	}
	return md, err
}

// checkName applies the standard's name rules (Unicode letters and digits,
// lower case, single hyphens not at either end, at most 64 characters, NFKC
// as skills-ref compares) and the folder match.
func checkName(name, folder string) error {
	if strings.TrimSpace(name) == "" {
		return fmt.Errorf("SKILL.md: name is required (it must equal the folder name %q)", folder)
	}
	name = norm.NFKC.String(strings.TrimSpace(name))
	bad := func(why string) error {
		return fmt.Errorf("SKILL.md: name %q %s: use lower-case letters, digits and single hyphens, at most %d characters", name, why, maxNameLen)
	}
	switch {
	case utf8.RuneCountInString(name) > maxNameLen:
		return bad(fmt.Sprintf("is %d characters", utf8.RuneCountInString(name)))
	case name != strings.ToLower(name):
		return bad("is not lower case")
	case strings.HasPrefix(name, "-") || strings.HasSuffix(name, "-"):
		return bad("starts or ends with a hyphen")
	case strings.Contains(name, "--"):
		return bad("has two hyphens in a row")
	case strings.IndexFunc(name, func(r rune) bool {
		return r != '-' && !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.IsNumber(r)
	}) >= 0:
		return bad("has a character that is not a letter, digit or hyphen")
	case norm.NFKC.String(folder) != name:
		return fmt.Errorf("SKILL.md: name %q must equal the folder name %q", name, folder)
	}
	return nil
}

// stringMap reads metadata: a mapping of strings (numbers and booleans
// are taken as written). Nested values are refused by name.
func stringMap(n yaml.Node) (map[string]string, error) {
	if n.Kind == 0 {
		return nil, nil
	}
	if n.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("SKILL.md: metadata must be a mapping of names to strings (line %d)", n.Line)
	}
	out := map[string]string{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if v.Kind != yaml.ScalarNode {
			return nil, fmt.Errorf("SKILL.md: metadata.%s must be a string, not a %s (line %d): the standard's metadata is flat; write it as one string or split it into several keys",
				k.Value, map[yaml.Kind]string{yaml.MappingNode: "mapping", yaml.SequenceNode: "list"}[v.Kind], v.Line)
		}
		out[k.Value] = v.Value
	}
	return out, nil
}

// allowedTools reads allowed-tools: the standard's space-separated string,
// or a YAML list of entries (as Claude Code also writes it).
func allowedTools(n yaml.Node) (string, error) {
	switch n.Kind {
	case 0:
		return "", nil
	case yaml.ScalarNode:
		return n.Value, nil
	case yaml.SequenceNode:
		var parts []string
		for _, c := range n.Content {
			if c.Kind != yaml.ScalarNode {
				return "", fmt.Errorf("SKILL.md: allowed-tools entries must be strings (line %d)", c.Line)
			}
			parts = append(parts, c.Value)
		}
		return strings.Join(parts, " "), nil
	}
	return "", fmt.Errorf("SKILL.md: allowed-tools must be a string or a list (line %d)", n.Line)
}
