"""Helpers for skills that provide ``llm`` (DESIGN §13): the one contract every
provider speaks, whatever its API.

A call's params::

    {"messages": [{"role": "system" | "user" | "assistant" | "tool", "content": str,
                   "tool_calls"?: [...], "tool_call_id"?: str}],
     "model"?: str, "temperature"?: float, "max_tokens"?: int,
     "tools"?: [{"name", "description", "parameters"}], "response_format"?: ..., "stream"?: bool}

and its result::

    {"message": {"role": "assistant", "content": str,
                 "tool_calls"?: [{"id": str, "name": str, "arguments": {...}}]},
     "model": str, "provider": str, "usage": {"input_tokens": int, "output_tokens": int}}

``arguments`` is always an object, whatever the provider sent (OpenAI sends a JSON
string). Failures are ``OpError`` kinds the engine routes on: ``unavailable``
(connection refused, 401, 403, 429 after one retry, 5xx, a model the provider does
not have) makes the engine try the next provider; ``invalid`` (a 400) does not.
"""

import json
import time

from ._conn import OpError
from ._ops import _emit, http

__all__ = ["check", "post", "json_format", "tool_arguments", "result", "stream_delta", "sse_events"]

_RETRY_MAX = 30.0  # seconds of retry-after honoured, once


def check(params: dict) -> list:
    """The call's messages, checked: a list of objects with a string role."""
    messages = params.get("messages")
    if not isinstance(messages, list) or not messages:
        raise OpError("invalid", "llm: messages must be a non-empty list of {role, content}")
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or not isinstance(m.get("role"), str):
            raise OpError("invalid", f"llm: messages[{i}] must be an object with a role")
    tools = params.get("tools")
    if tools is not None and (not isinstance(tools, list)
                              or not all(isinstance(t, dict) and isinstance(t.get("name"), str) for t in tools)):
        raise OpError("invalid", "llm: tools must be a list of {name, description, parameters}")
    return messages


def json_format(response_format) -> dict | None:
    """The JSON Schema a call's ``response_format`` asks the answer to follow, in
    OpenAI's two forms: ``{"type": "json_object"}`` (any object: ``{"type":
    "object"}``) and ``{"type": "json_schema", "json_schema": {"name", "schema"}}``.
    None for ``{"type": "text"}`` or no format; anything else is ``invalid``."""
    if response_format is None:
        return None
    kind = response_format.get("type") if isinstance(response_format, dict) else None
    if kind == "text":
        return None
    if kind == "json_object":
        return {"type": "object"}
    if kind == "json_schema":
        spec = response_format.get("json_schema")
        schema = spec.get("schema") if isinstance(spec, dict) else None
        if isinstance(schema, dict):
            return schema
        raise OpError("invalid", 'llm: response_format json_schema needs {"json_schema": {"name": ..., "schema": {...}}}')
    raise OpError("invalid", 'llm: response_format must be {"type": "text" | "json_object" | "json_schema"}')


def post(provider: str, url: str, headers: dict, body: dict, timeout: float = 120.0, stream: bool = False):
    """POSTs body as JSON and returns the response of a 2xx answer (with stream, a
    StreamResponse whose body is read as it comes); any other answer is an
    OpError of the kind DESIGN §13 gives it. A 429 is retried once after its
    retry-after (at most 30 s)."""
    for attempt in (1, 2):
        try:
            if stream:
                r = http.stream("POST", url, headers=headers, json=body, timeout=timeout)
            else:
                r = http.post(url, headers=headers, json=body, timeout=timeout)
        except OpError as e:
            # connection refused, no route, a timeout: the provider is down
            kind = "unavailable" if e.kind in ("unavailable", "timeout") else e.kind
            raise OpError(kind, f"{provider} at {_origin(url)} is not answering: {e.message}") from None
        if 200 <= r.status < 300:
            return r
        if stream:  # the error's words, read whole
            text = r.read().decode("utf-8", "replace")
            r = _Whole(r.status, r.headers, text)
        if r.status == 429 and attempt == 1:
            wait = _retry_after(r.headers.get("retry-after"))
            if wait is not None:
                time.sleep(wait)
                continue
        raise _status_error(provider, url, r, body.get("model"))
    raise AssertionError("unreachable")


class _Whole:
    """A streamed error answer, read whole, as _status_error reads responses."""

    def __init__(self, status: int, headers, text: str) -> None:
        self.status, self.headers, self.text = status, headers, text

    def json(self) -> object:
        return json.loads(self.text)


def _retry_after(value) -> float | None:
    try:
        wait = float(value)
    except (TypeError, ValueError):
        return None
    return min(max(wait, 0.0), _RETRY_MAX)


def _origin(url: str) -> str:
    scheme, _, rest = url.partition("://")
    return scheme + "://" + rest.split("/", 1)[0]


def _status_error(provider: str, url: str, r, model) -> OpError:
    detail = _error_text(r)
    where = f"{provider} ({_origin(url)})"
    if r.status in (401, 403):
        return OpError("unavailable", f"{where} refused the key (HTTP {r.status}): {detail}")
    if r.status == 429:
        return OpError("unavailable", f"{where} is rate-limiting (HTTP 429): {detail}")
    if r.status >= 500:
        return OpError("unavailable", f"{where} failed (HTTP {r.status}): {detail}")
    if r.status == 404 and model and ("model" in detail.lower() or "not found" in detail.lower()):
        return OpError("unavailable", f"{where} has no model {model!r}: {detail}")
    return OpError("invalid", f"{where} rejected the request (HTTP {r.status}): {detail}")


def _error_text(r) -> str:
    """The provider's own words: error.message (OpenAI, Anthropic), error (Ollama)."""
    try:
        data = r.json()
    except ValueError:
        return r.text.strip()[:300] or "no details"
    if isinstance(data, dict):
        err = data.get("error")
        if isinstance(err, dict) and err.get("message"):
            return str(err["message"])[:300]
        if isinstance(err, str):
            return err[:300]
    return json.dumps(data)[:300]


def tool_arguments(raw) -> dict:
    """A tool call's arguments as an object: OpenAI sends a JSON string, others an
    object; anything that is not an object is kept under "_raw"."""
    if isinstance(raw, dict):
        return raw
    if isinstance(raw, str):
        try:
            value = json.loads(raw) if raw.strip() else {}
        except ValueError:
            return {"_raw": raw}
        return value if isinstance(value, dict) else {"_raw": value}
    return {} if raw is None else {"_raw": raw}


def result(provider: str, model: str, content: str, tool_calls: list, input_tokens, output_tokens) -> dict:
    """The contract's result."""
    message = {"role": "assistant", "content": content or ""}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return {"message": message, "model": model, "provider": provider,
            "usage": {"input_tokens": int(input_tokens or 0), "output_tokens": int(output_tokens or 0)}}


def stream_delta(count: int, text: str) -> None:
    """Reports one streamed piece of the answer as job progress (DESIGN §13
    ``{delta}``): ``current`` counts the pieces so far, ``delta`` is the piece."""
    if text:
        _emit({"type": "progress", "current": count, "total": None, "message": "", "delta": text}, text)


def sse_events(lines):
    """The (event, data) pairs of a text/event-stream, from its text or an
    iterable of its lines (StreamResponse.lines(), as they arrive); data is
    joined over its lines, comments and empty events are skipped."""
    if isinstance(lines, str):
        lines = lines.splitlines()
    event, data = "", []
    for line in _then_blank(lines):
        if not line:
            if data:
                yield event or "message", "\n".join(data)
            event, data = "", []
        elif line.startswith(":"):
            continue
        else:
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "event":
                event = value
            elif field == "data":
                data.append(value)


def _then_blank(lines):
    yield from lines
    yield ""
