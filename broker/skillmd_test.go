package broker

import (
	"strings"
	"testing"
)

func TestParseSkillMDReadsTheStandardFrontmatter(t *testing.T) {
	s := &Skill{ID: "web-reader"}
	err := parseSkillMD(s, []byte(`---
name: web-reader
description: Read web pages and return their text. Use when a user gives a URL.
license: MIT
metadata:
  author: someone
allowed-tools: http(*) graph(write)
---
# Web reader

Call read(url).
`))
	if err != nil {
		t.Fatal(err)
	}
	if s.License != "MIT" || s.Metadata["author"] != "someone" || !s.Permissions.Allows(OpGraph, "write") ||
		!strings.HasPrefix(s.Guide, "# Web reader") || !strings.Contains(s.Description, "Use when") {
		t.Fatalf("parsed %+v", s)
	}
}

func TestParseSkillMDRejectsWhatTheStandardForbids(t *testing.T) {
	cases := map[string]string{
		"no frontmatter":     "# just text",
		"unclosed":           "---\nname: x\n",
		"name mismatch":      "---\nname: other\ndescription: d\n---\n",
		"no description":     "---\nname: demo\n---\n",
		"unknown key":        "---\nname: demo\ndescription: d\nallowed_tools: http\n---\n",
		"bad permission":     "---\nname: demo\ndescription: d\nallowed-tools: network(x)\n---\n",
		"metadata not flat":  "---\nname: demo\ndescription: d\nmetadata:\n  a: {b: c}\n---\n",
		"yaml syntax errors": "---\nname: [demo\ndescription: d\n---\n",
	}
	for name, md := range cases {
		if err := parseSkillMD(&Skill{ID: "demo"}, []byte(md)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if err := parseSkillMD(&Skill{ID: "Bad_Name"}, []byte("---\nname: Bad_Name\ndescription: d\n---\n")); err == nil {
		t.Error("a name with capitals and underscores was accepted")
	}
}

// The verdicts of the reference validator, skills-ref
// (github.com/agentskills/agentskills, skills-ref/src/skills_ref/validator.py),
// on a table of SKILL.md files, and ours. They agree everywhere but where
// docs/skills.md says agentos differs on purpose: Claude Code's fields are
// accepted, and nested metadata is refused by name (skills-ref turns it into
// a string).
func TestSkillMDValidationAgreesWithSkillsRef(t *testing.T) {
	long := func(n int, r string) string { return strings.Repeat(r, n) }
	cases := []struct {
		name, folder, md string
		skillsRef        bool   // skills-ref's verdict: valid
		ours             bool   // ours, when it differs on purpose
		differs          bool   // the two differ, by design
		mention          string // what our error must name
	}{
		{name: "minimal", folder: "demo", md: "name: demo\ndescription: Does a thing.", skillsRef: true},
		{name: "all standard fields", folder: "demo", md: "name: demo\ndescription: d\nlicense: Apache-2.0\ncompatibility: Needs git\nmetadata:\n  author: me\n  version: \"1.0\"\nallowed-tools: Bash(git:*) Read", skillsRef: true},
		{name: "the standard's allowed-tools example", folder: "demo", md: "name: demo\ndescription: d\nallowed-tools: Bash(git:*) Bash(jq:*) Read", skillsRef: true},
		{name: "a description of 1024 characters, not bytes", folder: "demo", md: "name: demo\ndescription: " + long(1024, "é"), skillsRef: true},
		{name: "a description of 1025 characters", folder: "demo", md: "name: demo\ndescription: " + long(1025, "a"), mention: "1025 characters"},
		{name: "compatibility of 500 characters", folder: "demo", md: "name: demo\ndescription: d\ncompatibility: " + long(500, "c"), skillsRef: true},
		{name: "compatibility of 600 characters", folder: "demo", md: "name: demo\ndescription: d\ncompatibility: " + long(600, "c"), mention: "compatibility is 600"},
		{name: "a Unicode lower-case name", folder: "café-notes", md: "name: café-notes\ndescription: d", skillsRef: true},
		{name: "a name of 64 characters", folder: long(64, "a"), md: "name: " + long(64, "a") + "\ndescription: d", skillsRef: true},
		{name: "a name of 65 characters", folder: long(65, "a"), md: "name: " + long(65, "a") + "\ndescription: d", mention: "65 characters"},
		{name: "upper case", folder: "Demo", md: "name: Demo\ndescription: d", mention: "not lower case"},
		{name: "a leading hyphen", folder: "-demo", md: "name: -demo\ndescription: d", mention: "hyphen"},
		{name: "two hyphens", folder: "de--mo", md: "name: de--mo\ndescription: d", mention: "two hyphens"},
		{name: "an underscore", folder: "de_mo", md: "name: de_mo\ndescription: d", mention: "not a letter"},
		{name: "the folder differs", folder: "other", md: "name: demo\ndescription: d", mention: "folder name"},
		{name: "no name", folder: "demo", md: "description: d", mention: "name is required"},
		{name: "no description", folder: "demo", md: "name: demo", mention: "description is required"},
		{name: "an empty description", folder: "demo", md: "name: demo\ndescription: \"  \"", mention: "description is required"},
		{name: "an unknown field", folder: "demo", md: "name: demo\ndescription: d\nauthor: me", mention: "unexpected frontmatter fields author"},
		{name: "Claude Code's fields", folder: "demo", md: "name: demo\ndescription: d\nargument-hint: \"[file]\"\ndisable-model-invocation: true\nmodel: sonnet", ours: true, differs: true},
		{name: "nested metadata", folder: "demo", md: "name: demo\ndescription: d\nmetadata:\n  author:\n    name: me", skillsRef: true, differs: true, mention: "metadata.author must be a string, not a mapping"},
		{name: "a list as name", folder: "demo", md: "name: [demo]\ndescription: d", mention: "name must be a string"},
		{name: "not a mapping", folder: "demo", md: "- a\n- b", mention: "not valid YAML"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := &Skill{ID: c.folder}
			err := parseSkillMD(s, []byte("---\n"+c.md+"\n---\n# Body\n"))
			want := c.skillsRef
			if c.differs {
				want = c.ours
			}
			if (err == nil) != want {
				t.Fatalf("valid = %v, want %v (skills-ref: %v): %v", err == nil, want, c.skillsRef, err)
			}
			if err != nil && !strings.Contains(err.Error(), c.mention) {
				t.Errorf("error %q does not say %q", err, c.mention)
			}
		})
	}
}

// Entries of allowed-tools that name other agents' tools are kept aside and
// grant nothing; an unknown lower-case op is still an error.
func TestAllowedToolsKeepsOtherAgentsToolsAside(t *testing.T) {
	p, other, err := ParseAllowedTools("Bash(git:*) http(api.example.com) Read mcp__github__get_issue secrets(gh)")
	if err != nil {
		t.Fatal(err)
	}
	if !p.Allows(OpHTTP, "api.example.com:443") || !p.Allows(OpSecrets, "gh") || len(p) != 2 {
		t.Errorf("permissions %v", p)
	}
	if strings.Join(other, " ") != "Bash(git:*) Read mcp__github__get_issue" {
		t.Errorf("other tools %q", other)
	}
	if _, _, err := ParseAllowedTools("htpp(x)"); err == nil || !strings.Contains(err.Error(), `unknown op "htpp"`) {
		t.Errorf("a typo: %v", err)
	}
	if _, err := ParseGrant("Read", ""); err == nil {
		t.Error("a grant in config.yaml took another agent's tool")
	}
}
