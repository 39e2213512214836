package broker

import "testing"

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
