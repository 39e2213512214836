package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/agentos/agentos/engine/wire"
	"github.com/agentos/agentos/internal/testkit"
)

// Call dirs an engine killed mid-call left in its home are swept when the
// next engine starts; skill calls then work in the same place.
func TestEngineSweepsCallDirsADeadEngineLeft(t *testing.T) {
	home := testkit.Home(t)
	paths := wire.PathsFor(home)
	stale := filepath.Join(paths.Tmp, "agentos-call-123456")
	if err := os.MkdirAll(filepath.Join(stale, "work"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(stale, "work", "scratch"), []byte("left by a killed engine"), 0o600); err != nil {
		t.Fatal(err)
	}
	testkit.AddSkill(t, home, "echo", "graph(read)", "from agentos import tool\n\n@tool\ndef echo(text: str) -> str:\n    return text\n")
	d := startDaemon(t, home)
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Fatalf("the stale call dir is still there: %v", err)
	}
	var got string
	call(t, d.client(t), wire.MethodSkillsRun, map[string]any{"skill": "echo", "tool": "echo", "params": map[string]any{"text": "hi"}}, &got)
	if got != "hi" {
		t.Fatalf("echo = %q", got)
	}
	if entries, _ := os.ReadDir(paths.Tmp); len(entries) != 0 {
		t.Fatalf("a finished call left %v in tmp/", entries)
	}
}
