package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agentos/agentos/engine/wire"
	"github.com/agentos/agentos/internal/testkit"
)

// Feeds as real servers send them: RSS 2.0, RSS 1.0 (RDF), Atom, one in
// ISO-8859-1 that says so only in its XML declaration, and a broken one.
var feedBodies = map[string]struct{ contentType, body string }{
	"/rss2": {"application/rss+xml", `<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>
<title>Garden log</title><link>https://garden.example/</link><description>Notes from the garden</description>
<item><title>Tomatoes in</title><link>https://garden.example/posts/tomatoes</link><guid isPermaLink="false">g-1</guid>
<pubDate>Tue, 01 Dec 2026 10:00:00 +0000</pubDate><description>&lt;p&gt;Planted &lt;b&gt;zebrafish&lt;/b&gt; tomatoes&lt;/p&gt;</description></item>
<item><title>No guid</title><link>https://garden.example/posts/noguid</link><description>Only a link to know it by</description></item>
</channel></rss>`},
	"/rss1": {"application/rdf+xml", `<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel rdf:about="https://old.example/"><title>Old school</title><link>https://old.example/</link><description>RDF site summary</description></channel>
<item rdf:about="https://old.example/1"><title>First RDF item</title><link>https://old.example/1</link><description>Quokkas everywhere</description><dc:date>2026-11-30T08:00:00Z</dc:date></item>
</rdf:RDF>`},
	"/atom": {"application/atom+xml", `<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Atom news</title><link href="https://atom.example/"/><id>urn:feed:1</id><updated>2026-12-01T00:00:00Z</updated>
<entry><title>Atom entry</title><id>urn:entry:1</id><link rel="alternate" href="https://atom.example/e1"/><published>2026-12-01T09:30:00Z</published>
<content type="html">&lt;p&gt;An axolotl appears&lt;/p&gt;</content><author><name>Ada</name></author></entry>
</feed>`},
	"/latin1": {"text/xml", "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><rss version=\"2.0\"><channel><title>Caf\xe9</title><link>https://cafe.example/</link>" +
		"<item><title>Cr\xe8me br\xfbl\xe9e</title><guid>c-1</guid><description>D\xe9j\xe0 vu</description></item></channel></rss>"},
	"/broken": {"application/rss+xml", `<?xml version="1.0"?><rss version="2.0"><channel><title>Broken<item></channel>`},
}

func TestFeedsSyncStoresPostsOnceAndRefusesBrokenFeeds(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, ok := feedBodies[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", f.contentType)
		w.Write([]byte(f.body))
	}))
	defer srv.Close()
	home := testkit.Home(t)
	if err := os.WriteFile(filepath.Join(home, "config.yaml"),
		[]byte("skills:\n  feeds:\n    grant: [\"http("+strings.TrimPrefix(srv.URL, "http://")+")\"]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := startDaemon(t, home).client(t)
	type synced struct {
		Created, Updated int
		IDs              []string
		Items            []map[string]any
		Warnings         []string
	}
	sync := func(path string) synced {
		t.Helper()
		var out synced
		call(t, c, wire.MethodInvoke, map[string]any{"capability": "feeds.sync", "params": map[string]any{"url": srv.URL + path}}, &out)
		if len(out.Warnings) > 0 {
			t.Errorf("%s: warnings %q", path, out.Warnings)
		}
		return out
	}

	first := sync("/rss2")
	if first.Created != 2 || len(first.IDs) != 2 {
		t.Fatalf("rss2: %+v", first)
	}
	if again := sync("/rss2"); again.Created != 0 || again.Updated != 2 || strings.Join(again.IDs, ",") != strings.Join(first.IDs, ",") {
		t.Fatalf("syncing again made copies: %+v, first %v", again, first.IDs)
	}
	if got := first.Items[0]; got["guid"] != "g-1" || got["content"] != "Planted zebrafish tomatoes" || got["published"] != "2026-12-01T10:00:00+00:00" {
		t.Errorf("rss2 post: %+v", got)
	}
	if rss1 := sync("/rss1"); rss1.Created != 1 || rss1.Items[0]["guid"] != "https://old.example/1" || rss1.Items[0]["content"] != "Quokkas everywhere" {
		t.Errorf("rss1: %+v", rss1)
	}
	if atom := sync("/atom"); atom.Created != 1 || atom.Items[0]["guid"] != "urn:entry:1" || atom.Items[0]["url"] != "https://atom.example/e1" ||
		atom.Items[0]["content"] != "An axolotl appears" {
		t.Errorf("atom: %+v", atom)
	}
	if l1 := sync("/latin1"); l1.Created != 1 || l1.Items[0]["title"] != "Crème brûlée" || l1.Items[0]["content"] != "Déjà vu" {
		t.Errorf("latin1: %+v", l1)
	}

	// The posts are in the graph, searchable, each linked to its feed.
	var found struct {
		Hits []struct{ Node struct{ ID string } }
	}
	call(t, c, wire.MethodSearch, map[string]any{"query": "zebrafish"}, &found)
	if len(found.Hits) != 1 || found.Hits[0].Node.ID != first.IDs[0] {
		t.Errorf("search zebrafish: %+v", found)
	}
	var raw json.RawMessage
	call(t, c, wire.MethodRead, map[string]any{"id": first.IDs[0]}, &raw)
	if !strings.Contains(string(raw), `"feed"`) {
		t.Errorf("the post has no feed edge: %s", raw)
	}
	var feeds struct{ Nodes []map[string]any }
	call(t, c, wire.MethodRead, map[string]any{"shape": "feed"}, &feeds)
	if len(feeds.Nodes) != 4 {
		t.Errorf("%d feed nodes, want one per feed synced: %+v", len(feeds.Nodes), feeds.Nodes)
	}

	var out any
	err := c.Call(context.Background(), wire.MethodInvoke, map[string]any{"capability": "feeds.sync", "params": map[string]any{"url": srv.URL + "/broken"}}, &out)
	var we *wire.Error
	if !errors.As(err, &we) || we.Kind != wire.KindInvalid || !strings.Contains(we.Message, "not well-formed") {
		t.Fatalf("broken feed: %v", err)
	}
	var all struct{ Nodes []map[string]any }
	call(t, c, wire.MethodRead, map[string]any{"shape": "post", "limit": 50}, &all)
	if len(all.Nodes) != 5 {
		t.Errorf("%d posts after the broken feed, want the 5 synced before", len(all.Nodes))
	}
}
