package broker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// testSkill is a skill with the given allowed-tools whose tools each
// provide a capability: "tool=capability", meta from metas by tool name.
func testSkill(t *testing.T, id, allowed string, tools ...string) *Skill {
	t.Helper()
	perms, err := ParsePermissions(allowed)
	if err != nil {
		t.Fatal(err)
	}
	s := &Skill{ID: id, AllowedTools: allowed, Permissions: perms}
	for _, spec := range tools {
		name, capability, _ := strings.Cut(spec, "=")
		s.Tools = append(s.Tools, Tool{Name: name, Module: "tools", Function: name, Description: "does " + capability,
			Params: json.RawMessage(`{"type":"object"}`), Provides: []Provide{{Capability: capability}}})
	}
	return s
}

// withMeta sets the @provides meta of every tool of s.
func withMeta(s *Skill, meta map[string]any) *Skill {
	for i := range s.Tools {
		for j := range s.Tools[i].Provides {
			s.Tools[i].Provides[j].Meta = meta
		}
	}
	return s
}

// fixedPolicy answers one policy for every capability.
func fixedPolicy(p Policy) func(string) Policy { return func(string) Policy { return p } }

func skillsOf(skills ...*Skill) func() []*Skill { return func() []*Skill { return skills } }

func names(cs []Candidate) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Skill.ID
	}
	return out
}

func reasons(cs []Candidate) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Reason
	}
	return out
}

func mustRank(t *testing.T, r *Resolver, capability string) []Candidate {
	t.Helper()
	cs, err := r.Rank(context.Background(), capability, "")
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// fourEchoes are providers of "echo": a cloud one, one that reaches only
// loopback hosts, one that says it is local though its host is not, and one
// that reaches no host at all (local too: it cannot leave the machine).
func fourEchoes(t *testing.T) []*Skill {
	return []*Skill{
		testSkill(t, "d-offline", "", "echo=echo"),
		testSkill(t, "a-cloud", "http(api.example.com)", "echo=echo"),
		withMeta(testSkill(t, "c-says-local", "http(api.example.com)", "echo=echo"), map[string]any{"local": true}),
		testSkill(t, "b-loopback", "http(127.0.0.1:8080 localhost:11434 [::1]:9)", "echo=echo"),
	}
}

func TestRankFollowsPinThenOrderThenPolicyThenID(t *testing.T) {
	cases := []struct {
		name    string
		policy  Policy
		want    []string
		reasons []string
	}{
		{"no policy: by skill id", Policy{},
			[]string{"a-cloud", "b-loopback", "c-says-local", "d-offline"},
			[]string{"chosen: by skill id", "by skill id", "by skill id", "by skill id"}},
		{"local-first puts the local ones first", Policy{Policy: PolicyLocalFirst},
			[]string{"b-loopback", "c-says-local", "d-offline", "a-cloud"},
			[]string{"chosen: local, and the policy is local-first", "local, and the policy is local-first", "local, and the policy is local-first", "by skill id"}},
		{"cloud-first puts the cloud one first", Policy{Policy: PolicyCloudFirst},
			[]string{"a-cloud", "b-loopback", "c-says-local", "d-offline"},
			[]string{"chosen: cloud, and the policy is cloud-first", "by skill id", "by skill id", "by skill id"}},
		{"an order beats the policy; skill/tool names count too", Policy{Policy: PolicyCloudFirst, Order: []string{"d-offline/echo", "c-says-local"}},
			[]string{"d-offline", "c-says-local", "a-cloud", "b-loopback"},
			[]string{"chosen: in the order config.yaml gives", "in the order config.yaml gives", "cloud, and the policy is cloud-first", "by skill id"}},
		{"a pin beats the order", Policy{Order: []string{"d-offline"}, Pin: "b-loopback"},
			[]string{"b-loopback", "d-offline", "a-cloud", "c-says-local"},
			[]string{"chosen: pinned by the user", "in the order config.yaml gives", "by skill id", "by skill id"}},
		{"a pin by skill/tool", Policy{Policy: PolicyLocalFirst, Pin: "a-cloud/echo"},
			[]string{"a-cloud", "b-loopback", "c-says-local", "d-offline"},
			[]string{"chosen: pinned by the user", "local, and the policy is local-first", "local, and the policy is local-first", "local, and the policy is local-first"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := NewResolver(skillsOf(fourEchoes(t)...), fixedPolicy(tc.policy), nil)
			cs := mustRank(t, r, "echo")
			if got := names(cs); !slices.Equal(got, tc.want) {
				t.Fatalf("order %v, want %v", got, tc.want)
			}
			if got := reasons(cs); !slices.Equal(got, tc.reasons) {
				t.Fatalf("reasons %q, want %q", got, tc.reasons)
			}
		})
	}
}

func TestLocalIsTheProvidesMetaElseEveryHostLoopback(t *testing.T) {
	cases := []struct {
		allowed string
		meta    map[string]any
		local   bool
	}{
		{"", nil, true},
		{"graph(read) secrets(k)", nil, true},
		{"http(localhost:11434)", nil, true},
		{"http(127.0.0.1 [::1]:8080 127.3.4.5:1)", nil, true},
		{"http(localhost:11434 api.example.com)", nil, false},
		{"http(*)", nil, false},
		{"http(*.localhost)", nil, false},
		{"http(10.0.0.1:80)", nil, false},
		{"http(localhost:11434)", map[string]any{"local": false}, false},
		{"http(api.example.com)", map[string]any{"local": true}, true},
		{"http(api.example.com)", map[string]any{"local": "yes"}, false}, // not a bool: the hosts decide
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%s %v", tc.allowed, tc.meta), func(t *testing.T) {
			r := NewResolver(skillsOf(withMeta(testSkill(t, "p", tc.allowed, "run=echo"), tc.meta)), nil, nil)
			if got := mustRank(t, r, "echo")[0].Local; got != tc.local {
				t.Fatalf("local = %v, want %v", got, tc.local)
			}
		})
	}
}

func TestExplicitProviderIsTheOnlyCandidateAndAnUnknownOneIsNotFound(t *testing.T) {
	r := NewResolver(skillsOf(fourEchoes(t)...), fixedPolicy(Policy{Pin: "a-cloud"}), nil)
	for _, ref := range []string{"c-says-local", "c-says-local/echo"} {
		cs, err := r.Rank(context.Background(), "echo", ref)
		if err != nil || len(cs) != 1 || cs[0].Skill.ID != "c-says-local" || cs[0].Reason != "asked for explicitly" {
			t.Fatalf("explicit %s: %+v %v", ref, cs, err)
		}
	}
	_, err := r.Rank(context.Background(), "echo", "nobody")
	var be *Error
	if !errors.Is(err, ErrNotFound) || !errors.As(err, &be) || be.ErrorKind() != KindNotFound {
		t.Fatalf("unknown provider: %v", err)
	}
	if want := `nobody does not provide "echo" (providers: `; !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), "b-loopback/echo") {
		t.Fatalf("message %q", err)
	}
	if errors.Is(err, ErrDenied) {
		t.Fatal("a not_found error matches ErrDenied")
	}
}

func TestNoProviderSaysWhereToLookAndSkipsInvalidSkills(t *testing.T) {
	broken := testSkill(t, "broken", "", "echo=echo")
	broken.Invalid = "SKILL.md: no description"
	r := NewResolver(skillsOf(broken, testSkill(t, "other", "", "x=other")), nil, nil)
	for _, capability := range []string{"echo", "nothing"} {
		_, err := r.Rank(context.Background(), capability, "")
		if !errors.Is(err, ErrNoProvider) || kindOf(err) != KindNoProvider {
			t.Fatalf("%s: %v", capability, err)
		}
		if want := fmt.Sprintf("no installed skill provides %q; `agentos capabilities` lists what is provided", capability); err.Error() != want {
			t.Fatalf("message %q, want %q", err, want)
		}
	}
	if caps := r.Capabilities(context.Background()); len(caps) != 1 || caps[0].Capability != "other" {
		t.Fatalf("capabilities of an invalid skill listed: %+v", caps)
	}
}

func TestAProviderWhoseSecretsAreNotSetRanksLater(t *testing.T) {
	set := map[string]bool{"anthropic": true}
	var mu sync.Mutex
	var asked []string
	secretSet := func(ctx context.Context, name string) bool {
		if ctx == nil {
			t.Error("no context")
		}
		mu.Lock()
		defer mu.Unlock()
		asked = append(asked, name)
		return set[name]
	}
	r := NewResolver(skillsOf(
		testSkill(t, "a-openai", "http(api.openai.com) secrets(openai org)", "chat=llm"),
		testSkill(t, "b-anthropic", "http(api.anthropic.com) secrets(anthropic)", "chat=llm"),
		testSkill(t, "c-any", "http(*) secrets(*)", "chat=llm"), // "*" names no secret to miss
	), fixedPolicy(Policy{Policy: PolicyCloudFirst}), secretSet)
	cs := mustRank(t, r, "llm")
	if got := names(cs); !slices.Equal(got, []string{"b-anthropic", "c-any", "a-openai"}) {
		t.Fatalf("order %v", got)
	}
	if want := "cloud, and the policy is cloud-first; unavailable: secret openai, org not set"; cs[2].Reason != want {
		t.Fatalf("reason %q, want %q", cs[2].Reason, want)
	}
	if slices.Contains(asked, "*") {
		t.Fatalf("asked whether %q is set", "*")
	}
	// Availability comes after the policy: a local provider under
	// local-first stays first even with its secret missing.
	r = NewResolver(skillsOf(
		testSkill(t, "a-cloud", "http(api.example.com)", "chat=llm"),
		testSkill(t, "b-local", "http(localhost:11434) secrets(ollama)", "chat=llm"),
	), fixedPolicy(Policy{Policy: PolicyLocalFirst}), secretSet)
	if got := names(mustRank(t, r, "llm")); !slices.Equal(got, []string{"b-local", "a-cloud"}) {
		t.Fatalf("local-first with the local secret unset: %v", got)
	}
}

// kindErr is a failure as the engine reports it: an error stating its kind.
type kindErr struct{ kind string }

func (e kindErr) Error() string     { return e.kind + " failure" }
func (e kindErr) ErrorKind() string { return e.kind }

func TestHealthARecentFailureRanksLaterUntilItPassesOrSucceeds(t *testing.T) {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	r := NewResolver(skillsOf(testSkill(t, "a", "", "e=echo"), testSkill(t, "b", "", "e=echo")), nil, nil)
	r.now = func() time.Time { return now }

	r.Record("a/e", time.Second, kindErr{KindUnavailable})
	cs := mustRank(t, r, "echo")
	if got := names(cs); !slices.Equal(got, []string{"b", "a"}) || cs[1].Reason != "failed recently" {
		t.Fatalf("after a's failure: %v %q", got, reasons(cs))
	}
	now = now.Add(failingFor + time.Second)
	if got := names(mustRank(t, r, "echo")); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("five minutes after a's failure: %v", got)
	}
	r.Record("a/e", time.Second, fmt.Errorf("run: %w", kindErr{KindTimeout})) // wrapped: still a timeout
	if got := names(mustRank(t, r, "echo")); !slices.Equal(got, []string{"b", "a"}) {
		t.Fatalf("after a's timeout: %v", got)
	}
	r.Record("a/e", 20*time.Millisecond, nil)
	cs = mustRank(t, r, "echo")
	if got := names(cs); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("after a's success: %v", got)
	}
	if !strings.HasPrefix(cs[0].Reason, "chosen: answered before, in 20ms") || cs[1].Reason != "by skill id" {
		t.Fatalf("reasons after a's success: %q", reasons(cs))
	}
}

func TestHealthIgnoresOutcomesThatSayNothingAboutTheProvider(t *testing.T) {
	r := NewResolver(skillsOf(testSkill(t, "a", "", "e=echo"), testSkill(t, "b", "", "e=echo")), nil, nil)
	for _, err := range []error{
		kindErr{KindInvalid}, kindErr{KindDenied}, kindErr{KindCancelled}, kindErr{KindNotFound},
		context.Canceled, errors.New("the engine's own trouble"),
	} {
		r.Record("a/e", time.Second, err)
		if got := names(mustRank(t, r, "echo")); !slices.Equal(got, []string{"a", "b"}) {
			t.Fatalf("%v counted against a: %v", err, got)
		}
	}
	r.Record("a/e", time.Second, context.DeadlineExceeded)
	if got := names(mustRank(t, r, "echo")); !slices.Equal(got, []string{"b", "a"}) {
		t.Fatalf("a deadline not counted: %v", got)
	}
}

func TestHealthTheFasterAndTheProvenProviderFirst(t *testing.T) {
	r := NewResolver(skillsOf(testSkill(t, "c", "", "e=echo"), testSkill(t, "b", "", "e=echo"), testSkill(t, "a", "", "e=echo")), nil, nil)
	r.Record("b/e", 50*time.Millisecond, nil)
	r.Record("c/e", 10*time.Millisecond, nil)
	if got := names(mustRank(t, r, "echo")); !slices.Equal(got, []string{"c", "b", "a"}) {
		t.Fatalf("by latency, never-succeeded a last: %v", got)
	}
	// A moving average: c's slow calls pull it behind b.
	for range 5 {
		r.Record("c/e", 200*time.Millisecond, nil)
	}
	if got := names(mustRank(t, r, "echo")); !slices.Equal(got, []string{"b", "c", "a"}) {
		t.Fatalf("after c slowed down: %v", got)
	}
}

func TestTiesAreBrokenBySkillAndToolNameWhateverTheDiscoveryOrder(t *testing.T) {
	two := testSkill(t, "same", "", "z=echo", "b=echo")
	r := NewResolver(skillsOf(testSkill(t, "zeta", "", "a=echo"), two, testSkill(t, "alpha", "", "q=echo")), nil, nil)
	cs := mustRank(t, r, "echo")
	var got []string
	for _, c := range cs {
		got = append(got, c.Name())
	}
	if !slices.Equal(got, []string{"alpha/q", "same/b", "same/z", "zeta/a"}) {
		t.Fatalf("order %v", got)
	}
	if cs[1].Tool != &two.Tools[1] {
		t.Fatal("the candidate does not point at the skill's own tool")
	}
}

func TestInvokeFallsBackOnlyOnUnavailable(t *testing.T) {
	ctx := context.Background()
	r := NewResolver(skillsOf(testSkill(t, "a", "", "e=echo"), testSkill(t, "b", "", "e=echo"), testSkill(t, "c", "", "e=echo")), nil, nil)
	fails := map[string]error{}
	var tried []string
	run := func(_ context.Context, c Candidate) (any, error) {
		tried = append(tried, c.Skill.ID)
		if err := fails[c.Skill.ID]; err != nil {
			return nil, err
		}
		return "by " + c.Skill.ID, nil
	}

	fails["a"] = kindErr{KindUnavailable}
	res, err := r.Invoke(ctx, "echo", "", run)
	if err != nil || res != "by b" || !slices.Equal(tried, []string{"a", "b"}) {
		t.Fatalf("fallback: %v %v tried %v", res, err, tried)
	}
	// a failed, so it now ranks last; bad input on b is returned as is.
	tried, fails = nil, map[string]error{"b": kindErr{KindInvalid}}
	_, err = r.Invoke(ctx, "echo", "", run)
	if !slices.Equal(tried, []string{"b"}) || kindOf(err) != KindInvalid {
		t.Fatalf("bad input: %v tried %v", err, tried)
	}
	tried = nil
	for _, id := range []string{"a", "b", "c"} {
		fails[id] = kindErr{KindUnavailable}
	}
	_, err = r.Invoke(ctx, "echo", "", run)
	if len(tried) != 3 || !errors.Is(err, ErrUnavailable) || err.Error() != `every provider of "echo" is unavailable; last: unavailable failure` {
		t.Fatalf("all unavailable: %v tried %v", err, tried)
	}
	// One provider only: its own error, not a summary.
	tried = nil
	_, err = r.Invoke(ctx, "echo", "b", run)
	if !slices.Equal(tried, []string{"b"}) || err.Error() != "unavailable failure" {
		t.Fatalf("explicit provider unavailable: %v tried %v", err, tried)
	}
	if _, err := r.Invoke(ctx, "nothing", "", run); !errors.Is(err, ErrNoProvider) {
		t.Fatalf("no provider: %v", err)
	}
}

func TestInvokeStopsWhenTheCallIsCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	r := NewResolver(skillsOf(testSkill(t, "a", "", "e=echo"), testSkill(t, "b", "", "e=echo")), nil, nil)
	var tried []string
	_, err := r.Invoke(ctx, "echo", "", func(_ context.Context, c Candidate) (any, error) {
		tried = append(tried, c.Skill.ID)
		cancel() // the caller gives up while a is failing
		return nil, kindErr{KindUnavailable}
	})
	if len(tried) != 1 || err == nil {
		t.Fatalf("tried %v after the cancel (%v)", tried, err)
	}
}

func TestCapabilitiesListsEachCapabilityRankedAsJSON(t *testing.T) {
	policies := map[string]Policy{"echo": {Policy: PolicyLocalFirst, Pin: "a-cloud"}}
	skills := append(fourEchoes(t), withMeta(testSkill(t, "reader", "http(*)", "read=web.read"), map[string]any{"models": []any{"x"}}))
	r := NewResolver(skillsOf(skills...), func(c string) Policy { return policies[c] }, nil)
	b, err := json.Marshal(r.Capabilities(context.Background()))
	if err != nil {
		t.Fatal(err)
	}
	var got []map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0]["capability"] != "echo" || got[1]["capability"] != "web.read" ||
		got[0]["pin"] != "a-cloud" || got[0]["policy"] != "local-first" || got[1]["pin"] != "" || got[1]["policy"] != "" {
		t.Fatalf("capabilities: %s", b)
	}
	first := got[0]["providers"].([]any)[0].(map[string]any)
	want := map[string]any{"skill": "a-cloud", "tool": "echo", "local": false, "reason": "chosen: pinned by the user",
		"description": "does echo", "params": map[string]any{"type": "object"}, "meta": nil}
	if fmt.Sprint(first) != fmt.Sprint(want) {
		t.Fatalf("first provider of echo:\n got %v\nwant %v", first, want)
	}
	reader := got[1]["providers"].([]any)[0].(map[string]any)
	if reader["reason"] != "the only provider" || fmt.Sprint(reader["meta"]) != "map[models:[x]]" {
		t.Fatalf("web.read provider: %v", reader)
	}
}

func TestPolicyReadsConfigYAMLKeysAndRejectsAnUnknownPolicy(t *testing.T) {
	var caps map[string]Policy
	dec := yaml.NewDecoder(strings.NewReader("llm: {policy: local-first, order: [ollama, openai/chat], pin: openai}\n"))
	dec.KnownFields(true)
	if err := dec.Decode(&caps); err != nil {
		t.Fatal(err)
	}
	want := Policy{Policy: PolicyLocalFirst, Order: []string{"ollama", "openai/chat"}, Pin: "openai"}
	if got := caps["llm"]; got.Policy != want.Policy || !slices.Equal(got.Order, want.Order) || got.Pin != want.Pin {
		t.Fatalf("decoded %+v", got)
	}
	for _, p := range []string{"", PolicyLocalFirst, PolicyCloudFirst} {
		if err := (Policy{Policy: p}).Validate(); err != nil {
			t.Fatalf("%q: %v", p, err)
		}
	}
	err := Policy{Policy: "local_first"}.Validate()
	if !errors.Is(err, ErrInvalid) || err.Error() != `policy is "local_first"; use local-first or cloud-first (or order: [skill, ...])` {
		t.Fatalf("typo: %v", err)
	}
}
