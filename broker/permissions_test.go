package broker

import (
	"net/netip"
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
	p, err := ParsePermissions("http([::1]:11434 api.example.com:443 [fe80::1] [fe80::1]:443)")
	if err != nil {
		t.Fatal(err)
	}
	for target, want := range map[string]bool{
		"[::1]:11434":         true,
		"[::1]:80":            false,
		"api.example.com:443": true,
		"api.example.com:80":  false,
		"[fe80::1]:8080":      false, // link-local: only host:port named exactly
		"[fe80::1]:443":       true,
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

func TestSpecialAddressesAreNamedByClass(t *testing.T) {
	for addr, want := range map[string]string{
		"127.0.0.1":              "loopback",
		"127.255.0.9":            "loopback",
		"::1":                    "loopback",
		"::ffff:127.0.0.1":       "loopback", // IPv4-mapped
		"64:ff9b::7f00:1":        "loopback", // NAT64 of 127.0.0.1
		"0.0.0.0":                "unspecified",
		"0.1.2.3":                "unspecified",
		"::":                     "unspecified",
		"10.1.2.3":               "private",
		"172.16.0.1":             "private",
		"192.168.1.1":            "private",
		"fd12:3456::1":           "private",
		"fc00::1":                "private",
		"169.254.1.1":            "link-local",
		"fe80::1%eth0":           "link-local",
		"169.254.169.254":        "cloud metadata",
		"::ffff:169.254.169.254": "cloud metadata",
		"fd00:ec2::254":          "cloud metadata",
		"100.100.100.200":        "cloud metadata",
		"100.64.0.1":             "shared",
		"224.0.0.1":              "multicast",
		"255.255.255.255":        "reserved",
		"93.184.216.34":          "",
		"2606:4700::1111":        "",
		"172.32.0.1":             "",
	} {
		if got := SpecialAddr(netip.MustParseAddr(addr)); got != want {
			t.Errorf("SpecialAddr(%s) = %q, want %q", addr, got, want)
		}
	}
	for host, want := range map[string]string{
		"localhost": "loopback", "LOCALHOST.": "loopback", "api.localhost": "loopback",
		"metadata.google.internal": "cloud metadata", "metadata.google.internal.": "cloud metadata",
		"[::1]": "loopback", "example.com": "", "localhost.example.com": "",
	} {
		if got := SpecialHost(host); got != want {
			t.Errorf("SpecialHost(%s) = %q, want %q", host, got, want)
		}
	}
}

// An attacker's skill asks for http(*) or a wildcard and tries every way of
// writing a local address: none is covered; only an exact host:port is.
func TestWildcardsDoNotCoverLocalAddresses(t *testing.T) {
	p, err := ParsePermissions("http(* *.internal.example localhost 127.0.0.1:8080 [::1]:9000 ollama.lan:11434)")
	if err != nil {
		t.Fatal(err)
	}
	for target, want := range map[string]bool{
		"example.com:443":             true,
		"127.0.0.1:80":                false,
		"127.0.0.1:8080":              true,
		"127.0.0.1:8081":              false,
		"localhost:8080":              false, // 127.0.0.1:8080 names the address, not the name
		"localhost:80":                false, // http(localhost): no port, not explicit
		"LOCALHOST.:80":               false,
		"[::1]:9000":                  true,
		"[::ffff:127.0.0.1]:8080":     true, // the same address as 127.0.0.1
		"[::ffff:127.0.0.1]:80":       false,
		"169.254.169.254:80":          false,
		"[fd00:ec2::254]:80":          false,
		"100.100.100.200:80":          false,
		"metadata.google.internal:80": false,
		"10.0.0.1:443":                false,
		"0.0.0.0:8080":                false,
		"ollama.lan:11434":            true,
		"a.internal.example:443":      true, // a name: judged again by what it resolves to
	} {
		if got := p.Allows(OpHTTP, target); got != want {
			t.Errorf("Allows(http, %s) = %v, want %v", target, got, want)
		}
	}
	// After DNS: a public address is fine for a name in scope; a local
	// one needs the name or the address with its port.
	for _, tc := range []struct {
		host, port, ip string
		want           bool
	}{
		{"example.com", "443", "93.184.216.34", true},
		{"rebind.example.com", "80", "127.0.0.1", false},
		{"a.internal.example", "443", "10.0.0.5", false},
		{"ollama.lan", "11434", "192.168.1.20", true},
		{"ollama.lan", "11435", "192.168.1.20", false},
		{"anything.example", "8080", "127.0.0.1", true}, // 127.0.0.1:8080 is granted as such
		{"localhost", "9000", "::1", true},
		{"localhost", "9001", "::1", false},
	} {
		if _, got := p.AllowsHTTPAddr(tc.host, tc.port, netip.MustParseAddr(tc.ip)); got != tc.want {
			t.Errorf("AllowsHTTPAddr(%s, %s, %s) = %v, want %v", tc.host, tc.port, tc.ip, got, tc.want)
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
