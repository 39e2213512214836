package agents

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseReadsAnAgentFile(t *testing.T) {
	a, err := Parse("/a/researcher.md", "home", []byte("\xef\xbb\xbf---\r\nname: researcher\r\ndescription: Reads pages.\r\n"+
		"tools: web.read, data.search Read mcp__github__search\r\nmodel: inherit\r\nmax_turns: 5\r\ndelegate: [writer]\r\n"+
		"mission: Check the feeds.\r\nevery: 1h\r\ncolor: blue\r\n---\r\n\r\nYou research.\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	if a.Name != "researcher" || a.Description != "Reads pages." || strings.Join(a.Tools, " ") != "web.read data.search" ||
		strings.Join(a.Ignored, " ") != "Read mcp__github__search" || a.Model != "" || a.MaxTurns != 5 ||
		strings.Join(a.Delegate, " ") != "writer" || a.Mission != "Check the feeds." || a.Every != time.Hour ||
		a.Prompt != "You research." || a.Extensions["color"] != "blue" || a.Source != "home" {
		t.Fatalf("%+v", a)
	}
	b, err := Parse("b.md", "home", []byte("---\nname: b\ndescription: d\ntools: [lab.x]\n---\nGo.\n"))
	if err != nil || b.MaxTurns != DefaultMaxTurns || b.Every != 0 {
		t.Fatalf("defaults: %+v %v", b, err)
	}
}

func TestParseRefusesBadFilesWithTheReason(t *testing.T) {
	for _, c := range []struct{ file, want string }{
		{"no frontmatter", "starts with a YAML frontmatter"},
		{"---\nname: a\n", "no closing ---"},
		{"---\nname: [a\n---\nx", "not valid YAML"},
		{"---\ndescription: d\ntools: x\n---\nx", "name is required"},
		{"---\nname: Bad_Name\ndescription: d\ntools: x\n---\nx", `name "Bad_Name"`},
		{"---\nname: a\ntools: x\n---\nx", "description is required"},
		{"---\nname: a\ndescription: " + strings.Repeat("é", 1025) + "\ntools: x\n---\nx", "1025 characters"},
		{"---\nname: a\ndescription: d\n---\nx", "tools is required"},
		{"---\nname: a\ndescription: d\ntools: [Read]\n---\nx", "tools is required"},
		{"---\nname: a\ndescription: d\ntools: [web/read]\n---\nx", "not a capability name"},
		{"---\nname: a\ndescription: d\ntools: x\nmax_turns: 0\n---\nx", "max_turns must be"},
		{"---\nname: a\ndescription: d\ntools: x\nmax_turns: lots\n---\nx", "max_turns must be"},
		{"---\nname: a\ndescription: d\ntools: x\ndelegate: [a]\n---\nx", "cannot delegate to itself"},
		{"---\nname: a\ndescription: d\ntools: x\nmission: m\n---\nx", "mission needs every"},
		{"---\nname: a\ndescription: d\ntools: x\nevery: 1h\n---\nx", "every needs a mission"},
		{"---\nname: a\ndescription: d\ntools: x\nmission: m\nevery: 10ms\n---\nx", "at least 1s"},
		{"---\nname: a\ndescription: d\ntools: x\nfavourite: tea\n---\nx", "unexpected frontmatter fields favourite"},
		{"---\nname: a\ndescription: d\ntools: x\n---\n  \n", "the body is empty"},
		{"---\nname: a\ndescription: d\ntools: {x: 1}\n---\nx", "tools must be a list"},
	} {
		if _, err := Parse("a.md", "home", []byte(c.file)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.file, err, c.want)
		}
	}
}

// Load lists good files by name and bad ones with the reason; the home's
// agent wins over a skill's of the same name, and edits show at once.
func TestLoadListsAgentsAndProblems(t *testing.T) {
	home, skill := t.TempDir(), t.TempDir()
	write := func(dir, name, body string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(home, "alpha.md", "---\nname: alpha\ndescription: from the home\ntools: x\n---\nA.\n")
	write(home, "broken.md", "---\nname: broken\n---\nB.\n")
	write(home, "notes.txt", "not an agent")
	write(skill, "alpha.md", "---\nname: alpha\ndescription: from a skill\ntools: x\n---\nA.\n")
	write(skill, "beta.md", "---\nname: beta\ndescription: b\ntools: x\n---\nB.\n")
	dirs := []Dir{{home, "home"}, {skill, "skill:s"}, {filepath.Join(home, "missing"), "skill:t"}}
	l := Load(dirs)
	if len(l.Agents) != 2 || l.Agents[0].Name != "alpha" || l.Agents[0].Description != "from the home" || l.Agents[1].Name != "beta" {
		t.Fatalf("agents %+v", l.Agents)
	}
	if len(l.Problems) != 2 || !strings.Contains(l.Problems[0].Reason, "description is required") ||
		!strings.Contains(l.Problems[1].Reason, "another agent is called alpha") {
		t.Fatalf("problems %+v", l.Problems)
	}
	write(home, "broken.md", "---\nname: broken\ndescription: fixed\ntools: x\n---\nB.\n")
	if l := Load(dirs); l.Get("broken") == nil {
		t.Errorf("the fixed file is not loaded: %+v", l)
	}
}
