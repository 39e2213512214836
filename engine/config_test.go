package engine

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yaml")
	if cfg, err := LoadConfig(path); err != nil || cfg.Python != "" {
		t.Fatalf("missing file: %+v %v", cfg, err)
	}
	os.WriteFile(path, nil, 0o600)
	if _, err := LoadConfig(path); err != nil {
		t.Fatalf("empty file: %v", err)
	}
	os.WriteFile(path, []byte("python: /usr/bin/python3\ncapabilities:\n  llm: {policy: local-first}\n"), 0o600)
	cfg, err := LoadConfig(path)
	if err != nil || cfg.Python != "/usr/bin/python3" || cfg.Capabilities["llm"].Policy != "local-first" {
		t.Fatalf("parsed %+v %v", cfg, err)
	}
	os.WriteFile(path, []byte("python: /usr/bin/python3\npyhton: typo\n"), 0o600)
	if _, err := LoadConfig(path); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("unknown key: %v", err)
	}
}
