"""llm over an OpenAI-compatible /chat/completions API (stdlib only)."""
import json

from agentos import OpError, llm, provides, secrets, settings, timeout

_DEFAULT_BASE = "https://api.openai.com/v1"


def _key(base: str) -> str | None:
    try:
        return secrets.get("openai")
    except OpError as e:
        if e.kind != "not_found":
            raise
    if base.rstrip("/") == _DEFAULT_BASE:
        raise OpError("unavailable", "openai: no API key: run `agentos secrets set openai`")
    return None


def _message(m: dict) -> dict:
    """A contract message in OpenAI's form (tool calls' arguments as JSON strings)."""
    out = {"role": m["role"], "content": m.get("content") or ""}
    if m.get("tool_calls"):
        out["tool_calls"] = [{"id": c.get("id", ""), "type": "function",
                              "function": {"name": c["name"], "arguments": json.dumps(c.get("arguments") or {})}}
                             for c in m["tool_calls"]]
    if m.get("tool_call_id"):
        out["tool_call_id"] = m["tool_call_id"]
    return out


@provides("llm", local=False)
@timeout(300)
def chat(messages: list, model: str | None = None, temperature: float | None = None,
         max_tokens: int | None = None, tools: list | None = None,
         response_format: dict | None = None, stream: bool = False) -> dict:
    """Send a chat to an OpenAI-compatible API and return the assistant's answer.

    Args:
        messages: the conversation, [{role, content}], oldest first
        model: the model; default the `model` setting
        temperature: sampling temperature
        max_tokens: the longest answer, in tokens
        tools: functions the model may call, [{name, description, parameters}]
        response_format: {"type": "json_object"} or {"type": "json_schema", "json_schema": {"name", "schema"}}
        stream: report the answer's pieces as progress while it comes
    """
    params = {"messages": messages, "tools": tools}
    llm.check(params)
    base = str(settings.get("base_url", _DEFAULT_BASE)).rstrip("/")
    model = model or settings.get("model", "gpt-4o-mini")
    body: dict = {"model": model, "messages": [_message(m) for m in messages]}
    if temperature is not None:
        body["temperature"] = temperature
    if max_tokens is not None:
        body["max_tokens"] = max_tokens
    if tools:
        body["tools"] = [{"type": "function", "function": {"name": t["name"], "description": t.get("description", ""),
                                                           "parameters": t.get("parameters") or {"type": "object"}}}
                         for t in tools]
    if response_format is not None:
        llm.json_format(response_format)  # checked, then sent as given
        body["response_format"] = response_format
    if stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    headers = {"Accept": "text/event-stream" if stream else "application/json"}
    key = _key(base)
    if key:
        headers["Authorization"] = "Bearer " + key
    r = llm.post("openai", base + "/chat/completions", headers, body, stream=stream)
    return _streamed(r.lines(), model) if stream else _answer(r.json(), model)


def _answer(data: dict, model: str) -> dict:
    try:
        msg = data["choices"][0]["message"]
    except (KeyError, IndexError, TypeError):
        raise OpError("unavailable", f"openai: an answer without choices: {json.dumps(data)[:200]}") from None
    calls = [{"id": c.get("id", ""), "name": c["function"]["name"], "arguments": llm.tool_arguments(c["function"].get("arguments"))}
             for c in msg.get("tool_calls") or []]
    usage = data.get("usage") or {}
    return llm.result("openai", data.get("model", model), msg.get("content") or "", calls,
                      usage.get("prompt_tokens"), usage.get("completion_tokens"))


def _streamed(lines, model: str) -> dict:
    """An answer sent as server-sent events: content deltas, tool call fragments
    (by index), and the usage in the last chunk."""
    text, calls, usage, pieces = [], {}, {}, 0
    for _event, data in llm.sse_events(lines):
        if data.strip() == "[DONE]":
            break
        try:
            chunk = json.loads(data)
        except ValueError:
            raise OpError("unavailable", f"openai: a stream chunk that is not JSON: {data[:120]}") from None
        model = chunk.get("model") or model
        usage = chunk.get("usage") or usage
        for choice in chunk.get("choices") or []:
            delta = choice.get("delta") or {}
            if delta.get("content"):
                pieces += 1
                text.append(delta["content"])
                llm.stream_delta(pieces, delta["content"])
            for tc in delta.get("tool_calls") or []:
                c = calls.setdefault(tc.get("index", 0), {"id": "", "name": "", "arguments": ""})
                c["id"] = tc.get("id") or c["id"]
                fn = tc.get("function") or {}
                c["name"] += fn.get("name") or ""
                c["arguments"] += fn.get("arguments") or ""
    tool_calls = [{"id": c["id"], "name": c["name"], "arguments": llm.tool_arguments(c["arguments"])}
                  for _, c in sorted(calls.items())]
    return llm.result("openai", model, "".join(text), tool_calls, usage.get("prompt_tokens"), usage.get("completion_tokens"))
