package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/agentos/agentos/engine/wire"
	"github.com/agentos/agentos/internal/testkit"
)

const configuredSkillTools = `from agentos import capability, http, secrets, settings, tool

@tool
def base() -> dict:
    return {"base_url": settings.get("base_url"), "model": settings.get("model", "default-model"),
            "nested": settings.get("backends", {}).get("alt")}

@tool
def fetch(url: str) -> dict:
    r = http.get(url)
    return {"status": r.status, "text": r.text}

@tool
def secret(name: str) -> str:
    return secrets.get(name)

@tool
def shout(text: str) -> dict:
    return capability("text.shout").invoke({"text": text})
`

const shouterTools = `from agentos import provides

@provides("text.shout")
def shout(text: str) -> dict:
    return {"text": text.upper()}
`

func runSkillTool(t *testing.T, c *wire.Client, skill, tool string, params map[string]any, out any) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return c.Call(ctx, "skills.run", map[string]any{"skill": skill, "tool": tool, "params": params}, out)
}

// TestSettingsAndGrantsFromConfigYAML: the user's settings reach the skill,
// the URL hosts in them join its http scope and nothing more, grants of
// secrets and capabilities take effect, and skills show says where each
// permission came from.
func TestSettingsAndGrantsFromConfigYAML(t *testing.T) {
	local := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "local model says hi") }))
	defer local.Close()
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "must not be reached") }))
	defer other.Close()
	alt := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "alt backend") }))
	defer alt.Close()

	home := testkit.Home(t)
	// The SKILL.md itself allows no http, secrets or capability at all, and
	// asks for files it will not get.
	testkit.AddSkill(t, home, "configured", "graph(read) files(read ~/Wanted)", configuredSkillTools)
	testkit.AddSkill(t, home, "shouter", "", shouterTools)
	cfg := fmt.Sprintf(`skills:
  configured:
    settings:
      base_url: %s/v1
      backends: {alt: "%s/api"}
      model: local-7b
    grant:
      - secrets(granted_token) capability(text.shout)
      - files(read ~/Notes) files(write /tmp/agentos-grant-out)
`, local.URL, alt.URL)
	if err := os.WriteFile(wire.PathsFor(home).Config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, home)
	c := d.client(t)
	if r := agentosStdin(t, home, "granted-value\n", "secrets", "set", "granted_token"); r.code != 0 {
		t.Fatalf("secrets set: %+v", r)
	}
	if r := agentosStdin(t, home, "not-granted\n", "secrets", "set", "other_token"); r.code != 0 {
		t.Fatalf("secrets set: %+v", r)
	}

	t.Run("the skill reads its settings", func(t *testing.T) {
		var got map[string]any
		if err := runSkillTool(t, c, "configured", "base", nil, &got); err != nil {
			t.Fatal(err)
		}
		if got["base_url"] != local.URL+"/v1" || got["model"] != "local-7b" || got["nested"] != alt.URL+"/api" {
			t.Fatalf("settings seen by the skill: %v", got)
		}
	})

	t.Run("a settings URL's host:port is reachable, another port is denied", func(t *testing.T) {
		for _, u := range []string{local.URL + "/v1/models", alt.URL + "/x"} {
			var got struct {
				Status int
				Text   string
			}
			if err := runSkillTool(t, c, "configured", "fetch", map[string]any{"url": u}, &got); err != nil || got.Status != 200 {
				t.Fatalf("fetch %s: %+v %v", u, got, err)
			}
		}
		otherHost := strings.TrimPrefix(other.URL, "http://")
		err := runSkillTool(t, c, "configured", "fetch", map[string]any{"url": other.URL + "/"}, nil)
		wantErr(t, err, wire.KindDenied, "http("+otherHost+")")
	})

	t.Run("a granted secret is readable, another is not", func(t *testing.T) {
		var v string
		if err := runSkillTool(t, c, "configured", "secret", map[string]any{"name": "granted_token"}, &v); err != nil || v != "granted-value" {
			t.Fatalf("granted secret: %q %v", v, err)
		}
		wantErr(t, runSkillTool(t, c, "configured", "secret", map[string]any{"name": "other_token"}, nil), wire.KindDenied, "secrets(other_token)")
	})

	t.Run("a granted capability can be invoked", func(t *testing.T) {
		var got map[string]any
		if err := runSkillTool(t, c, "configured", "shout", map[string]any{"text": "hi"}, &got); err != nil {
			t.Fatal(err)
		}
		if b, _ := json.Marshal(got); !strings.Contains(string(b), "HI") {
			t.Fatalf("nested capability result: %s", b)
		}
	})

	userHome, err := os.UserHomeDir()
	if err != nil {
		t.Fatal(err)
	}
	notes := filepath.Join(userHome, "Notes")

	t.Run("skills show lists each effective permission with its source", func(t *testing.T) {
		r := agentos(t, home, "skills", "show", "configured")
		if r.code != 0 {
			t.Fatalf("skills show: %+v", r)
		}
		for _, want := range []string{
			"graph(read)  from allowed-tools",
			"http(" + strings.TrimPrefix(local.URL, "http://") + ")  from settings.base_url",
			"http(" + strings.TrimPrefix(alt.URL, "http://") + ")  from settings.backends.alt",
			"secrets(granted_token)  from grant",
			"capability(text.shout)  from grant",
			"files(read " + notes + ")  from grant",
			"files(write /tmp/agentos-grant-out)  from grant",
			"SKILL.md asks for files(read ~/Wanted)",
		} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("skills show lacks %q:\n%s", want, r.stdout)
			}
		}
		if strings.Contains(r.stdout, "files(read ~/Wanted)  from") {
			t.Errorf("a SKILL.md's files request shows as a permission:\n%s", r.stdout)
		}
	})

	t.Run("skills.get and skills.list answer the effective permissions", func(t *testing.T) {
		var got struct {
			Permissions       map[string][]string `json:"permissions"`
			PermissionSources []struct {
				Permission string   `json:"permission"`
				From       []string `json:"from"`
			} `json:"permission_sources"`
		}
		call(t, c, "skills.get", map[string]any{"id": "configured"}, &got)
		if len(got.Permissions["secrets"]) != 1 || got.Permissions["secrets"][0] != "granted_token" ||
			len(got.Permissions["files"]) != 2 || len(got.PermissionSources) != 7 {
			t.Fatalf("skills.get: %+v", got)
		}
		var list struct {
			Skills []struct {
				ID                string `json:"id"`
				PermissionSources []any  `json:"permission_sources"`
			} `json:"skills"`
		}
		call(t, c, "skills.list", nil, &list)
		for _, s := range list.Skills {
			if s.ID == "configured" && len(s.PermissionSources) != 7 {
				t.Fatalf("skills.list: %+v", s)
			}
		}
	})

	t.Run("an edit of config.yaml applies without a restart", func(t *testing.T) {
		edited := strings.Replace(cfg, "model: local-7b", "model: local-13b", 1)
		if err := os.WriteFile(wire.PathsFor(home).Config, []byte(edited), 0o600); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(20 * time.Second)
		for {
			var got map[string]any
			if err := runSkillTool(t, c, "configured", "base", nil, &got); err != nil {
				t.Fatal(err)
			}
			if got["model"] == "local-13b" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the edited setting never reached the skill: %v", got)
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
}

func TestAnInvalidGrantStopsTheEngineNamingTheLine(t *testing.T) {
	home := testkit.Home(t)
	cfg := "skills:\n  notes:\n    grant:\n      - files(read ~/Notes)\n      - files(read Notes)\n"
	if err := os.WriteFile(wire.PathsFor(home).Config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	r := agentos(t, home, "engine", "--no-bridge")
	if r.code == 0 || !strings.Contains(r.stderr, "line 5") || !strings.Contains(r.stderr, "skills.notes.grant") {
		t.Fatalf("engine with a bad grant: %+v", r)
	}
}
