"""llm over the Anthropic Messages API (stdlib only)."""
import json

from agentos import OpError, llm, provides, secrets, settings, timeout


# The Messages API has no response_format. A JSON answer is asked for as
# Anthropic's docs advise: a tool whose input schema is the format, which the
# model is made to call; its input is then the answer's content, as text.
_ANSWER_TOOL = "json_answer"


def _key() -> str:
    try:
        return secrets.get("anthropic")
    except OpError as e:
        if e.kind == "not_found":
            raise OpError("unavailable", "anthropic: no API key: run `agentos secrets set anthropic`") from None
        raise


def _messages(messages: list) -> tuple[str, list]:
    """The system prompt and the conversation in the Messages API's form."""
    system, out = [], []
    for m in messages:
        role, content = m["role"], m.get("content") or ""
        if role == "system":
            system.append(content)
        elif role == "tool":
            block = {"type": "tool_result", "tool_use_id": m.get("tool_call_id", ""), "content": content}
            if out and out[-1]["role"] == "user" and isinstance(out[-1]["content"], list):
                out[-1]["content"].append(block)
            else:
                out.append({"role": "user", "content": [block]})
        elif role == "assistant" and m.get("tool_calls"):
            blocks = [{"type": "text", "text": content}] if content else []
            blocks += [{"type": "tool_use", "id": c.get("id", ""), "name": c["name"], "input": c.get("arguments") or {}}
                       for c in m["tool_calls"]]
            out.append({"role": "assistant", "content": blocks})
        else:
            out.append({"role": "assistant" if role == "assistant" else "user", "content": content})
    return "\n\n".join(system), out


@provides("llm", local=False)
@timeout(300)
def chat(messages: list, model: str | None = None, temperature: float | None = None,
         max_tokens: int | None = None, tools: list | None = None,
         response_format: dict | None = None, stream: bool = False) -> dict:
    """Send a chat to Claude and return the assistant's answer.

    Args:
        messages: the conversation, [{role, content}], oldest first
        model: the model; default the `model` setting
        temperature: sampling temperature
        max_tokens: the longest answer, in tokens (default the `max_tokens` setting)
        tools: functions the model may call, [{name, description, parameters}]
        response_format: {"type": "json_object"} or {"type": "json_schema", "json_schema": {"schema": ...}}: the answer's content is JSON text
        stream: report the answer's pieces as progress while it comes
    """
    llm.check({"messages": messages, "tools": tools})
    base = str(settings.get("base_url", "https://api.anthropic.com")).rstrip("/")
    model = model or settings.get("model", "claude-sonnet-4-5")
    system, conversation = _messages(messages)
    body: dict = {"model": model, "messages": conversation,
                  "max_tokens": int(max_tokens or settings.get("max_tokens", 1024))}
    if system:
        body["system"] = system
    if temperature is not None:
        body["temperature"] = temperature
    if tools:
        body["tools"] = [{"name": t["name"], "description": t.get("description", ""),
                          "input_schema": t.get("parameters") or {"type": "object"}} for t in tools]
    schema = llm.json_format(response_format)
    if schema is not None:
        body.setdefault("tools", []).append({"name": _ANSWER_TOOL, "input_schema": schema,
                                             "description": "Give the final answer, in this format."})
        # with tools of its own the model may call those first; it must call one
        body["tool_choice"] = {"type": "any"} if tools else {"type": "tool", "name": _ANSWER_TOOL}
    if stream:
        body["stream"] = True
    headers = {"x-api-key": _key(), "anthropic-version": "2023-06-01",
               "Accept": "text/event-stream" if stream else "application/json"}
    r = llm.post("anthropic", base + "/v1/messages", headers, body, stream=stream)
    return _streamed(r.lines(), model) if stream else _answer(r.json(), model)


def _answer(data: dict, model: str) -> dict:
    text, calls = [], []
    for block in data.get("content") or []:
        if block.get("type") == "text":
            text.append(block.get("text", ""))
        elif block.get("type") == "tool_use":
            calls.append({"id": block.get("id", ""), "name": block.get("name", ""), "arguments": llm.tool_arguments(block.get("input"))})
    usage = data.get("usage") or {}
    return llm.result("anthropic", data.get("model", model), *_fold_answer("".join(text), calls),
                      usage.get("input_tokens"), usage.get("output_tokens"))


def _fold_answer(text: str, calls: list) -> tuple[str, list]:
    """The answer tool's input, if the model called it, as the content."""
    for c in calls:
        if c["name"] == _ANSWER_TOOL:
            return json.dumps(c["arguments"]), [o for o in calls if o is not c]
    return text, calls


def _streamed(lines, model: str) -> dict:
    """An answer sent as Messages API events: content blocks started, their deltas
    (text, or tool input as partial JSON), and the usage in message_start/delta."""
    blocks, usage, pieces = {}, {}, 0
    for event, data in llm.sse_events(lines):
        try:
            ev = json.loads(data)
        except ValueError:
            raise OpError("unavailable", f"anthropic: a stream event that is not JSON: {data[:120]}") from None
        kind = ev.get("type", event)
        if kind == "message_start":
            msg = ev.get("message") or {}
            model = msg.get("model", model)
            usage.update(msg.get("usage") or {})
        elif kind == "content_block_start":
            b = dict(ev.get("content_block") or {})
            b["_json"] = ""
            blocks[ev.get("index", len(blocks))] = b
        elif kind == "content_block_delta":
            b = blocks.setdefault(ev.get("index", 0), {"type": "text", "text": "", "_json": ""})
            d = ev.get("delta") or {}
            if d.get("type") == "text_delta":
                b["text"] = b.get("text", "") + d.get("text", "")
                pieces += 1
                llm.stream_delta(pieces, d.get("text", ""))
            elif d.get("type") == "input_json_delta":
                b["_json"] += d.get("partial_json", "")
        elif kind == "message_delta":
            usage.update(ev.get("usage") or {})
        elif kind == "error":
            err = ev.get("error") or {}
            raise OpError("unavailable", f"anthropic: {err.get('type', 'error')}: {err.get('message', '')}")
    text, calls = [], []
    for _, b in sorted(blocks.items()):
        if b.get("type") == "text":
            text.append(b.get("text", ""))
        elif b.get("type") == "tool_use":
            args = llm.tool_arguments(b["_json"]) if b["_json"] else llm.tool_arguments(b.get("input"))
            calls.append({"id": b.get("id", ""), "name": b.get("name", ""), "arguments": args})
    return llm.result("anthropic", model, *_fold_answer("".join(text), calls),
                      usage.get("input_tokens"), usage.get("output_tokens"))
