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

func TestSavePinKeepsTheRestOfTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yaml")
	os.WriteFile(path, []byte("# my settings\npython: /usr/bin/python3  # the system one\ncapabilities:\n  llm:\n    policy: local-first\n"), 0o600)
	if err := SavePin(path, "llm", "ollama"); err != nil {
		t.Fatal(err)
	}
	if err := SavePin(path, "web.read", "reader"); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig(path)
	if err != nil || cfg.Capabilities["llm"].Pin != "ollama" || cfg.Capabilities["llm"].Policy != "local-first" ||
		cfg.Capabilities["web.read"].Pin != "reader" || cfg.Python != "/usr/bin/python3" {
		t.Fatalf("after pins: %+v %v", cfg, err)
	}
	b, _ := os.ReadFile(path)
	if !strings.Contains(string(b), "# my settings") || !strings.Contains(string(b), "# the system one") {
		t.Fatalf("comments lost:\n%s", b)
	}
	if err := SavePin(path, "llm", ""); err != nil {
		t.Fatal(err)
	}
	if cfg, _ := LoadConfig(path); cfg.Capabilities["llm"].Pin != "" || cfg.Capabilities["llm"].Policy != "local-first" {
		t.Fatalf("clearing the pin: %+v", cfg.Capabilities["llm"])
	}
	fresh := filepath.Join(t.TempDir(), "config.yaml")
	if err := SavePin(fresh, "llm", "x"); err != nil {
		t.Fatal(err)
	}
	if cfg, _ := LoadConfig(fresh); cfg.Capabilities["llm"].Pin != "x" {
		t.Fatalf("new file: %+v", cfg)
	}
}

func TestConfigRejectsAnUnknownPolicyAndPinsIntoAnEmptyKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yaml")
	os.WriteFile(path, []byte("capabilities:\n  llm: {policy: local_first}\n"), 0o600)
	if _, err := LoadConfig(path); err == nil || !strings.Contains(err.Error(), "local-first") {
		t.Fatalf("typo in policy: %v", err)
	}
	os.WriteFile(path, []byte("capabilities:\n"), 0o600)
	if err := SavePin(path, "llm", "ollama"); err != nil {
		t.Fatal(err)
	}
	if cfg, err := LoadConfig(path); err != nil || cfg.Capabilities["llm"].Pin != "ollama" {
		t.Fatalf("pin under an empty capabilities key: %+v %v", cfg, err)
	}
}
