package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/agentos/agentos/engine/wire"
)

// researcherCall is one tool call the scripted researcher model makes.
type researcherCall struct {
	Name string
	Args map[string]any
}

// researcherTurn plays the model behind the bundled researcher agent, from
// the task and the tool results it has been sent so far (oldest first): it
// searches the graph, reads the page the task names, saves a note of what
// the page said with its source, then answers from all three results. It
// returns either tool calls or the answer.
func researcherTurn(task string, results []string) ([]researcherCall, string) {
	fields := strings.Fields(task)
	url := fields[len(fields)-1]
	field := func(i int, path ...string) string { // a string in result i's JSON
		var v any
		if json.Unmarshal([]byte(results[i]), &v) != nil {
			return ""
		}
		for _, k := range path {
			switch x := v.(type) {
			case map[string]any:
				v = x[k]
			case []any:
				if len(x) == 0 {
					return ""
				}
				v = x[0]
				if m, ok := v.(map[string]any); ok {
					v = m[k]
				}
			}
		}
		s, _ := v.(string)
		return s
	}
	switch len(results) {
	case 0:
		return []researcherCall{{"data_search", map[string]any{"query": "blight"}}}, ""
	case 1:
		return []researcherCall{{"web_read", map[string]any{"url": url}}}, ""
	case 2:
		return []researcherCall{{"data_create", map[string]any{"shape": "note", "fields": map[string]any{
			"title": "Late blight", "content": field(1, "item", "content") + " Source: " + url}}}}, ""
	}
	return nil, fmt.Sprintf("%s (source: %s). Your own note %q agrees. Saved as %s.",
		field(1, "item", "content"), url, field(0, "hits", "node", "fields", "title"), field(2, "id"))
}

// researcherModel serves researcherTurn in one provider's real wire format
// and records the tool names each request offered.
type researcherModel struct {
	srv     *httptest.Server
	mu      sync.Mutex
	offered [][]string
}

func newResearcherModel(t *testing.T, provider string) *researcherModel {
	m := &researcherModel{}
	m.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Messages []struct {
				Role    string          `json:"role"`
				Content json.RawMessage `json:"content"`
			} `json:"messages"`
			Tools []struct {
				Name     string `json:"name"` // Anthropic
				Function struct {
					Name string `json:"name"`
				} `json:"function"` // OpenAI and Ollama
			} `json:"tools"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		var names []string
		for _, tl := range body.Tools {
			names = append(names, tl.Name+tl.Function.Name)
		}
		m.mu.Lock()
		m.offered = append(m.offered, names)
		m.mu.Unlock()

		// The task is the first user message; tool results are "tool"
		// messages (OpenAI, Ollama) or tool_result blocks in user messages
		// (Anthropic).
		var task string
		var results []string
		for _, msg := range body.Messages {
			var text string
			if json.Unmarshal(msg.Content, &text) == nil {
				if msg.Role == "user" && task == "" {
					task = text
				} else if msg.Role == "tool" {
					results = append(results, text)
				}
				continue
			}
			var blocks []struct{ Type, Content string }
			_ = json.Unmarshal(msg.Content, &blocks)
			for _, b := range blocks {
				if b.Type == "tool_result" {
					results = append(results, b.Content)
				}
			}
		}
		calls, text := researcherTurn(task, results)
		w.Header().Set("Content-Type", "application/json")
		enc := func(v any) string { b, _ := json.Marshal(v); return string(b) }
		switch provider {
		case "openai":
			var tc []map[string]any
			for i, c := range calls {
				tc = append(tc, map[string]any{"id": fmt.Sprintf("call_%d_%d", len(results), i), "type": "function",
					"function": map[string]any{"name": c.Name, "arguments": enc(c.Args)}})
			}
			msg := map[string]any{"role": "assistant", "content": text}
			if tc != nil {
				msg["tool_calls"] = tc
			}
			fmt.Fprint(w, enc(map[string]any{"id": "c", "object": "chat.completion", "model": "gpt-test",
				"choices": []any{map[string]any{"index": 0, "message": msg}}, "usage": map[string]any{"prompt_tokens": 10, "completion_tokens": 5}}))
		case "ollama":
			var tc []map[string]any
			for _, c := range calls {
				tc = append(tc, map[string]any{"function": map[string]any{"name": c.Name, "arguments": c.Args}})
			}
			msg := map[string]any{"role": "assistant", "content": text}
			if tc != nil {
				msg["tool_calls"] = tc
			}
			fmt.Fprint(w, enc(map[string]any{"model": "llama-test", "message": msg, "done": true, "prompt_eval_count": 10, "eval_count": 5}))
		case "anthropic":
			var blocks []map[string]any
			if text != "" {
				blocks = append(blocks, map[string]any{"type": "text", "text": text})
			}
			for i, c := range calls {
				blocks = append(blocks, map[string]any{"type": "tool_use", "id": fmt.Sprintf("toolu_%d_%d", len(results), i), "name": c.Name, "input": c.Args})
			}
			stop := "end_turn"
			if calls != nil {
				stop = "tool_use"
			}
			fmt.Fprint(w, enc(map[string]any{"id": "m", "type": "message", "role": "assistant", "model": "claude-test",
				"content": blocks, "stop_reason": stop, "usage": map[string]any{"input_tokens": 10, "output_tokens": 5}}))
		}
	}))
	t.Cleanup(m.srv.Close)
	return m
}

// The bundled researcher agent, run against each llm provider's API: it
// searches the graph, reads a page on loopback through the web-reader,
// saves a note and answers with the page's words, its source and the
// user's own note. Its run record holds the three tool calls and links to
// the nodes it created.
func TestBundledResearcherWorksWithEveryProvider(t *testing.T) {
	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<html><head><title>Late blight</title></head><body><p>Copper sprays slow late blight.</p></body></html>`)
	}))
	t.Cleanup(page.Close)
	for _, provider := range []string{"openai", "ollama", "anthropic"} {
		t.Run(provider, func(t *testing.T) {
			model := newResearcherModel(t, provider)
			urls := map[string]string{"openai": model.srv.URL, "ollama": model.srv.URL, "anthropic": model.srv.URL}
			home := llmHome(t, urls["openai"], urls["ollama"], urls["anthropic"], "capabilities:\n  llm:\n    pin: "+provider+"\n")
			overrideWebReader(t, home, "http("+strings.TrimPrefix(page.URL, "http://")+") graph(write)")
			d := startDaemon(t, home)
			c := d.client(t)
			for _, key := range []string{"openai", "anthropic"} {
				call(t, c, wire.MethodSecretsSet, map[string]any{"name": key, "value": "sk-test"}, nil)
			}
			var diary struct{ ID string }
			call(t, c, wire.MethodCreate, map[string]any{"shape": "note", "fields": map[string]any{
				"title": "Tomato diary", "content": "The blight came back in August."}}, &diary)

			url := page.URL + "/blight"
			r := runAgentJob(t, c, "researcher", "What slows late blight? Read "+url)
			var notes struct {
				Nodes []struct {
					ID     string
					Fields map[string]any
				}
			}
			call(t, c, wire.MethodRead, map[string]any{"shape": "note", "where": map[string]any{"title": "Late blight"}}, &notes)
			if len(notes.Nodes) != 1 || !strings.Contains(fmt.Sprint(notes.Nodes[0].Fields["content"]), "Copper sprays slow late blight. Source: "+url) {
				t.Fatalf("the researcher's note: %+v (run %+v)\n%s", notes, r, d.logs.String())
			}
			noteID := notes.Nodes[0].ID
			want := fmt.Sprintf("Copper sprays slow late blight. (source: %s). Your own note \"Tomato diary\" agrees. Saved as %s.", url, noteID)
			if r.Outcome != "completed" || r.Turns != 4 || r.Answer != want {
				t.Fatalf("the run: %+v\nwant answer %q", r, want)
			}
			model.mu.Lock()
			offered := model.offered
			model.mu.Unlock()
			for _, names := range offered {
				slices.Sort(names)
				if strings.Join(names, ",") != "data_create,data_search,web_read" {
					t.Errorf("the model was offered %v, not the researcher's three tools", names)
				}
			}

			var run struct {
				Fields struct {
					AgentName string                              `json:"agent_name"`
					ToolCalls []struct{ Tool, Capability string } `json:"tool_calls"`
				}
			}
			call(t, c, wire.MethodRead, map[string]any{"id": r.Run}, &run)
			var caps []string
			for _, tc := range run.Fields.ToolCalls {
				caps = append(caps, tc.Capability)
			}
			if run.Fields.AgentName != "researcher" || strings.Join(caps, ",") != "data.search,web.read,data.create" {
				t.Errorf("the run record: %+v", run)
			}
			// What the run made is linked from its record as "touched";
			// the note it only found is not.
			var nb struct {
				Edges []struct{ From, Label, To string }
				Nodes []struct {
					ID     string
					Shapes []string
				}
			}
			call(t, c, wire.MethodNeighbors, map[string]any{"id": r.Run, "label": "touched", "direction": "out"}, &nb)
			touched := map[string]bool{}
			for _, e := range nb.Edges {
				touched[e.To] = true
			}
			if !touched[noteID] || touched[diary.ID] {
				t.Errorf("touched links %v: want the new note %s, not the diary %s", nb.Edges, noteID, diary.ID)
			}
			var page struct{ Nodes []struct{ ID string } }
			call(t, c, wire.MethodRead, map[string]any{"shape": "webpage", "where": map[string]any{"url": url}}, &page)
			if len(page.Nodes) != 1 || !touched[page.Nodes[0].ID] {
				t.Errorf("the page read is not a touched node: pages %+v, touched %v", page, nb.Edges)
			}
		})
	}
}
