"""llm over Ollama's /api/chat (stdlib only)."""
import json

from agentos import OpError, llm, provides, settings, timeout


def _message(m: dict) -> dict:
    out = {"role": m["role"], "content": m.get("content") or ""}
    if m.get("tool_calls"):
        out["tool_calls"] = [{"function": {"name": c["name"], "arguments": c.get("arguments") or {}}} for c in m["tool_calls"]]
    return out


@provides("llm", local=True)
@timeout(300)
def chat(messages: list, model: str | None = None, temperature: float | None = None,
         max_tokens: int | None = None, tools: list | None = None,
         response_format: dict | None = None, stream: bool = False) -> dict:
    """Send a chat to the local Ollama and return the assistant's answer.

    Args:
        messages: the conversation, [{role, content}], oldest first
        model: the model; default the `model` setting
        temperature: sampling temperature
        max_tokens: the longest answer, in tokens
        tools: functions the model may call, [{name, description, parameters}]
        response_format: {"type": "json_object"} or {"type": "json_schema", "json_schema": {"schema": ...}} asks for JSON
        stream: report the answer's pieces as progress while it comes
    """
    llm.check({"messages": messages, "tools": tools})
    base = str(settings.get("base_url", "http://127.0.0.1:11434")).rstrip("/")
    model = model or settings.get("model", "llama3.2")
    body: dict = {"model": model, "messages": [_message(m) for m in messages], "stream": bool(stream)}
    options = {}
    if temperature is not None:
        options["temperature"] = temperature
    if max_tokens is not None:
        options["num_predict"] = max_tokens
    if options:
        body["options"] = options
    if tools:
        body["tools"] = [{"type": "function", "function": {"name": t["name"], "description": t.get("description", ""),
                                                           "parameters": t.get("parameters") or {"type": "object"}}}
                         for t in tools]
    schema = llm.json_format(response_format)
    if schema is not None:  # Ollama takes "json" or a JSON Schema
        body["format"] = "json" if schema == {"type": "object"} else schema
    r = llm.post("ollama", base + "/api/chat", {"Accept": "application/x-ndjson"}, body, stream=stream)
    lines = (ln for ln in r.lines() if ln.strip()) if stream else [r.text]
    text, calls, pieces, last = [], [], 0, {}
    for ln in lines:
        try:
            chunk = json.loads(ln)
        except ValueError:
            raise OpError("unavailable", f"ollama: an answer that is not JSON: {ln[:120]}") from None
        if chunk.get("error"):
            raise OpError("unavailable", f"ollama: {chunk['error']}")
        msg = chunk.get("message") or {}
        if msg.get("content"):
            text.append(msg["content"])
            if stream:
                pieces += 1
                llm.stream_delta(pieces, msg["content"])
        for i, c in enumerate(msg.get("tool_calls") or []):
            fn = c.get("function") or {}
            calls.append({"id": c.get("id") or f"call_{len(calls)}", "name": fn.get("name", ""),
                          "arguments": llm.tool_arguments(fn.get("arguments"))})
        last = chunk
    return llm.result("ollama", last.get("model", model), "".join(text), calls,
                      last.get("prompt_eval_count"), last.get("eval_count"))
