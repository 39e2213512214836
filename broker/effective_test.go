package broker

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

func TestEffectivePermissionsJoinAllowedToolsGrantsAndSettingsURLs(t *testing.T) {
	perms, err := ParsePermissions("http(api.openai.com) secrets(openai) files(read ~/Wanted)")
	if err != nil {
		t.Fatal(err)
	}
	s := &Skill{ID: "openai", Permissions: perms}
	sc := SkillConfig{
		Settings: map[string]any{
			"base_url": "http://127.0.0.1:1234/v1",
			"mirrors":  []any{"https://api.openai.com/v1", "ftp://files.example.com/", "not a url", map[string]any{"u": "http://[::1]:8080/x"}},
			"count":    3,
		},
		Grant: []Grant{{Text: "secrets(openai azure) files(read ~/Notes write /tmp/out)", Line: 4}, {Text: "capability(llm)", Line: 5}},
	}
	got, eff := ApplyConfig(s, sc, "/home/ann")
	if got == s || s.Permissions.Allows(OpSecrets, "azure") {
		t.Fatal("applyConfig changed the discovered skill instead of a copy")
	}
	if want := "capability(llm) files(read /home/ann/Notes) files(write /tmp/out) http(127.0.0.1:1234 [::1]:8080 api.openai.com api.openai.com:443) secrets(azure openai)"; got.Permissions.String() != want {
		t.Fatalf("effective:\n got %s\nwant %s", got.Permissions.String(), want)
	}
	if got.Permissions.Allows(OpHTTP, "127.0.0.1:9999") || got.Permissions.Allows(OpHTTP, "files.example.com:21") {
		t.Fatal("a settings URL opened more than its host:port")
	}
	if !slices.Equal(eff.Read, []string{"/home/ann/Notes"}) || !slices.Equal(eff.Write, []string{"/tmp/out"}) {
		t.Fatalf("files: read %q write %q", eff.Read, eff.Write)
	}
	from := map[string][]string{}
	for _, ps := range eff.Sources {
		from[ps.Permission] = ps.From
	}
	for perm, want := range map[string][]string{
		"http(127.0.0.1:1234)":        {"settings.base_url"},
		"http([::1]:8080)":            {"settings.mirrors[3].u"},
		"http(api.openai.com:443)":    {"settings.mirrors[0]"},
		"http(api.openai.com)":        {"allowed-tools"},
		"secrets(openai)":             {"allowed-tools", "grant"},
		"secrets(azure)":              {"grant"},
		"files(read /home/ann/Notes)": {"grant"},
		"capability(llm)":             {"grant"},
	} {
		if !slices.Equal(from[perm], want) {
			t.Errorf("%s from %q, want %q", perm, from[perm], want)
		}
	}
	if _, asked := from["files(read ~/Wanted)"]; asked || len(got.Warnings) != 1 || !strings.Contains(got.Warnings[0], "files(read ~/Wanted)") {
		t.Fatalf("a SKILL.md files request must be a warning, not a permission: %q %v", got.Warnings, from)
	}
	var settings map[string]any
	if err := json.Unmarshal(eff.Settings, &settings); err != nil || settings["base_url"] != "http://127.0.0.1:1234/v1" {
		t.Fatalf("settings for the call: %s %v", eff.Settings, err)
	}
}

func TestEffectivePermissionsWithoutConfigAreTheSkillsOwn(t *testing.T) {
	perms, _ := ParsePermissions("graph(read)")
	got, eff := ApplyConfig(&Skill{ID: "x", Permissions: perms}, SkillConfig{}, "")
	if got.Permissions.String() != "graph(read)" || eff.Settings != nil || eff.Read != nil || len(eff.Sources) != 1 {
		t.Fatalf("%s %+v", got.Permissions, eff)
	}
	tilde, eff := ApplyConfig(&Skill{ID: "x"}, SkillConfig{Grant: []Grant{{Text: "files(read ~/Notes)", Line: 3}}}, "")
	if len(eff.Read) != 0 || len(tilde.Warnings) != 1 || !strings.Contains(tilde.Warnings[0], "line 3") {
		t.Fatalf("a ~ grant with no home: read %q warnings %q", eff.Read, tilde.Warnings)
	}
}
