package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/agentos/agentos/engine/wire"
	"github.com/agentos/agentos/internal/testkit"
)

// The web UI's drawings of the graph in headless Chromium
// (testdata/graphviews.mjs): a node's neighbourhood by title, stable,
// navigable by click and keyboard, with a text alternative; depth 2's
// second ring; 500 neighbours grouped by shape and opened; a node linked
// over the socket appearing live; the overview; and the timeline in Los
// Angeles, where 2027-04-15 stays Apr 15. Screenshots go to .ci/artifacts.
func TestGraphViewsInChromium(t *testing.T) {
	tools := requireCITools(t)
	chromium := tools.needChromium(t)
	shots := artifactsDir(t)
	d, url := startDaemonBridge(t, testkit.Home(t))
	c := d.client(t)
	create := func(shape string, fields map[string]any) string {
		var n struct{ ID string }
		call(t, c, wire.MethodCreate, map[string]any{"shape": shape, "fields": fields}, &n)
		return n.ID
	}
	link := func(from, label, to string) {
		call(t, c, wire.MethodLink, map[string]any{"from": from, "label": label, "to": to}, nil)
	}
	garden := create("project", map[string]any{"name": "Garden planner", "status": "active"})
	ada := create("person", map[string]any{"name": "Ada Lovelace"})
	link(garden, "owner", ada)
	task1 := create("task", map[string]any{"title": "Buy seeds", "due": "2027-04-15"})
	for _, tk := range []string{task1,
		create("task", map[string]any{"title": "Plant tomatoes", "due": "2027-05-20"}),
		create("task", map[string]any{"title": "Harvest", "due": "2027-03-01"})} {
		link(tk, "project", garden)
	}
	for _, title := range []string{"Soil notes", "Frost dates"} {
		link(create("note", map[string]any{"title": title}), "project", garden)
	}
	seed := create("note", map[string]any{"title": "Seed order"})
	link(seed, "for", task1)
	hub := create("project", map[string]any{"name": "Reading list"})
	items := make([]map[string]any, 500)
	for i := range items {
		items[i] = map[string]any{"title": fmt.Sprintf("Book %03d", i), "path": fmt.Sprintf("/books/%03d.md", i)}
	}
	var books struct{ IDs []string }
	call(t, c, wire.MethodWrite, map[string]any{"shape": "note", "items": items}, &books)
	for _, id := range books.IDs {
		link(id, "project", hub)
	}
	waitBridge(t, url)

	idsJSON, _ := json.Marshal(map[string]string{"garden": garden, "ada": ada, "task1": task1, "seed": seed, "hub": hub})
	created := ""
	runBrowserScript(t, tools, "graphviews.mjs", 3*time.Minute, []string{"GV_URL=" + url, "GV_SHOTS=" + shots,
		"GV_IDS=" + string(idsJSON), "GV_NODE_MODULES=" + tools.NodeModules, "GV_CHROMIUM=" + chromium},
		func(line string, answer io.Writer) {
			if line == "CREATE" {
				created = create("task", map[string]any{"title": "Compost bin"})
				link(created, "project", garden)
				fmt.Fprintf(answer, "CREATED %s\n", created)
			}
		})
	if created == "" {
		t.Error("the script never asked for the live node")
	}
	for _, name := range []string{"graph-neighbourhood.png", "graph-clustered.png", "graph-overview.png", "graph-timeline.png"} {
		if _, err := os.Stat(filepath.Join(shots, name)); err != nil {
			t.Errorf("no screenshot: %v", err)
		}
	}
}
