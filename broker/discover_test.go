package broker

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agentos/agentos/sdk"
)

// testDiscoverer runs discovery with the real SDK, extracted as the engine
// extracts it, on the real interpreter.
func testDiscoverer(t *testing.T) *Discoverer {
	t.Helper()
	python, err := FindPython(context.Background(), "")
	if err != nil {
		t.Skip("no python3:", err)
	}
	dir, err := sdk.Extract(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return NewDiscoverer(python, dir)
}

func writeSkill(t *testing.T, root, id, skillMD string, files map[string]string) string {
	t.Helper()
	dir := filepath.Join(root, id)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "SKILL.md"), []byte(skillMD), 0o644)
	for name, src := range files {
		os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644)
	}
	return dir
}

const demoTools = `from agentos import provides, returns, timeout, tool

@provides("web.read", models=["a", "b"])
@returns("webpage")
@timeout(30)
def read(url: str, max_bytes: int = 100000) -> dict:
    """Fetch a web page and return its title and text.

    Longer explanation.
    """
    return {"url": url}

@tool
async def ping(n: int | None = None) -> int:
    return n or 0

def helper():
    return 1
`

func TestDiscoverFindsToolsBySchemaWithoutImporting(t *testing.T) {
	d := testDiscoverer(t)
	root := t.TempDir()
	writeSkill(t, root, "demo", "---\nname: demo\ndescription: Demo skill for tests.\nallowed-tools: http(example.com)\n---\nGuide.\n",
		map[string]string{"tools.py": demoTools + "\nraise SystemExit('importing me is a bug')\n"})
	skills := d.Discover(context.Background(), []Root{{Dir: root, Source: "user"}})
	if len(skills) != 1 || skills[0].Invalid != "" {
		t.Fatalf("skills: %+v", skills[0])
	}
	s := skills[0]
	if len(s.Tools) != 2 {
		t.Fatalf("tools: %+v", s.Tools)
	}
	read := s.Tool("read")
	if read == nil || read.Module != "tools" || read.Returns != "webpage" || read.Timeout != 30 ||
		read.Description != "Fetch a web page and return its title and text." || len(read.Provides) != 1 ||
		read.Provides[0].Capability != "web.read" {
		t.Fatalf("read: %+v", read)
	}
	var schema struct {
		Properties map[string]map[string]any `json:"properties"`
		Required   []string                  `json:"required"`
	}
	if err := json.Unmarshal(read.Params, &schema); err != nil {
		t.Fatal(err)
	}
	if schema.Properties["url"]["type"] != "string" || schema.Properties["max_bytes"]["type"] != "integer" ||
		len(schema.Required) != 1 || schema.Required[0] != "url" {
		t.Fatalf("schema: %s", read.Params)
	}
	if p := s.Tool("ping"); p == nil || !p.Async {
		t.Fatalf("ping: %+v", p)
	}
	if s.Tool("helper") != nil {
		t.Fatal("an undecorated function became a tool")
	}
}

func TestDiscoverListsInvalidSkillsWithTheReason(t *testing.T) {
	d := testDiscoverer(t)
	root := t.TempDir()
	writeSkill(t, root, "broken-syntax", "---\nname: broken-syntax\ndescription: d\n---\n", map[string]string{"tools.py": "def (:\n"})
	writeSkill(t, root, "wrong-name", "---\nname: other\ndescription: d\n---\n", nil)
	os.MkdirAll(filepath.Join(root, "no-skill-md"), 0o755)
	skills := d.Discover(context.Background(), []Root{{Dir: root, Source: "user"}})
	want := map[string]string{"broken-syntax": "tools.py", "wrong-name": "folder name", "no-skill-md": "no SKILL.md"}
	if len(skills) != len(want) {
		t.Fatalf("%d skills", len(skills))
	}
	for _, s := range skills {
		if !strings.Contains(s.Invalid, want[s.ID]) {
			t.Errorf("%s: invalid %q, want it to mention %q", s.ID, s.Invalid, want[s.ID])
		}
	}
}

func TestLaterRootOverridesAndCacheFollowsContent(t *testing.T) {
	d := testDiscoverer(t)
	bundled, user := t.TempDir(), t.TempDir()
	md := "---\nname: demo\ndescription: d\n---\n"
	writeSkill(t, bundled, "demo", md, map[string]string{"tools.py": demoTools})
	dir := writeSkill(t, user, "demo", md, map[string]string{"tools.py": "from agentos import tool\n\n@tool\ndef only() -> int:\n    return 1\n"})
	roots := []Root{{Dir: bundled, Source: "bundled"}, {Dir: user, Source: "user"}}
	s := d.Discover(context.Background(), roots)[0]
	if s.Source != "user" || len(s.Tools) != 1 || len(s.Warnings) == 0 {
		t.Fatalf("override: %+v", s)
	}
	// An edit is seen on the next discovery.
	os.WriteFile(filepath.Join(dir, "tools.py"), []byte("from agentos import tool\n\n@tool\ndef renamed() -> int:\n    return 1\n"), 0o644)
	s = d.Discover(context.Background(), roots)[0]
	if s.Tool("renamed") == nil {
		t.Fatalf("edit not picked up: %+v", s.Tools)
	}
}

// A skill that is wrong says so in Invalid and InvalidErr; only a parser
// that could not do its job is ErrDiscovery, the sign to try again.
func TestDiscoveryFailureIsToldFromAnInvalidSkill(t *testing.T) {
	python, err := FindPython(context.Background(), "")
	if err != nil {
		t.Skip("no python3:", err)
	}
	md := "---\nname: demo\ndescription: d\n---\n"
	tools := map[string]string{"tools.py": "from agentos import tool\n\n@tool\ndef ok() -> int:\n    return 1\n"}

	// A parser that fails, and one that prints something else than its report.
	broken := t.TempDir()
	os.WriteFile(filepath.Join(broken, "agentos_discover.py"), []byte("import sys\nsys.exit('cannot start')\n"), 0o644)
	chatty := t.TempDir()
	os.WriteFile(filepath.Join(chatty, "agentos_discover.py"), []byte("print('hello')\n"), 0o644)
	for name, sdkDir := range map[string]string{"exits": broken, "not json": chatty, "missing": t.TempDir()} {
		t.Run(name, func(t *testing.T) {
			root := t.TempDir()
			writeSkill(t, root, "demo", md, tools)
			s := NewDiscoverer(python, sdkDir).Discover(context.Background(), []Root{{Dir: root, Source: "user"}})[0]
			if !errors.Is(s.InvalidErr, ErrDiscovery) || s.Invalid != s.InvalidErr.Error() {
				t.Fatalf("invalid %q, err %v: want ErrDiscovery", s.Invalid, s.InvalidErr)
			}
		})
	}

	// The skill's own faults are not.
	d := testDiscoverer(t)
	root := t.TempDir()
	writeSkill(t, root, "syntax", "---\nname: syntax\ndescription: d\n---\n", map[string]string{"tools.py": "def (:\n"})
	writeSkill(t, root, "badmd", "---\nname: other\ndescription: d\n---\n", nil)
	os.MkdirAll(filepath.Join(root, "nomd"), 0o755)
	for _, s := range d.Discover(context.Background(), []Root{{Dir: root, Source: "user"}}) {
		if s.InvalidErr == nil || s.Invalid != s.InvalidErr.Error() || errors.Is(s.InvalidErr, ErrDiscovery) {
			t.Errorf("%s: invalid %q, err %v: want the skill's own error", s.ID, s.Invalid, s.InvalidErr)
		}
	}
}

// What the parser warns about a file (not about one tool) reaches the
// skill's warnings, named by file, and survives the cache.
func TestDiscoverKeepsTheParsersFileWarnings(t *testing.T) {
	d := testDiscoverer(t)
	root := t.TempDir()
	src := `from agentos import tool

class Box:
    @tool
    def inside(self) -> int:
        return 1

@tool
def _private() -> int:
    return 1

@tool
def twice(x: int) -> int:
    """Once."""
    return x

@tool
def twice(x: int) -> int:
    """Twice."""
    return x
`
	writeSkill(t, root, "demo", "---\nname: demo\ndescription: d\n---\n", map[string]string{"tools.py": src})
	for round := range 2 { // the second discovery comes from the cache
		s := d.Discover(context.Background(), []Root{{Dir: root, Source: "user"}})[0]
		if s.Invalid != "" {
			t.Fatal(s.Invalid)
		}
		got := strings.Join(s.Warnings, "\n")
		for _, want := range []string{
			"tools.py: line 5: Box.inside is not a tool",
			"tools.py: line 9: _private is not a tool",
			"tools.py: line 18: twice is defined again",
		} {
			if !strings.Contains(got, want) {
				t.Errorf("round %d: warnings %q lack %q", round, s.Warnings, want)
			}
		}
		if b, _ := json.Marshal(s); !strings.Contains(string(b), `"warnings":["tools.py: line`) || strings.Contains(string(b), "InvalidErr") {
			t.Errorf("round %d: the skill as listed: %s", round, b)
		}
	}
}
