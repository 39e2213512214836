package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agentos/agentos/engine/wire"
	"github.com/agentos/agentos/internal/testkit"
)

// A vault of 1,000 Markdown notes, granted to the notes skill: imported with
// progress, titles, tags and wikilinks; imported again after one file
// changed, nothing doubles; a folder not granted is denied, naming the grant.
func TestNotesImportAThousandFilesOnceAndOnlyGrantedFolders(t *testing.T) {
	vault := filepath.Join(t.TempDir(), "Vault")
	if err := os.MkdirAll(filepath.Join(vault, "daily"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(vault, ".obsidian"), 0o755)
	os.WriteFile(filepath.Join(vault, ".obsidian", "hidden.md"), []byte("# Not a note"), 0o644)
	write := func(rel, text string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(vault, rel), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("Garden planner.md", "---\ntitle: ignored, the heading wins\ntags: [garden, plans]\n---\n# Garden planner\n\nSee [[Tomatoes]] and [[daily/2027-04-15|the day]]. #spring\n\n```\n#not-a-tag [[Not a link]]\n```\n")
	write("Tomatoes.md", "No heading here, tagged #garden and #veg.\nBack to [[Garden planner]].\n")
	write("daily/2027-04-15.md", "---\ntags:\n  - journal\n---\n# April 15\nPlanted the seedlings.\n")
	for i := 0; i < 997; i++ {
		write(fmt.Sprintf("n%04d.md", i), fmt.Sprintf("# Note %d\nBody %d #bulk\n", i, i))
	}
	home := testkit.Home(t)
	if err := os.WriteFile(filepath.Join(home, "config.yaml"),
		[]byte("skills:\n  notes:\n    grant: [\"files(read "+vault+")\"]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := startDaemon(t, home).client(t)
	type imported struct{ Files, Created, Updated, Links int }
	run := func() (imported, wire.Job) {
		t.Helper()
		var started struct{ Job string }
		call(t, c, wire.MethodInvoke, map[string]any{"capability": "notes.import", "params": map[string]any{"path": vault}, "async": true}, &started)
		j := waitJob(t, c, started.Job)
		var got imported
		if j.State != wire.JobCompleted || json.Unmarshal(j.Result, &got) != nil {
			t.Fatalf("notes.import: %+v", j)
		}
		return got, j
	}
	got, j := run()
	if got != (imported{Files: 1000, Created: 1000, Links: 3}) {
		t.Errorf("first import: %+v", got)
	}
	if j.Progress == nil || j.Progress.Current != 1000 || j.Progress.Total != 1000 {
		t.Errorf("progress: %+v", j.Progress)
	}

	var notes struct {
		Nodes []struct {
			ID     string
			Fields map[string]any
		}
	}
	call(t, c, wire.MethodRead, map[string]any{"shape": "note", "where": map[string]any{"path": filepath.Join(vault, "Garden planner.md")}}, &notes)
	if len(notes.Nodes) != 1 {
		t.Fatalf("the garden planner note: %+v", notes)
	}
	planner := notes.Nodes[0]
	if planner.Fields["title"] != "Garden planner" || fmt.Sprint(planner.Fields["tags"]) != "[garden plans spring]" {
		t.Errorf("planner fields: %v", planner.Fields)
	}
	var raw json.RawMessage
	call(t, c, wire.MethodRead, map[string]any{"id": planner.ID}, &raw)
	if strings.Count(string(raw), `"links"`) == 0 {
		t.Errorf("the planner has no links: %s", raw)
	}
	call(t, c, wire.MethodRead, map[string]any{"shape": "note", "where": map[string]any{"path": filepath.Join(vault, "Tomatoes.md")}}, &notes)
	if len(notes.Nodes) != 1 || notes.Nodes[0].Fields["title"] != "Tomatoes" || fmt.Sprint(notes.Nodes[0].Fields["tags"]) != "[garden veg]" {
		t.Errorf("tomatoes: %+v", notes.Nodes)
	}

	write("Tomatoes.md", "Now with a heading after all\n# Tomatoes, revised\n")
	again, _ := run()
	if again.Created != 0 || again.Files != 1000 || again.Links != 2 {
		t.Errorf("second import: %+v", again)
	}
	var all struct{ Nodes []struct{ ID string } }
	call(t, c, wire.MethodRead, map[string]any{"shape": "note", "limit": 1000}, &all)
	if len(all.Nodes) != 1000 {
		t.Errorf("%d notes after importing twice, want 1000", len(all.Nodes))
	}
	call(t, c, wire.MethodRead, map[string]any{"shape": "note", "where": map[string]any{"path": filepath.Join(vault, "Tomatoes.md")}}, &notes)
	if len(notes.Nodes) != 1 || notes.Nodes[0].Fields["title"] != "Tomatoes, revised" {
		t.Errorf("the changed file's note: %+v", notes.Nodes)
	}

	other := t.TempDir()
	var out any
	err := c.Call(context.Background(), wire.MethodInvoke, map[string]any{"capability": "notes.import", "params": map[string]any{"path": other}}, &out)
	var we *wire.Error
	if !errors.As(err, &we) || we.Kind != wire.KindDenied || !strings.Contains(we.Message, "files(read "+other+")") {
		t.Fatalf("an ungranted folder: %v", err)
	}
}
