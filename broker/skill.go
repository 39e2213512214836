package broker

import "encoding/json"

// Skill is one skill folder as discovered: its SKILL.md, its permissions
// and the tools found in its Python files.
type Skill struct {
	ID            string            `json:"id"` // the folder name, equal to SKILL.md's name
	Dir           string            `json:"dir"`
	Source        string            `json:"source"` // bundled, user, flag
	Description   string            `json:"description"`
	License       string            `json:"license,omitempty"`
	Compatibility string            `json:"compatibility,omitempty"`
	Metadata      map[string]string `json:"metadata,omitempty"`
	AllowedTools  string            `json:"allowed_tools,omitempty"` // as written
	Permissions   Permissions       `json:"permissions"`
	// OtherTools are allowed-tools entries for other agents' tools
	// (Bash(git:*), Read): kept as written, granting nothing here.
	OtherTools []string `json:"other_tools,omitempty"`
	// Extensions are Claude Code's frontmatter fields (argument-hint,
	// disable-model-invocation, model, ...), as written.
	Extensions map[string]any `json:"extensions,omitempty"`
	Guide      string         `json:"guide,omitempty"` // the SKILL.md body, for agents
	Tools      []Tool         `json:"tools"`
	// Invalid says why the skill cannot be used; such a skill is listed,
	// never run. InvalidErr is the same as an error, for decisions:
	// errors.Is(s.InvalidErr, ErrDiscovery) means the tool parser failed,
	// not the skill, and discovery should be tried again.
	Invalid    string `json:"invalid,omitempty"`
	InvalidErr error  `json:"-"`
	// Warnings are about the skill as a whole or one of its files (a
	// decorated method, a private function, a duplicate); those about one
	// tool are on the tool.
	Warnings []string `json:"warnings,omitempty"`
}

// setInvalid marks the skill unusable for err.
func (s *Skill) setInvalid(err error) {
	s.Invalid, s.InvalidErr = err.Error(), err
}

// Tool is one function a skill offers, as found by parsing (never importing)
// its file.
type Tool struct {
	Name        string          `json:"name"`
	Module      string          `json:"module"`
	Function    string          `json:"function"`
	File        string          `json:"file"`
	Line        int             `json:"line"`
	Async       bool            `json:"async"`
	Description string          `json:"description,omitempty"`
	Doc         string          `json:"doc,omitempty"`
	Provides    []Provide       `json:"provides,omitempty"`
	Returns     string          `json:"returns,omitempty"`
	Timeout     float64         `json:"timeout,omitempty"`  // seconds; 0 means the default
	Params      json.RawMessage `json:"params"`             // JSON Schema
	Result      json.RawMessage `json:"result,omitempty"`   // JSON Schema of the return annotation, when plain JSON
	Prompt      *PromptDecl     `json:"prompt,omitempty"`   // @prompt: an MCP prompt
	Resource    *ResourceDecl   `json:"resource,omitempty"` // @resource: an MCP resource
	Warnings    []string        `json:"warnings,omitempty"`
}

// PromptDecl is a tool's @prompt: the function is a prompt whose arguments
// are its parameters.
type PromptDecl struct {
	Name  string `json:"name"`
	Title string `json:"title,omitempty"`
}

// ResourceDecl is a tool's @resource: the function is the resource at URI,
// a URI template (RFC 6570) when Template, whose variables are its parameters.
type ResourceDecl struct {
	URI      string `json:"uri"`
	Name     string `json:"name"`
	Title    string `json:"title,omitempty"`
	MIME     string `json:"mime,omitempty"`
	Template bool   `json:"template,omitempty"`
}

// Provide is one @provides(capability, **meta) of a tool.
type Provide struct {
	Capability string         `json:"capability"`
	Meta       map[string]any `json:"meta,omitempty"`
}

// Tool returns the named tool, or nil.
func (s *Skill) Tool(name string) *Tool {
	for i := range s.Tools {
		if s.Tools[i].Name == name {
			return &s.Tools[i]
		}
	}
	return nil
}
