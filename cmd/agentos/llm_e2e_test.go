package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentos/agentos/engine/wire"
	"github.com/agentos/agentos/internal/testkit"
	"github.com/mark3labs/mcp-go/mcp"
)

// llmAnswer is the llm contract's result (DESIGN §13).
type llmAnswer struct {
	Message struct {
		Role      string `json:"role"`
		Content   string `json:"content"`
		ToolCalls []struct {
			ID        string         `json:"id"`
			Name      string         `json:"name"`
			Arguments map[string]any `json:"arguments"`
		} `json:"tool_calls"`
	} `json:"message"`
	Model    string `json:"model"`
	Provider string `json:"provider"`
	Usage    struct {
		InputTokens  int `json:"input_tokens"`
		OutputTokens int `json:"output_tokens"`
	} `json:"usage"`
}

// fakeLLM is one provider's API on 127.0.0.1: it answers as the real one
// does, in its wire format, and counts what it was sent. status, when not
// 0, is the HTTP status every request gets instead.
type fakeLLM struct {
	srv    *httptest.Server
	calls  atomic.Int64
	status atomic.Int64
	limit  atomic.Int64 // requests still to answer 429 with retry-after: 1
	// gate, when set, holds a stream after its first piece until it is
	// closed (or 10 s pass): a piece seen before then came through live.
	gate   chan struct{}
	last   atomic.Value // the last request body, decoded
	header atomic.Value // the last request's headers
}

func newFakeLLM(t *testing.T, answer func(f *fakeLLM, w http.ResponseWriter, body map[string]any)) *fakeLLM {
	t.Helper()
	f := &fakeLLM{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.calls.Add(1)
		raw, _ := io.ReadAll(r.Body)
		var body map[string]any
		_ = json.Unmarshal(raw, &body)
		f.last.Store(body)
		f.header.Store(r.Header.Clone())
		if f.limit.Add(-1) >= 0 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			fmt.Fprint(w, `{"error":{"message":"slow down"}}`)
			return
		}
		if st := f.status.Load(); st != 0 {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(int(st))
			fmt.Fprintf(w, `{"error":{"message":"status %d from the fake"}}`, st)
			return
		}
		answer(f, w, body)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// The OpenAI chat-completions API: a tool call whose arguments are a JSON
// string, or with stream: server-sent events, then [DONE].
func openAIServer(t *testing.T) *fakeLLM {
	return newFakeLLM(t, func(f *fakeLLM, w http.ResponseWriter, body map[string]any) {
		if body["model"] == "missing-model" { // as the API answers a model it does not have
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"error":{"message":"The model `+"`missing-model`"+` does not exist or you do not have access to it.","type":"invalid_request_error","code":"model_not_found"}}`)
			return
		}
		if body["response_format"] != nil { // as a model told the format answers
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"id":"c2","object":"chat.completion","model":"gpt-test","choices":[{"index":0,"message":{"role":"assistant","content":"{\"city\":\"Paris\",\"temp\":12}"},"finish_reason":"stop"}],"usage":{"prompt_tokens":11,"completion_tokens":7}}`)
			return
		}
		if body["stream"] == true {
			w.Header().Set("Content-Type", "text/event-stream")
			for i, piece := range []string{"Hel", "lo ", "there"} {
				fmt.Fprintf(w, "data: {\"model\":\"gpt-test\",\"choices\":[{\"index\":0,\"delta\":{\"content\":%q}}]}\n\n", piece)
				if i == 0 && f.gate != nil {
					w.(http.Flusher).Flush()
					select {
					case <-f.gate:
					case <-time.After(10 * time.Second):
					}
				}
			}
			fmt.Fprint(w, "data: {\"model\":\"gpt-test\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_1\",\"function\":{\"name\":\"lookup\",\"arguments\":\"{\\\"city\\\":\"}}]}}]}\n\n")
			fmt.Fprint(w, "data: {\"model\":\"gpt-test\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"\\\"Paris\\\"}\"}}]}}]}\n\n")
			fmt.Fprint(w, "data: {\"model\":\"gpt-test\",\"choices\":[],\"usage\":{\"prompt_tokens\":11,\"completion_tokens\":7}}\n\n")
			fmt.Fprint(w, "data: [DONE]\n\n")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"id":"c1","object":"chat.completion","model":"gpt-test","choices":[{"index":0,"message":{"role":"assistant","content":"Hello there","tool_calls":[{"id":"call_1","type":"function","function":{"name":"lookup","arguments":"{\"city\":\"Paris\"}"}}]},"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":11,"completion_tokens":7,"total_tokens":18}}`)
	})
}

// Ollama's /api/chat: arguments as an object; with stream, NDJSON lines and
// a last one with done and the counts.
func ollamaServer(t *testing.T) *fakeLLM {
	return newFakeLLM(t, func(f *fakeLLM, w http.ResponseWriter, body map[string]any) {
		w.Header().Set("Content-Type", "application/x-ndjson")
		if body["format"] != nil {
			fmt.Fprint(w, `{"model":"llama-test","message":{"role":"assistant","content":"{\"city\":\"Paris\",\"temp\":12}"},"done":true,"prompt_eval_count":11,"eval_count":7}`)
			return
		}
		if body["stream"] == true {
			for _, piece := range []string{"Hel", "lo ", "there"} {
				fmt.Fprintf(w, "{\"model\":\"llama-test\",\"message\":{\"role\":\"assistant\",\"content\":%q},\"done\":false}\n", piece)
			}
			fmt.Fprint(w, `{"model":"llama-test","message":{"role":"assistant","content":"","tool_calls":[{"function":{"name":"lookup","arguments":{"city":"Paris"}}}]},"done":false}`+"\n")
			fmt.Fprint(w, `{"model":"llama-test","message":{"role":"assistant","content":""},"done":true,"prompt_eval_count":11,"eval_count":7}`+"\n")
			return
		}
		fmt.Fprint(w, `{"model":"llama-test","message":{"role":"assistant","content":"Hello there","tool_calls":[{"function":{"name":"lookup","arguments":{"city":"Paris"}}}]},"done":true,"prompt_eval_count":11,"eval_count":7}`)
	})
}

// The Anthropic Messages API: text and tool_use blocks; with stream, its
// events (message_start, content_block_*, message_delta, message_stop).
func anthropicServer(t *testing.T) *fakeLLM {
	return newFakeLLM(t, func(f *fakeLLM, w http.ResponseWriter, body map[string]any) {
		if choice, _ := body["tool_choice"].(map[string]any); choice["type"] == "tool" { // a forced tool, called
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"id":"m2","type":"message","role":"assistant","model":"claude-test","content":[{"type":"tool_use","id":"toolu_2","name":%q,"input":{"city":"Paris","temp":12}}],"stop_reason":"tool_use","usage":{"input_tokens":11,"output_tokens":7}}`, choice["name"])
			return
		}
		if body["stream"] == true {
			w.Header().Set("Content-Type", "text/event-stream")
			ev := func(name, data string) { fmt.Fprintf(w, "event: %s\ndata: %s\n\n", name, data) }
			ev("message_start", `{"type":"message_start","message":{"id":"m1","model":"claude-test","usage":{"input_tokens":11,"output_tokens":1}}}`)
			ev("content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`)
			for _, piece := range []string{"Hel", "lo ", "there"} {
				ev("content_block_delta", fmt.Sprintf(`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":%q}}`, piece))
			}
			ev("content_block_stop", `{"type":"content_block_stop","index":0}`)
			ev("content_block_start", `{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_1","name":"lookup","input":{}}}`)
			ev("content_block_delta", `{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"city\": "}}`)
			ev("content_block_delta", `{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"\"Paris\"}"}}`)
			ev("content_block_stop", `{"type":"content_block_stop","index":1}`)
			ev("message_delta", `{"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":7}}`)
			ev("message_stop", `{"type":"message_stop"}`)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"id":"m1","type":"message","role":"assistant","model":"claude-test","content":[{"type":"text","text":"Hello there"},{"type":"tool_use","id":"toolu_1","name":"lookup","input":{"city":"Paris"}}],"stop_reason":"tool_use","usage":{"input_tokens":11,"output_tokens":7}}`)
	})
}

// llmHome is a home whose three bundled providers point at the fakes, with
// config given extra lines (capabilities policy and the like).
func llmHome(t *testing.T, oa, ol, an string, extra string) string {
	t.Helper()
	home := testkit.Home(t)
	cfg := fmt.Sprintf(`skills:
  openai:
    settings:
      base_url: %s/v1
      models: [gpt-test]
  ollama:
    settings:
      base_url: %s
      models: [llama-test]
  anthropic:
    settings:
      base_url: %s
      models: [claude-test]
%s`, oa, ol, an, extra)
	if err := os.WriteFile(filepath.Join(home, "config.yaml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return home
}

var llmParams = map[string]any{
	"messages": []map[string]any{{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Weather in Paris?"}},
	"tools":    []map[string]any{{"name": "lookup", "description": "Look a city up.", "parameters": map[string]any{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}}}},
}

// Every provider, against a server speaking its real API, gives the one
// contract: the same message, tool calls with object arguments, usage; with
// stream, the same answer and its pieces as job progress.
func TestLLMProvidersSpeakOneContract(t *testing.T) {
	oa, ol, an := openAIServer(t), ollamaServer(t), anthropicServer(t)
	home := llmHome(t, oa.srv.URL, ol.srv.URL, an.srv.URL, "")
	d := startDaemon(t, home)
	c := d.client(t)
	call(t, c, wire.MethodSecretsSet, map[string]any{"name": "openai", "value": "sk-test-openai"}, nil)
	call(t, c, wire.MethodSecretsSet, map[string]any{"name": "anthropic", "value": "sk-test-anthropic"}, nil)

	for _, stream := range []bool{false, true} {
		for _, p := range []struct {
			skill, model string
			fake         *fakeLLM
		}{{"openai", "gpt-test", oa}, {"ollama", "llama-test", ol}, {"anthropic", "claude-test", an}} {
			t.Run(fmt.Sprintf("%s stream=%v", p.skill, stream), func(t *testing.T) {
				params := map[string]any{"stream": stream}
				for k, v := range llmParams {
					params[k] = v
				}
				var started struct{ Job string }
				call(t, c, wire.MethodInvoke, map[string]any{"capability": "llm", "provider": p.skill, "params": params, "async": true}, &started)
				job := waitJob(t, c, started.Job)
				if job.State != wire.JobCompleted {
					t.Fatalf("job %+v", job)
				}
				var got llmAnswer
				if err := json.Unmarshal(job.Result, &got); err != nil {
					t.Fatal(err)
				}
				if got.Provider != p.skill || got.Model != p.model || got.Message.Role != "assistant" || got.Message.Content != "Hello there" {
					t.Errorf("answer %+v", got)
				}
				if len(got.Message.ToolCalls) != 1 || got.Message.ToolCalls[0].Name != "lookup" || got.Message.ToolCalls[0].Arguments["city"] != "Paris" {
					t.Errorf("tool calls %+v", got.Message.ToolCalls)
				}
				if got.Usage.InputTokens != 11 || got.Usage.OutputTokens != 7 {
					t.Errorf("usage %+v", got.Usage)
				}
				if stream && (job.Progress == nil || job.Progress.Current != 3 || job.Progress.Delta != "there") {
					t.Errorf("streamed pieces as progress: %+v", job.Progress)
				}
			})
		}
	}
	// The wire formats' own details reached each server.
	if h := oa.header.Load().(http.Header); h.Get("Authorization") != "Bearer sk-test-openai" {
		t.Errorf("openai auth header %q", h.Get("Authorization"))
	}
	if h := an.header.Load().(http.Header); h.Get("X-Api-Key") != "sk-test-anthropic" || h.Get("Anthropic-Version") != "2023-06-01" {
		t.Errorf("anthropic headers %v", h)
	}
	body := an.last.Load().(map[string]any)
	if body["system"] != "Be brief." || body["max_tokens"] == nil {
		t.Errorf("anthropic body: system %v, max_tokens %v", body["system"], body["max_tokens"])
	}
	if tools, _ := oa.last.Load().(map[string]any)["tools"].([]any); len(tools) != 1 {
		t.Errorf("openai tools %v", oa.last.Load())
	}
}

// A response_format asking for JSON to a schema gets JSON text as content
// from every provider, each asked in its own API's way: OpenAI's field as
// given, Ollama's format, and for Anthropic a forced tool with the schema.
func TestLLMResponseFormatFromEveryProvider(t *testing.T) {
	oa, ol, an := openAIServer(t), ollamaServer(t), anthropicServer(t)
	d := startDaemon(t, llmHome(t, oa.srv.URL, ol.srv.URL, an.srv.URL, ""))
	c := d.client(t)
	call(t, c, wire.MethodSecretsSet, map[string]any{"name": "openai", "value": "sk-o"}, nil)
	call(t, c, wire.MethodSecretsSet, map[string]any{"name": "anthropic", "value": "sk-a"}, nil)
	schema := map[string]any{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}, "temp": map[string]any{"type": "number"}}}
	format := map[string]any{"type": "json_schema", "json_schema": map[string]any{"name": "weather", "schema": schema}}
	messages := []map[string]any{{"role": "user", "content": "Weather in Paris, as JSON?"}}
	for _, skill := range []string{"openai", "ollama", "anthropic"} {
		var got llmAnswer
		call(t, c, wire.MethodInvoke, map[string]any{"capability": "llm", "provider": skill,
			"params": map[string]any{"messages": messages, "response_format": format}}, &got)
		var answer map[string]any
		if err := json.Unmarshal([]byte(got.Message.Content), &answer); err != nil || answer["city"] != "Paris" || answer["temp"] != 12.0 {
			t.Errorf("%s: content %q is not the JSON asked for (%v)", skill, got.Message.Content, err)
		}
		if len(got.Message.ToolCalls) != 0 {
			t.Errorf("%s: the format came back as a tool call: %+v", skill, got.Message.ToolCalls)
		}
	}
	if body := oa.last.Load().(map[string]any); !reflect.DeepEqual(body["response_format"], jsonRoundTrip(t, format)) {
		t.Errorf("openai was sent response_format %v", body["response_format"])
	}
	if body := ol.last.Load().(map[string]any); !reflect.DeepEqual(body["format"], jsonRoundTrip(t, schema)) {
		t.Errorf("ollama was sent format %v", body["format"])
	}
	body := an.last.Load().(map[string]any)
	tools, _ := body["tools"].([]any)
	if len(tools) != 1 || !reflect.DeepEqual(tools[0].(map[string]any)["input_schema"], jsonRoundTrip(t, schema)) {
		t.Errorf("anthropic was sent tools %v", body["tools"])
	}

	// A format that is none of the three is the caller's mistake: invalid, no fallback.
	err := c.Call(context.Background(), wire.MethodInvoke, map[string]any{"capability": "llm", "provider": "ollama",
		"params": map[string]any{"messages": messages, "response_format": map[string]any{"type": "yaml"}}}, nil)
	if !wire.IsKind(err, wire.KindInvalid) || !strings.Contains(err.Error(), "json_object") {
		t.Errorf("a bad response_format: %v", err)
	}
}

func jsonRoundTrip(t *testing.T, v any) any {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// waitJob follows job id until it ends.
func waitJob(t *testing.T, c *wire.Client, id string) wire.Job {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var j wire.Job
		call(t, c, wire.MethodJobsGet, map[string]any{"id": id}, &j)
		if j.State != wire.JobRunning {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s still %s", id, j.State)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Routing (DESIGN §13): local-first with ollama down falls back to the
// next provider; a 401 falls back; a 429 is retried once; a 400 does not
// fall back; a model name picks the provider that lists it; a missing key
// says how to set it.
func TestLLMRoutingAndFailures(t *testing.T) {
	oa, an := openAIServer(t), anthropicServer(t)
	down, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	downURL := "http://" + down.Addr().String()
	down.Close() // nothing listens there: connection refused
	home := llmHome(t, oa.srv.URL, downURL, an.srv.URL, "capabilities:\n  llm:\n    policy: local-first\n")
	d := startDaemon(t, home)
	c := d.client(t)
	invoke := func(params map[string]any) (wire.Job, llmAnswer) {
		t.Helper()
		var started struct{ Job string }
		call(t, c, wire.MethodInvoke, map[string]any{"capability": "llm", "params": params, "async": true}, &started)
		j := waitJob(t, c, started.Job)
		var got llmAnswer
		_ = json.Unmarshal(j.Result, &got)
		return j, got
	}
	chat := map[string]any{"messages": []map[string]any{{"role": "user", "content": "hi"}}}

	t.Run("a missing key is unavailable and names the fix", func(t *testing.T) {
		var out any
		err := c.Call(context.Background(), wire.MethodSkillsRun, map[string]any{"skill": "anthropic", "tool": "chat", "params": chat}, &out)
		if err == nil || !strings.Contains(err.Error(), "agentos secrets set anthropic") {
			t.Fatalf("anthropic without a key: %v", err)
		}
	})
	call(t, c, wire.MethodSecretsSet, map[string]any{"name": "openai", "value": "sk-o"}, nil)
	call(t, c, wire.MethodSecretsSet, map[string]any{"name": "anthropic", "value": "sk-a"}, nil)

	t.Run("ollama down and anthropic 401: openai answers", func(t *testing.T) {
		an.status.Store(401)
		defer an.status.Store(0)
		j, got := invoke(chat)
		if j.State != wire.JobCompleted || got.Provider != "openai" {
			t.Fatalf("job %+v answer %+v", j, got)
		}
		if len(j.Attempts) != 2 || j.Attempts[0].Skill != "ollama" || j.Attempts[1].Skill != "anthropic" ||
			j.Attempts[0].Kind != wire.KindUnavailable || j.Attempts[1].Kind != wire.KindUnavailable {
			t.Errorf("attempts %+v", j.Attempts)
		}
	})
	t.Run("a 429 is retried once after its retry-after", func(t *testing.T) {
		oa.limit.Store(1)
		before := oa.calls.Load()
		var started struct{ Job string }
		call(t, c, wire.MethodInvoke, map[string]any{"capability": "llm", "provider": "openai", "params": chat, "async": true}, &started)
		if j := waitJob(t, c, started.Job); j.State != wire.JobCompleted || oa.calls.Load()-before != 2 {
			t.Fatalf("job %+v after %d requests", j, oa.calls.Load()-before)
		}
	})
	t.Run("a 400 does not fall back", func(t *testing.T) {
		// Ranked now: ollama (local, down), openai (healthy), anthropic
		// (refused the key a moment ago).
		oa.status.Store(400)
		defer oa.status.Store(0)
		before := an.calls.Load()
		j, _ := invoke(chat)
		if j.State != wire.JobFailed || j.Error == nil || j.Error.Kind != wire.KindInvalid || !strings.Contains(j.Error.Message, "HTTP 400") {
			t.Fatalf("job %+v", j)
		}
		if an.calls.Load() != before {
			t.Error("anthropic was tried after openai's 400")
		}
	})
	t.Run("an unknown model says so", func(t *testing.T) {
		var out any
		err := c.Call(context.Background(), wire.MethodInvoke, map[string]any{"capability": "llm", "provider": "openai",
			"params": map[string]any{"model": "missing-model", "messages": chat["messages"]}}, &out)
		var we *wire.Error
		if !errors.As(err, &we) || we.Kind != wire.KindUnavailable || !strings.Contains(we.Message, "has no model 'missing-model'") {
			t.Fatalf("unknown model: %v", err)
		}
	})
	t.Run("a model name picks the provider that lists it", func(t *testing.T) {
		params := map[string]any{"model": "gpt-test"}
		for k, v := range chat {
			params[k] = v
		}
		j, got := invoke(params)
		if got.Provider != "openai" || len(j.Attempts) != 0 {
			t.Fatalf("model gpt-test: job %+v answer %+v", j, got)
		}
	})
}

// stream: true is live: the first piece of the answer is the job's progress
// while the server still holds back the rest.
func TestLLMStreamsLive(t *testing.T) {
	oa := openAIServer(t)
	oa.gate = make(chan struct{})
	home := llmHome(t, oa.srv.URL, "http://127.0.0.1:9", "http://127.0.0.1:9", "")
	d := startDaemon(t, home)
	c := d.client(t)
	call(t, c, wire.MethodSecretsSet, map[string]any{"name": "openai", "value": "sk-o"}, nil)
	params := map[string]any{"stream": true, "messages": []map[string]any{{"role": "user", "content": "hi"}}}
	var started struct{ Job string }
	call(t, c, wire.MethodInvoke, map[string]any{"capability": "llm", "provider": "openai", "params": params, "async": true}, &started)
	deadline := time.Now().Add(8 * time.Second)
	for {
		var j wire.Job
		call(t, c, wire.MethodJobsGet, map[string]any{"id": started.Job}, &j)
		if j.Progress != nil && j.Progress.Delta == "Hel" {
			break
		}
		if j.State != wire.JobRunning || time.Now().After(deadline) {
			t.Fatalf("the first piece was not seen while the stream was held: %+v", j)
		}
		time.Sleep(20 * time.Millisecond)
	}
	close(oa.gate)
	j := waitJob(t, c, started.Job)
	var got llmAnswer
	if err := json.Unmarshal(j.Result, &got); err != nil || got.Message.Content != "Hello there" {
		t.Fatalf("job %+v", j)
	}
}

// agentos invoke prints a streamed answer's pieces on stderr as they come,
// and the result on stdout as always.
func TestInvokePrintsAStreamedAnswer(t *testing.T) {
	oa := openAIServer(t)
	home := llmHome(t, oa.srv.URL, "http://127.0.0.1:9", "http://127.0.0.1:9", "")
	d := startDaemon(t, home)
	call(t, d.client(t), wire.MethodSecretsSet, map[string]any{"name": "openai", "value": "sk-o"}, nil)
	r := agentos(t, home, "invoke", "--provider", "openai", "llm", `{"stream": true, "messages": [{"role": "user", "content": "hi"}]}`)
	if r.code != 0 || !strings.Contains(r.stderr, "Hello there\n") || !strings.Contains(r.stdout, `"content": "Hello there"`) {
		t.Fatalf("invoke: %+v", r)
	}
}

// A streamed answer's pieces reach an MCP client as progress notifications
// and a browser app as job.progress events on the bridge's event stream.
func TestStreamedAnswerReachesMCPAndTheBridge(t *testing.T) {
	oa := openAIServer(t)
	home := llmHome(t, oa.srv.URL, "http://127.0.0.1:9", "http://127.0.0.1:9", "")
	d, bridgeURL := startDaemonBridge(t, home)
	call(t, d.client(t), wire.MethodSecretsSet, map[string]any{"name": "openai", "value": "sk-o"}, nil)

	// The bridge's stream, read from before the call.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", bridgeURL+"/observer/stream", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	deltas := make(chan string, 64)
	go func() {
		sc := bufio.NewScanner(res.Body)
		for sc.Scan() {
			data, ok := strings.CutPrefix(sc.Text(), "data: ")
			if !ok {
				continue
			}
			var ev wire.Event
			if json.Unmarshal([]byte(data), &ev) == nil && ev.Type == wire.EventJobProgress {
				if s, _ := ev.Data["delta"].(string); s != "" {
					deltas <- s
				}
			}
		}
	}()

	c := mcpSession(t, home, "--no-autostart")
	if err := c.Start(ctx); err != nil { // wires the notification handlers
		t.Fatal(err)
	}
	var mu sync.Mutex
	var messages []string
	c.OnNotification(func(n mcp.JSONRPCNotification) {
		if n.Method == string(mcp.MethodNotificationProgress) {
			mu.Lock()
			messages = append(messages, fmt.Sprint(n.Params.AdditionalFields["message"]))
			mu.Unlock()
		}
	})
	var call mcp.CallToolRequest
	call.Params.Name = "llm"
	call.Params.Arguments = map[string]any{"stream": true, "messages": []map[string]any{{"role": "user", "content": "hi"}}}
	call.Params.Meta = &mcp.Meta{ProgressToken: "s1"}
	out, err := c.CallTool(ctx, call)
	if err != nil || out.IsError {
		t.Fatalf("llm over MCP: %v %+v", err, out)
	}
	want := []string{"Hel", "lo ", "there"}
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		got := slices.Clone(messages)
		mu.Unlock()
		if slices.Equal(got, want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("MCP progress messages %q, want %q", got, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
	var seen []string
	for len(seen) < len(want) {
		select {
		case s := <-deltas:
			seen = append(seen, s)
		case <-ctx.Done():
			t.Fatalf("bridge stream deltas %q, want %q", seen, want)
		}
	}
	if !slices.Equal(seen, want) {
		t.Errorf("bridge stream deltas %q, want %q", seen, want)
	}
}
