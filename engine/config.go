package engine

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/agentos/agentos/broker"
	"github.com/agentos/agentos/broker/sandbox"

	"go.yaml.in/yaml/v3"
)

// FileConfig is $AGENTOS_HOME/config.yaml. Every key is optional.
type FileConfig struct {
	// Python is the interpreter skills run on; an absolute path is best
	// (a pyenv-style shim costs ~100 ms a call). Default: /usr/bin/python3,
	// else python3 on PATH resolved to the real binary.
	Python string       `yaml:"python"`
	Bridge BridgeConfig `yaml:"bridge"`
	// User describes who the graph belongs to (GET /api/user on the bridge).
	User struct {
		Name string `yaml:"name"` // display name; default: the account's full name
		Node string `yaml:"node"` // id of the person node that is the user
	} `yaml:"user"`
	// Capabilities holds per-capability policy and pins (skills issue).
	Capabilities map[string]broker.Policy `yaml:"capabilities"`
	// Sandbox is how skills are confined (DESIGN §7.1): strict, best-effort
	// (default) or off; passed to broker.RunnerOptions.Sandbox.
	Sandbox string `yaml:"sandbox"`
	// Runner is how each call's process is made (DESIGN §7.1 "Fork server"):
	// fork (default: a pre-imported template forks each call) or spawn (one
	// exec per call, also the fallback); passed to
	// broker.RunnerOptions.Runner.
	Runner string `yaml:"runner"`
	// Skills holds the user's settings and grants per skill id (DESIGN §7.0).
	Skills map[string]broker.SkillConfig `yaml:"skills"`
	// Agents holds per-agent state the user set: whether its mission runs
	// (`agentos agents enable NAME`, DESIGN §15).
	Agents map[string]AgentConfig `yaml:"agents"`
	// Replicate ships the graph to a replica while the engine runs
	// (DESIGN §14, docs/replication.md).
	Replicate ReplicateConfig `yaml:"replicate"`
}

// ReplicateConfig is config.yaml's replicate key.
type ReplicateConfig struct {
	// URL is file:///path, s3://bucket/path?endpoint=… or
	// sftp://user@host/path; "" replicates nothing.
	URL string `yaml:"url"`
	// Interval is how often changes are shipped (Go duration, default 1s).
	Interval string `yaml:"interval"`
}

// AgentConfig is one agent's entry in config.yaml.
type AgentConfig struct {
	Enabled bool `yaml:"enabled"`
}

// BridgeConfig is the bridge's part of config.yaml; flags override it.
type BridgeConfig struct {
	// Failed is not read from config.yaml: it is why `agentos engine` could
	// not serve the bridge (its port taken, its token unsafe).
	Failed  string   `yaml:"-"`
	Addr    string   `yaml:"addr"`    // listen address, loopback only (default 127.0.0.1:3456)
	Origins []string `yaml:"origins"` // browser origins of apps allowed to call the bridge (CORS)
	Hosts   []string `yaml:"hosts"`   // extra Host names accepted besides loopback ones
	Disable bool     `yaml:"disable"` // do not serve the bridge with the engine
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
		return nil, fmt.Errorf("%s: %v", path, strings.TrimPrefix(explainConfigError(err).Error(), "yaml: "))
	}
	if _, err := sandbox.ParseMode(cfg.Sandbox); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if _, err := broker.ParseRunnerKind(cfg.Runner); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	for name, c := range cfg.Capabilities {
		if err := c.Validate(); err != nil {
			return nil, fmt.Errorf("%s: capabilities.%s.%w", path, name, err)
		}
	}
	for _, id := range slices.Sorted(maps.Keys(cfg.Skills)) {
		if err := cfg.Skills[id].Validate(id); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	return cfg, nil
}

// SavePin records in config.yaml that capability should prefer skill (an
// empty skill removes the pin). The file is edited as a YAML tree, so the
// user's comments and other keys stay as they were; it is replaced
// atomically.
func SavePin(path, capability, skill string) error {
	return saveSetting(path, []string{"capabilities", capability, "pin"}, skill)
}

// SaveAgentEnabled records in config.yaml whether agent's mission runs
// (agents.NAME.enabled); off removes the entry.
func SaveAgentEnabled(path, agent string, on bool) error {
	value := ""
	if on {
		value = "true"
	}
	return saveSetting(path, []string{"agents", agent, "enabled"}, value)
}

// saveSetting sets the scalar at keys (mappings down to the last key) in
// config.yaml, keeping the rest of the file (comments too), or removes it
// when value is empty. The file is replaced whole (written aside, renamed).
func saveSetting(path string, keys []string, value string) error {
	var doc yaml.Node
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("read config: %w", err)
	}
	if len(strings.TrimSpace(string(data))) > 0 {
		if err := yaml.Unmarshal(data, &doc); err != nil {
			return fmt.Errorf("%s: %v", path, err)
		}
	}
	if doc.Kind == 0 {
		doc = yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{{Kind: yaml.MappingNode}}}
	}
	m := doc.Content[0]
	for _, k := range keys[:len(keys)-1] {
		if m = mappingChild(m, k, value != ""); m == nil {
			return nil // nothing to remove
		}
	}
	setScalar(m, keys[len(keys)-1], value)
	out, err := yaml.Marshal(&doc)
	if err != nil {
		return fmt.Errorf("encode config: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, out, 0o600); err != nil {
		return fmt.Errorf("write config: %w", err)
	}
	return os.Rename(tmp, path)
}

// mappingChild returns the mapping under key in m, creating it if asked. A
// key whose value is not a mapping (`capabilities:` left empty) gets one.
func mappingChild(m *yaml.Node, key string, create bool) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			if m.Content[i+1].Kind != yaml.MappingNode {
				if !create {
					return nil
				}
				m.Content[i+1] = &yaml.Node{Kind: yaml.MappingNode}
			}
			return m.Content[i+1]
		}
	}
	if !create {
		return nil
	}
	child := &yaml.Node{Kind: yaml.MappingNode}
	m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: key}, child)
	return child
}

// setScalar sets key to value in m, or removes key when value is empty.
func setScalar(m *yaml.Node, key, value string) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			if value == "" {
				m.Content = append(m.Content[:i], m.Content[i+2:]...)
			} else {
				m.Content[i+1] = &yaml.Node{Kind: yaml.ScalarNode, Value: value}
			}
			return
		}
	}
	if value != "" {
		m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: key}, &yaml.Node{Kind: yaml.ScalarNode, Value: value})
	}
}
