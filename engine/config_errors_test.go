package engine

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A typo in config.yaml is named in config.yaml's terms: the line, the key,
// the key most likely meant and the keys allowed there; never a Go type.
func TestConfigTyposSayWhatWasMeant(t *testing.T) {
	for text, want := range map[string]string{
		"sandbx: off\n":                     `line 1: unknown key "sandbx" (did you mean "sandbox"?); the keys here are agents, bridge, capabilities, python, replicate, runner, sandbox, skills, user`,
		"bridge:\n  adr: 127.0.0.1:1\n":     `line 2: unknown key "adr" (did you mean "addr"?); the keys here are addr, disable, hosts, origins`,
		"skills:\n  notes:\n    grnt: []\n": `line 3: unknown key "grnt" (did you mean "grant"?)`,
		"sandbox: [strict]\n":               `line 1: a list is given here, but this key takes one text value`,
	} {
		path := filepath.Join(t.TempDir(), "config.yaml")
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := LoadConfig(path)
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "engine.") || strings.Contains(err.Error(), "broker.") {
			t.Errorf("%q: %v\nwant %s", text, err, want)
		}
	}
}
