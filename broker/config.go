package broker

// Policies a capability's providers may be ranked by.
const (
	PolicyLocalFirst = "local-first"
	PolicyCloudFirst = "cloud-first"
)

// Policy is how one capability's provider is chosen: config.yaml's
// `capabilities: {CAP: {policy, order, pin}}` entry, the pin being the one
// `capabilities.prefer` saves there.
type Policy struct {
	Policy string   `yaml:"policy" json:"policy,omitempty"` // local-first, cloud-first or empty
	Order  []string `yaml:"order" json:"order,omitempty"`   // skill ids or skill/tool names, first preferred
	Pin    string   `yaml:"pin" json:"pin,omitempty"`       // a skill id or skill/tool name
}

// Validate rejects a policy this version does not know, so a typo in
// config.yaml is never silently ignored. The message reads after the key's
// path: "capabilities.llm." + err.
func (p Policy) Validate() error {
	switch p.Policy {
	case "", PolicyLocalFirst, PolicyCloudFirst:
		return nil
	}
	return errorf(KindInvalid, "policy is %q; use %s or %s (or order: [skill, ...])", p.Policy, PolicyLocalFirst, PolicyCloudFirst)
}
