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
