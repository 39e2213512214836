"""agentos: the SDK skills import (standard library only).

Decorators mark tools and only attach metadata (the engine finds tools by parsing
the source, never by importing it)::

    from agentos import provides, returns, timeout, tool

    @provides("web.read")
    @returns("webpage")
    @timeout(60)
    def read(url: str) -> dict:
        '''Fetch a web page and return its title and text.'''
        r = http.get(url)
        ...

Everything else is a request to the engine over the worker protocol, so it works
only when the engine runs the tool (elsewhere ops raise RuntimeError; ``log`` and
``progress`` print to stderr instead): ``http``, ``secrets``, ``graph``,
``capability(name).invoke(...)``, ``progress``, ``log``. ``settings.get(key, default)``
reads the user's settings for the skill (config.yaml), which arrive with the call. A refused or failed op raises
``OpError`` (``.kind``, ``.message``). Blocking forms work in sync and async tools;
async tools can also await the ``a``-prefixed forms (``http.aget``,
``secrets.aget``, ``graph.aread``, ``capability(name).ainvoke``, ...) to have several
ops in flight at once.
"""

from ._conn import OpError
from ._decorators import prompt, provides, resource, returns, schema, timeout, tool
from . import settings
from ._ops import (Capability, Response, StreamResponse, aask, asample, ask, capability, graph, http, log, progress, run_agent,
                   sample, secrets)

OpError.__module__ = "agentos"  # tracebacks say agentos.OpError, the name skills use

__all__ = [
    "tool", "provides", "returns", "timeout", "prompt", "resource", "schema",
    "http", "secrets", "graph", "capability", "progress", "log", "settings", "ask", "aask", "sample", "asample",
    "run_agent",
    "OpError", "Response", "StreamResponse", "Capability",
]
