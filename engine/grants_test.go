package engine

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/agentos/agentos/broker"
	"github.com/agentos/agentos/engine/wire"
)

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadConfigReadsSkillSettingsAndGrants(t *testing.T) {
	cfg, err := LoadConfig(writeConfig(t, `skills:
  openai:
    settings: {base_url: "http://127.0.0.1:1234/v1", models: [gpt-4o-mini], retry: {count: 3}}
  notes:
    grant:
      - files(read ~/Notes)
      - "http(api.example.com) secrets(notion)"
`))
	if err != nil {
		t.Fatal(err)
	}
	o := cfg.Skills["openai"].Settings
	if o["base_url"] != "http://127.0.0.1:1234/v1" || !slices.Equal(o["models"].([]any), []any{"gpt-4o-mini"}) {
		t.Fatalf("settings: %#v", o)
	}
	if b, err := json.Marshal(o); err != nil || !strings.Contains(string(b), `"retry":{"count":3}`) {
		t.Fatalf("nested settings do not travel as JSON: %s %v", b, err)
	}
	g := cfg.Skills["notes"].Grant
	if len(g) != 2 || g[0] != (broker.Grant{Text: "files(read ~/Notes)", Line: 6}) || g[1].Line != 7 {
		t.Fatalf("grants: %+v", g)
	}
}

func TestLoadConfigRejectsABadSkillsEntryNamingItsLine(t *testing.T) {
	for name, tc := range map[string]struct{ body, want string }{
		"unknown key":      {"skills:\n  notes:\n    grants: [graph]\n", "line 3"},
		"bad grant":        {"skills:\n  notes:\n    grant:\n      - graph(read)\n      - files(read Notes)\n", "line 5: skills.notes.grant: grant: files scope \"Notes\""},
		"unknown op":       {"skills:\n  notes:\n    grant: [\"shell(ls)\"]\n", "line 3: skills.notes.grant: grant: unknown op \"shell\""},
		"grant not string": {"skills:\n  notes:\n    grant:\n      - {files: read}\n", "line 4: a grant is a string"},
		"settings a list":  {"skills:\n  notes:\n    settings: [a, b]\n", "line 3"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := LoadConfig(writeConfig(t, tc.body))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

// TestCallCarriesTheFilesGrantsAndSettings runs discovery for real on a
// home with a config.yaml: the call the runtime builds for the runner holds
// the user's files grants (what the sandbox lets it reach) and settings, and
// an edit of config.yaml is picked up by the next reload.
func TestCallCarriesTheFilesGrantsAndSettings(t *testing.T) {
	if _, err := os.Stat("/usr/bin/python3"); err != nil {
		t.Skip("no /usr/bin/python3")
	}
	home := t.TempDir()
	paths := wire.PathsFor(home)
	dir := filepath.Join(paths.SkillsDir, "notes")
	for _, d := range []string{dir, filepath.Dir(paths.AuditLog)} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	md := "---\nname: notes\ndescription: Reads notes.\nallowed-tools: graph(read) files(write ~/Everything)\n---\n"
	os.WriteFile(filepath.Join(dir, "SKILL.md"), []byte(md), 0o600)
	os.WriteFile(filepath.Join(dir, "tools.py"), []byte("from agentos import tool\n@tool\ndef read() -> dict:\n    return {}\n"), 0o600)
	os.WriteFile(paths.Config, []byte(`python: /usr/bin/python3
skills:
  notes:
    settings: {folder: Inbox}
    grant: ["files(read ~/Notes /srv/team/notes) files(write ~/Notes/out)"]
`), 0o600)
	ctx := context.Background()
	rt, err := newSkillsRuntime(ctx, paths, runSettings{python: "/usr/bin/python3"}, nil, nil, NewBus(16), slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rt.audit.Close()
	rt.home = "/home/ann"
	rt.reload(ctx, true)
	s, tool, err := rt.resolveTool("notes", "read")
	if err != nil {
		t.Fatal(err)
	}
	c := rt.newCall(&Job{Job: wire.Job{ID: "j1"}}, s, tool, []byte("{}"))
	if !slices.Equal(c.ReadPaths, []string{"/home/ann/Notes", "/srv/team/notes"}) || !slices.Equal(c.WritePaths, []string{"/home/ann/Notes/out"}) {
		t.Fatalf("call paths: read %q write %q", c.ReadPaths, c.WritePaths)
	}
	if string(c.Settings) != `{"folder":"Inbox"}` {
		t.Fatalf("call settings %s", c.Settings)
	}
	if !s.Permissions.Allows(broker.OpGraph, "read") || s.Permissions.Allows(broker.OpGraph, "write") {
		t.Fatalf("effective permissions lost the skill's own: %s", s.Permissions)
	}

	// The user takes the write grant back: no restart needed.
	os.WriteFile(paths.Config, []byte("python: /usr/bin/python3\nskills:\n  notes:\n    grant: [\"files(read ~/Notes)\"]\n"), 0o600)
	if !rt.reload(ctx, false) {
		t.Fatal("an edit of config.yaml did not reload the skills")
	}
	s, tool, _ = rt.resolveTool("notes", "read")
	c = rt.newCall(&Job{Job: wire.Job{ID: "j2"}}, s, tool, []byte("{}"))
	if !slices.Equal(c.ReadPaths, []string{"/home/ann/Notes"}) || c.WritePaths != nil || c.Settings != nil {
		t.Fatalf("after the edit: read %q write %q settings %s", c.ReadPaths, c.WritePaths, c.Settings)
	}

	// A config.yaml that no longer loads keeps the last good grants.
	os.WriteFile(paths.Config, []byte("skills:\n  notes:\n    grant: [\"files(read Notes)\"]\n"), 0o600)
	rt.reload(ctx, false)
	s, tool, _ = rt.resolveTool("notes", "read")
	if c = rt.newCall(&Job{Job: wire.Job{ID: "j3"}}, s, tool, []byte("{}")); !slices.Equal(c.ReadPaths, []string{"/home/ann/Notes"}) {
		t.Fatalf("after a broken edit: read %q", c.ReadPaths)
	}
}
