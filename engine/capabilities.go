package engine

import (
	"context"
	"encoding/json"

	"github.com/agentos/agentos/broker"
	"github.com/agentos/agentos/engine/wire"
)

// maxNesting bounds capability calls made by skills inside capability calls.
const maxNesting = 4

// invoke runs capability as job j on the provider the broker's resolver
// picks, and on the next ones while a provider is unavailable (the
// resolver's rule, DESIGN §7). Each provider tried is an attempt on the job.
func (s *Server) invoke(ctx context.Context, j *Job, capability, explicit string, params json.RawMessage) (any, error) {
	if depth := nesting(j); depth > maxNesting {
		return nil, wire.Errorf(wire.KindDenied, "capability calls nested %d deep; the limit is %d", depth, maxNesting)
	}
	var named struct {
		Model string `json:"model"`
	}
	_ = json.Unmarshal(params, &named) // params were checked as an object; a model is optional
	return s.resolver.InvokeModel(ctx, capability, explicit, named.Model, func(ctx context.Context, c broker.Candidate) (any, error) {
		s.jobs.set(j, func(j *Job) { j.Skill, j.Tool, j.Reason = c.Skill.ID, c.Tool.Name, c.Reason })
		res, err := s.runTool(ctx, j, c.Skill, c.Tool, params)
		if err != nil {
			s.jobs.set(j, func(j *Job) {
				j.Attempts = append(j.Attempts, wire.Attempt{Skill: c.Skill.ID, Tool: c.Tool.Name, Error: err.Error(), Kind: KindOf(err)})
			})
		}
		return res, err
	})
}

// nesting counts the jobs above j: 0 for a call a client made.
func nesting(j *Job) int {
	n := 0
	for p := j.parentJob; p != nil; p = p.parentJob {
		n++
	}
	return n
}

// capabilityPolicy is config.yaml's entry for capability, with the pin the
// user set through capabilities.prefer on top.
func (s *Server) capabilityPolicy(capability string) broker.Policy {
	s.cfgMu.RLock()
	defer s.cfgMu.RUnlock()
	return s.fileCfg.Capabilities[capability]
}

// skillModels is skills.<id>.settings.models of config.yaml: the models the
// user says the skill serves, for routing by model name (DESIGN §13).
func (s *Server) skillModels(skill string) []string {
	s.cfgMu.RLock()
	defer s.cfgMu.RUnlock()
	list, _ := s.fileCfg.Skills[skill].Settings["models"].([]any)
	var out []string
	for _, m := range list {
		if name, ok := m.(string); ok {
			out = append(out, name)
		}
	}
	return out
}

// secretSet reports whether a secret is stored (its value is not read).
func (s *Server) secretSet(ctx context.Context, name string) bool {
	_, err := s.store.StatSecret(ctx, name)
	return err == nil
}
