"""The tool decorators.

They only attach metadata to the function (``fn.__agentos__``) and return the very
same function, so a tool stays an ordinary callable in plain Python tests. The engine
never reads this metadata: it finds tools by parsing the source
(``agentos_discover.py``), so decorator arguments must be literals.
"""

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: importing collections.abc costs start-up time, so
    # the annotations that name it are strings
    from collections.abc import Callable

_TOOL_KEY = "__agentos__"


def _meta(fn: "Callable") -> dict:
    """Return fn's metadata dict, creating it on first use."""
    if not callable(fn):
        raise TypeError(f"agentos decorators apply to functions, not {type(fn).__name__}")
    meta = getattr(fn, "__dict__", {}).get(_TOOL_KEY)
    if meta is None:
        meta = {"tool": True, "provides": [], "returns": None, "timeout": None,
                "prompt": None, "resource": None, "schema": None}
        setattr(fn, _TOOL_KEY, meta)
    return meta


def tool(fn: "Callable | None" = None) -> "Callable":
    """Mark a top-level function as a tool. Usable as ``@tool`` or ``@tool()``."""
    if fn is None:
        return tool
    _meta(fn)
    return fn


def provides(capability: str, **meta: object) -> "Callable[[Callable], Callable]":
    """Declare that the tool provides ``capability`` (e.g. ``"llm"``), with optional
    literal metadata such as ``models=["a", "b"]``. Stackable: a tool may provide
    several capabilities."""
    if not isinstance(capability, str) or not capability:
        raise TypeError('@provides needs a capability name: @provides("web.read")')

    def apply(fn: "Callable") -> "Callable":
        # Decorators apply bottom-up; inserting at the front keeps source order.
        _meta(fn)["provides"].insert(0, {"capability": capability, "meta": dict(meta)})
        return fn

    return apply


def returns(shape: str) -> "Callable[[Callable], Callable]":
    """Declare the shape of what the tool returns: ``"task"`` (one item) or
    ``"task[]"`` (a list of them)."""
    if not isinstance(shape, str) or not shape:
        raise TypeError('@returns needs a shape name: @returns("task") or @returns("task[]")')

    def apply(fn: "Callable") -> "Callable":
        _meta(fn)["returns"] = shape
        return fn

    return apply


def timeout(seconds: float) -> "Callable[[Callable], Callable]":
    """Declare how long one call of the tool may take, in seconds; the engine
    kills the worker after that."""
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not seconds > 0:
        raise TypeError("@timeout needs a positive number of seconds: @timeout(60)")

    def apply(fn: "Callable") -> "Callable":
        _meta(fn)["timeout"] = seconds
        return fn

    return apply


def prompt(fn: "Callable | None" = None, *, name: "str | None" = None, title: "str | None" = None) -> "Callable":
    """Make the function an MCP prompt: its parameters are the prompt's arguments
    (a parameter without a default is required), its docstring the description.
    It returns a str (one user message), a content block, or a list of
    ``agentos.content.Message``. Usable as ``@prompt`` or ``@prompt(name=..., title=...)``."""
    def apply(f: "Callable") -> "Callable":
        _meta(f)["prompt"] = {"name": name or f.__name__, "title": title}
        return f

    return apply if fn is None else apply(fn)


def resource(uri: str, *, name: "str | None" = None, title: "str | None" = None,
             mime: "str | None" = None) -> "Callable[[Callable], Callable]":
    """Make the function an MCP resource at ``uri``. A URI with ``{var}`` parts
    (``"notes://day/{date}"``) is a template: each part is passed as the parameter
    of that name. It returns a str (text), bytes (a blob), JSON data, or a content block."""
    if not isinstance(uri, str) or "://" not in uri:
        raise TypeError('@resource needs a URI: @resource("myskill://status")')

    def apply(fn: "Callable") -> "Callable":
        _meta(fn)["resource"] = {"uri": uri, "name": name or fn.__name__, "title": title, "mime": mime}
        return fn

    return apply


def schema(params: dict) -> "Callable[[Callable], Callable]":
    """Give the tool's parameters as a literal JSON Schema (object), instead of the one
    built from its type hints: for ``$defs``/``$ref``, ``additionalProperties`` and the like."""
    if not isinstance(params, dict) or params.get("type", "object") != "object":
        raise TypeError('@schema needs a JSON Schema of an object: @schema({"type": "object", ...})')

    def apply(fn: "Callable") -> "Callable":
        _meta(fn)["schema"] = params
        return fn

    return apply
