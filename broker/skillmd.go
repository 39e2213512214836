package broker

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// skillName is the Agent Skills rule for a skill's name: 1–64 lowercase
// letters, digits and single hyphens, not at either end.
var skillName = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// frontmatter is SKILL.md's YAML header (Agent Skills standard).
type frontmatter struct {
	Name          string            `yaml:"name"`
	Description   string            `yaml:"description"`
	License       string            `yaml:"license"`
	Compatibility string            `yaml:"compatibility"`
	Metadata      map[string]string `yaml:"metadata"`
	AllowedTools  string            `yaml:"allowed-tools"`
}

// parseSkillMD reads SKILL.md into s. Problems that make the skill unusable
// are returned as an error (the caller records it as Invalid).
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
	var fm frontmatter
	dec := yaml.NewDecoder(strings.NewReader(head))
	dec.KnownFields(true)
	if err := dec.Decode(&fm); err != nil {
		return fmt.Errorf("SKILL.md frontmatter: %v", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	switch {
	case fm.Name == "":
		return fmt.Errorf("SKILL.md: name is required (it must equal the folder name %q)", s.ID)
	case fm.Name != s.ID:
		return fmt.Errorf("SKILL.md: name %q must equal the folder name %q", fm.Name, s.ID)
	case len(fm.Name) > 64 || !skillName.MatchString(fm.Name):
		return fmt.Errorf("SKILL.md: name %q: use 1-64 lowercase letters, digits and single hyphens", fm.Name)
	case strings.TrimSpace(fm.Description) == "":
		return fmt.Errorf("SKILL.md: description is required: say what the skill does and when to use it")
	case len(fm.Description) > 1024:
		return fmt.Errorf("SKILL.md: description is %d characters; the limit is 1024", len(fm.Description))
	}
	perms, err := ParsePermissions(fm.AllowedTools)
	if err != nil {
		return fmt.Errorf("SKILL.md: %v", err)
	}
	s.Description = strings.TrimSpace(fm.Description)
	s.License, s.Compatibility, s.Metadata = fm.License, fm.Compatibility, fm.Metadata
	s.AllowedTools, s.Permissions = fm.AllowedTools, perms
	s.Guide = strings.TrimSpace(body)
	return nil
}
