"""The SDK's doors to the engine: http, secrets, graph, capability, progress, log.

Each op is a request over the worker protocol; the engine checks it against the
skill's allowed-tools and answers. Every op has a blocking form (works in sync and
async tools alike) and an ``a``-prefixed awaitable form for async tools that want
several ops in flight (``await asyncio.gather(http.aget(a), http.aget(b))``).
"""

import json as _json
import sys

from . import _conn


def _op(name: str, params: dict, patch: str) -> object:
    return _conn.current(patch, patch).op(name, params)


async def _aop(name: str, params: dict, patch: str) -> object:
    return await _conn.current(patch, patch).aop(name, params)


# -- http


class Headers(dict):
    """Response headers: a dict whose lookups ignore case, like HTTP's."""

    def __init__(self, items: dict | None = None) -> None:
        super().__init__((str(k).lower(), v) for k, v in (items or {}).items())

    def __getitem__(self, key: str) -> str:
        return super().__getitem__(key.lower())

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and super().__contains__(key.lower())

    def get(self, key: str, default: object = None) -> object:
        return super().get(key.lower(), default)


class Response:
    """An HTTP response as the engine fetched it. Any status is a response; only a
    request that got no response at all raises OpError (e.g. kind ``unavailable``)."""

    def __init__(self, result: dict) -> None:
        if not isinstance(result, dict):
            raise _conn.OpError("internal", "http.request answered without a response object")
        self.status: int = int(result.get("status") or 0)
        self.headers: Headers = Headers(result.get("headers"))
        self.text: str = result.get("body") or ""
        self._b64: str | None = result.get("body_b64")

    @property
    def ok(self) -> bool:
        """True for a 2xx status."""
        return 200 <= self.status < 300

    @property
    def content(self) -> bytes:
        """The body as bytes (exact even when it is not UTF-8 text)."""
        if self._b64 is not None:
            import base64

            return base64.b64decode(self._b64)
        return self.text.encode()

    def json(self) -> object:
        """The body parsed as JSON (raises ValueError if it is not JSON)."""
        return _json.loads(self.text)

    def __repr__(self) -> str:
        return f"<Response {self.status}>"


class StreamResponse:
    """An HTTP response whose body is read as it arrives (``http.stream``).
    Iterate ``chunks()`` (bytes) or ``lines()`` (str, UTF-8, without the line
    end); ``read()`` takes the rest at once. The engine closes it when the
    call ends."""

    def __init__(self, result: dict) -> None:
        if not isinstance(result, dict) or "stream" not in result:
            raise _conn.OpError("internal", "http.request answered a stream request without a stream")
        self.status: int = int(result.get("status") or 0)
        self.headers: Headers = Headers(result.get("headers"))
        self._id = str(result["stream"])
        self._done = False

    @property
    def ok(self) -> bool:
        """True for a 2xx status."""
        return 200 <= self.status < 300

    def chunks(self):
        """The body's pieces as the server sends them."""
        import base64

        while not self._done:
            r = _op("http.read", {"stream": self._id}, "http.read")
            self._done = bool(r.get("eof"))
            data = base64.b64decode(r.get("data_b64") or "")
            if data:
                yield data

    def lines(self):
        """The body's lines as they come, decoded as UTF-8 (bad bytes replaced)."""
        import codecs

        dec = codecs.getincrementaldecoder("utf-8")("replace")
        rest = ""
        for chunk in self.chunks():
            rest += dec.decode(chunk)
            *done, rest = rest.split("\n")
            for line in done:
                yield line[:-1] if line.endswith("\r") else line
        rest += dec.decode(b"", final=True)
        if rest:
            yield rest

    def read(self) -> bytes:
        """The rest of the body."""
        return b"".join(self.chunks())

    def __repr__(self) -> str:
        return f"<StreamResponse {self.status}>"


def _http_params(method: str, url: str, headers: dict | None, body: object,
                 json: object, timeout: float | None) -> dict:
    """The http.request op params (docs/worker-protocol.md)."""
    if not isinstance(url, str) or not url:
        raise TypeError("http.request needs a URL string")
    p: dict = {"method": str(method).upper(), "url": url}
    hdrs = {str(k): str(v) for k, v in (headers or {}).items()}
    if json is not None:
        if body is not None:
            raise TypeError("http.request takes body= or json=, not both")
        body = _json.dumps(json, allow_nan=False)
        if not any(k.lower() == "content-type" for k in hdrs):
            hdrs["Content-Type"] = "application/json"
    if hdrs:
        p["headers"] = hdrs
    if isinstance(body, str):
        p["body"] = body
    elif isinstance(body, (bytes, bytearray, memoryview)):
        import base64

        p["body_b64"] = base64.b64encode(bytes(body)).decode("ascii")
    elif body is not None:
        raise TypeError(f"http.request body must be str or bytes, not {type(body).__name__} "
                        "(use json= for JSON)")
    if timeout is not None:
        p["timeout"] = float(timeout)
    return p


class _HTTP:
    """``agentos.http``: HTTP through the engine (the skill has no network of its own)."""

    def request(self, method: str, url: str, headers: dict | None = None, body: object = None,
                json: object = None, timeout: float | None = None) -> Response:
        """Send one request and return its Response. ``body`` is str or bytes;
        ``json`` is encoded and sent with Content-Type application/json;
        ``timeout`` is in seconds (the engine applies a default)."""
        p = _http_params(method, url, headers, body, json, timeout)
        return Response(_op("http.request", p, "http.request"))

    def stream(self, method: str, url: str, headers: dict | None = None, body: object = None,
               json: object = None, timeout: float | None = None) -> StreamResponse:
        """request(), with the body read as it arrives (server-sent events, NDJSON):
        ``timeout`` bounds the wait for the headers and for each piece after them."""
        p = _http_params(method, url, headers, body, json, timeout)
        p["stream"] = True
        return StreamResponse(_op("http.request", p, "http.stream"))

    def get(self, url: str, **kw: object) -> Response:
        return self.request("GET", url, **kw)

    def post(self, url: str, **kw: object) -> Response:
        return self.request("POST", url, **kw)

    def put(self, url: str, **kw: object) -> Response:
        return self.request("PUT", url, **kw)

    def patch(self, url: str, **kw: object) -> Response:
        return self.request("PATCH", url, **kw)

    def delete(self, url: str, **kw: object) -> Response:
        return self.request("DELETE", url, **kw)

    async def arequest(self, method: str, url: str, headers: dict | None = None,
                       body: object = None, json: object = None,
                       timeout: float | None = None) -> Response:
        """Awaitable request(): several may run at once in an async tool."""
        p = _http_params(method, url, headers, body, json, timeout)
        return Response(await _aop("http.request", p, "http.arequest"))

    async def aget(self, url: str, **kw: object) -> Response:
        return await self.arequest("GET", url, **kw)

    async def apost(self, url: str, **kw: object) -> Response:
        return await self.arequest("POST", url, **kw)


# -- secrets


class _Secrets:
    """``agentos.secrets``: the values the skill's allowed-tools grants it."""

    def get(self, name: str) -> str:
        """The secret's value; OpError ``unavailable`` if unset, ``denied`` if not granted."""
        return _op("secrets.get", {"name": name}, "secrets.get")

    async def aget(self, name: str) -> str:
        return await _aop("secrets.get", {"name": name}, "secrets.aget")


# -- graph


class _Graph:
    """``agentos.graph``: the user's graph, as allowed by graph(read write)."""

    def read(self, **params: object) -> object:
        """Like the engine's data.read: ``read(id=...)`` → node, or
        ``read(shape=..., where=..., order=..., limit=..., cursor=...)`` → page."""
        return _op("graph.read", params, "graph.read")

    def search(self, query: str, **kw: object) -> object:
        """Full-text search, like data.search: ``search("taxes", shape="task", limit=10)``."""
        return _op("graph.search", {"query": query, **kw}, "graph.search")

    def write(self, shape: str, items: list) -> object:
        """Upsert items of a shape in one transaction, like data.write."""
        return _op("graph.write", {"shape": shape, "items": items}, "graph.write")

    async def aread(self, **params: object) -> object:
        return await _aop("graph.read", params, "graph.aread")

    async def asearch(self, query: str, **kw: object) -> object:
        return await _aop("graph.search", {"query": query, **kw}, "graph.asearch")

    async def awrite(self, shape: str, items: list) -> object:
        return await _aop("graph.write", {"shape": shape, "items": items}, "graph.awrite")


# -- capabilities


class Capability:
    """A capability by name, e.g. ``capability("llm")``; see invoke()."""

    def __init__(self, name: str, provider: str | None = None) -> None:
        if not isinstance(name, str) or not name:
            raise TypeError('capability needs a name: capability("llm")')
        self.name = name
        self.provider = provider

    def _params(self, params: dict | None, kw: dict) -> dict:
        merged = dict(params or {})
        merged.update(kw)
        p = {"capability": self.name, "params": merged}
        if self.provider:
            p["provider"] = self.provider
        return p

    def invoke(self, params: dict | None = None, **kw: object) -> object:
        """Call the capability's chosen provider and return its result.
        ``invoke({"prompt": "hi"})`` and ``invoke(prompt="hi")`` are the same."""
        return _op("capability.invoke", self._params(params, kw), "capability")

    async def ainvoke(self, params: dict | None = None, **kw: object) -> object:
        return await _aop("capability.invoke", self._params(params, kw), "capability")

    def __repr__(self) -> str:
        return f"capability({self.name!r})"


def capability(name: str, provider: str | None = None) -> Capability:
    """The capability ``name``; ``provider`` pins a skill instead of the engine's choice."""
    return Capability(name, provider)


# -- agents


def run_agent(agent: str, task: str, model: str | None = None) -> dict:
    """Run the agent named ``agent`` on ``task`` (DESIGN §15): the engine loops the
    model over the agent's tools and returns ``{answer, run, turns, outcome}``.
    Needs ``agents(NAME)`` (or ``agents(*)``) in allowed-tools."""
    if not isinstance(agent, str) or not agent:
        raise TypeError('run_agent needs an agent name: run_agent("researcher", "…")')
    params = {"agent": agent, "task": task}
    if model:
        params["model"] = model
    return _op("agent.run", params, "run_agent")


# -- progress and log (one-way messages: no reply, never denied)


def _emit(msg: dict, fallback: str) -> None:
    """Send a one-way message; outside a worker, write fallback to stderr instead so
    tools that report progress stay runnable in plain tests."""
    conn = _conn._current
    if conn is None:
        print(fallback, file=sys.stderr)
    else:
        conn.send(msg)


def progress(current: float, total: float | None = None, message: str = "") -> None:
    """Report how far the call has got (shown to callers as job progress)."""
    _emit({"type": "progress", "current": current, "total": total, "message": str(message)},
          f"progress: {current}/{'?' if total is None else total} {message}".rstrip())


class _Log:
    """``agentos.log``: ``log("msg")`` or ``log.info/debug/warning/error("msg %s", arg)``.
    Lines go to the engine's log with the call they belong to."""

    def _log(self, level: str, msg: object, args: tuple) -> None:
        text = str(msg) % args if args else str(msg)
        _emit({"type": "log", "level": level, "message": text}, f"{level}: {text}")

    def __call__(self, msg: object, *args: object) -> None:
        self._log("info", msg, args)

    def debug(self, msg: object, *args: object) -> None:
        self._log("debug", msg, args)

    def info(self, msg: object, *args: object) -> None:
        self._log("info", msg, args)

    def warning(self, msg: object, *args: object) -> None:
        self._log("warning", msg, args)

    def error(self, msg: object, *args: object) -> None:
        self._log("error", msg, args)


http = _HTTP()
secrets = _Secrets()
graph = _Graph()
log = _Log()


def ask(message: str, schema: dict | None = None) -> dict:
    """Ask the user a question through the caller's MCP client (elicitation):
    ``ask("Which city?", {"type": "object", "properties": {"city": {"type": "string"}}})``.
    Returns ``{"action": "accept" | "decline" | "cancel", "content": {...}}``. Needs
    ``client(elicit)`` in allowed-tools; a caller that cannot ask (the CLI, a client
    without elicitation) makes it raise OpError ``unavailable``. The call's @timeout
    bounds the wait."""
    params: dict = {"message": str(message)}
    if schema is not None:
        params["schema"] = schema
    return _op("client.elicit", params, "ask")


async def aask(message: str, schema: dict | None = None) -> dict:
    params: dict = {"message": str(message)}
    if schema is not None:
        params["schema"] = schema
    return await _aop("client.elicit", params, "aask")


def _sample_params(messages, max_tokens, system, temperature) -> dict:
    if isinstance(messages, str):
        messages = [{"role": "user", "content": messages}]
    params: dict = {"messages": messages, "max_tokens": int(max_tokens)}
    if system is not None:
        params["system"] = str(system)
    if temperature is not None:
        params["temperature"] = float(temperature)
    return params


def sample(messages: "str | list", max_tokens: int = 1000, system: str | None = None,
           temperature: float | None = None) -> dict:
    """Ask the caller's model through its MCP client (sampling). messages is a str
    or ``[{"role": "user" | "assistant", "content": str}]``. Returns ``{"role",
    "content": {"type": "text", "text": ...}, "model", "stopReason"}``. Needs
    ``client(sample)`` in allowed-tools; otherwise as ``ask``."""
    return _op("client.sample", _sample_params(messages, max_tokens, system, temperature), "sample")


async def asample(messages: "str | list", max_tokens: int = 1000, system: str | None = None,
                  temperature: float | None = None) -> dict:
    return await _aop("client.sample", _sample_params(messages, max_tokens, system, temperature), "asample")
