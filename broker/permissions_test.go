package broker

import (
	"slices"
	"strings"
	"testing"
)

func TestParsePermissionsReadsScopedOps(t *testing.T) {
	p, err := ParsePermissions("http(api.openai.com localhost:11434) secrets(openai)  graph(read write) capability(llm)")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		op, scope string
		want      bool
	}{
		{OpHTTP, "api.openai.com", true},
		{OpHTTP, "api.openai.com:443", true},
		{OpHTTP, "API.OpenAI.com", true},
		{OpHTTP, "evil.com", false},
		{OpHTTP, "localhost:11434", true},
		{OpHTTP, "localhost:8080", false},
		{OpSecrets, "openai", true},
		{OpSecrets, "github", false},
		{OpGraph, "read", true},
		{OpGraph, "write", true},
		{OpCapability, "llm", true},
		{OpCapability, "web.read", false},
	}
	for _, tc := range cases {
		if got := p.Allows(tc.op, tc.scope); got != tc.want {
			t.Errorf("Allows(%s, %s) = %v, want %v", tc.op, tc.scope, got, tc.want)
		}
	}
}

func TestPermissionsWildcards(t *testing.T) {
	p, err := ParsePermissions("http(*.example.com) graph")
	if err != nil {
		t.Fatal(err)
	}
	if !p.Allows(OpHTTP, "api.example.com") || p.Allows(OpHTTP, "example.com.evil.net") || p.Allows(OpHTTP, "notexample.com") {
		t.Fatalf("subdomain wildcard wrong: %v", p)
	}
	if !p.Allows(OpGraph, "write") {
		t.Fatal("a bare op grants every scope")
	}
	if p.Allows(OpSecrets, "x") {
		t.Fatal("an op not listed is denied")
	}
}

func TestParsePermissionsRejectsTypos(t *testing.T) {
	for _, bad := range []string{"htp(x.com)", "graph(raed)", "http(x.com", "secrets()", "http(https://x.com/)"} {
		if _, err := ParsePermissions(bad); err == nil {
			t.Errorf("%q parsed without error", bad)
		}
	}
	if p, err := ParsePermissions(""); err != nil || len(p) != 0 {
		t.Fatalf("empty allowed-tools: %v %v", p, err)
	}
}

func TestPermissionsIPv6AndDefaultPorts(t *testing.T) {
	p, err := ParsePermissions("http([::1]:11434 api.example.com:443 [fe80::1])")
	if err != nil {
		t.Fatal(err)
	}
	for target, want := range map[string]bool{
		"[::1]:11434":         true,
		"[::1]:80":            false,
		"api.example.com:443": true,
		"api.example.com:80":  false,
		"[fe80::1]:8080":      true,
		"api.example.com":     false,
		"[::2]:11434":         false,
	} {
		if got := p.Allows(OpHTTP, target); got != want {
			t.Errorf("Allows(http, %s) = %v, want %v", target, got, want)
		}
	}
	for _, bad := range []string{"http(host:abc)", "http(host:70000)", "secrets(openai,github)", "capability(LLM!)"} {
		if _, err := ParsePermissions(bad); err == nil {
			t.Errorf("%q parsed without error", bad)
		}
	}
}

func TestParseGrantReadsFilesWithHomeExpanded(t *testing.T) {
	p, err := ParseGrant("files(read ~/Notes /srv/shared/./docs/ write ~/Out) http(api.example.com)", "/home/ann")
	if err != nil {
		t.Fatal(err)
	}
	read, write := p.Files()
	if !slices.Equal(read, []string{"/home/ann/Notes", "/srv/shared/docs"}) || !slices.Equal(write, []string{"/home/ann/Out"}) {
		t.Fatalf("read %q write %q", read, write)
	}
	if got, want := p.String(), "files(read /home/ann/Notes /srv/shared/docs) files(write /home/ann/Out) http(api.example.com)"; got != want {
		t.Fatalf("String() = %q, want %q", got, want)
	}
	again, err := ParseGrant(p.String(), "/elsewhere")
	if err != nil || again.String() != p.String() {
		t.Fatalf("String() does not parse back: %v %q", err, again.String())
	}
	if p.Allows(OpFiles, "read:/home/ann") {
		t.Fatal("a grant of ~/Notes allowed the home folder")
	}
}

func TestParsePermissionsKeepsTildeOfASkillsFilesRequest(t *testing.T) {
	p, err := ParsePermissions("files(read ~/Notes//a)")
	if err != nil {
		t.Fatal(err)
	}
	if read, _ := p.Files(); !slices.Equal(read, []string{"~/Notes/a"}) {
		t.Fatalf("read = %q", read)
	}
}

func TestParseGrantRejectsFilesThatSayNothingOrTooMuch(t *testing.T) {
	for _, bad := range []string{
		"files", "files(*)", "files(read)", "files(read *)", "files(~/Notes)", "files(read Notes)",
		"files(read ~/../etc)", "files(read /home/ann/../../etc)", "files(read ~ann/x)", "files(read write /x)",
		"files(read /x write)", "file(read /x)",
	} {
		if p, err := ParseGrant(bad, "/home/ann"); err == nil {
			t.Errorf("%q parsed: %v", bad, p)
		} else if !strings.HasPrefix(err.Error(), "grant: ") {
			t.Errorf("%q: error %q does not say it is about a grant", bad, err)
		}
	}
}
