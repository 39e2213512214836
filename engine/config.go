package engine

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"gopkg.in/yaml.v3"
)

// FileConfig is $AGENTOS_HOME/config.yaml. Every key is optional.
type FileConfig struct {
	// Python is the interpreter skills run on; an absolute path is best
	// (a pyenv-style shim costs ~100 ms a call). Default: /usr/bin/python3,
	// else python3 on PATH resolved to the real binary.
	Python string `yaml:"python"`
	Bridge struct {
		Addr string `yaml:"addr"`
	} `yaml:"bridge"`
	// Capabilities holds per-capability policy and pins (skills issue).
	Capabilities map[string]CapabilityConfig `yaml:"capabilities"`
}

// CapabilityConfig is how one capability's provider is chosen.
type CapabilityConfig struct {
	Policy string   `yaml:"policy"` // local-first, cloud-first
	Order  []string `yaml:"order"`  // skill ids, first preferred
	Pin    string   `yaml:"pin"`
}

// LoadConfig reads config.yaml. A missing file is an empty config; a file
// that does not parse, or has a key this version does not know, is an error
// naming the line, so a typo is never silently ignored.
func LoadConfig(path string) (*FileConfig, error) {
	cfg := &FileConfig{}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return cfg, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil && !errors.Is(err, io.EOF) { // io.EOF: an empty file
		return nil, fmt.Errorf("%s: %v", path, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	return cfg, nil
}
