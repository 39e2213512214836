"""The skill worker: runs one tool call in this fresh process.

Started through the entry script ``agentos_worker.py`` (which only puts the SDK on
sys.path and calls main(); this module's bytecode is cached next to the SDK, a
script's never is)::

    python -I -S agentos_worker.py --sdk DIR --skill DIR \\
           --cpu-seconds N --memory-bytes N --open-files N

The contract is docs/worker-protocol.md. In order: keep private copies of stdin and
stdout for the protocol and point fds 0/1 at /dev/null and stderr (so neither print()
nor a subprocess can read or corrupt protocol lines), read the call, apply the
rlimits (soft = hard), put the skill on sys.path, import the tool's module from the
skill folder, check the params against the signature, call it (``asyncio.run`` for
an async tool), send exactly one result or error, exit 0.

Start-up time is the floor of every capability call, so this module imports only
what ``json`` already loads; ``inspect``, ``traceback`` and ``asyncio`` are imported
only when a call needs them.
"""

import json
import os
import sys
from importlib.machinery import ModuleSpec, SourceFileLoader

from . import _conn
from . import settings as _settings

USAGE = """\
usage: agentos_worker.py --sdk DIR --skill DIR [--cpu-seconds N] [--memory-bytes N] [--open-files N]

Runs one tool call of a skill: reads the call as a JSON line on stdin and speaks the
agentos worker protocol (docs/worker-protocol.md) on stdin/stdout. A limit of 0 is
not applied. Run by the agentos engine, not by hand.
"""

_FLAGS = {"sdk": str, "skill": str, "cpu-seconds": int, "memory-bytes": int, "open-files": int}
_CO_VARKEYWORDS = 0x08
_NONE = type(None)
_UNION = type(int | None)


class _Fail(Exception):
    """Ends the call with an error message of the given kind."""

    def __init__(self, kind: str, message: str, tb: str | None = None) -> None:
        super().__init__(message)
        self.kind, self.message, self.tb = kind, message, tb


def parse_args(argv: list[str]) -> dict:
    """--flag value / --flag=value pairs; SystemExit(2) with usage on anything else."""
    opts: dict = {"sdk": "", "skill": "", "cpu-seconds": 0, "memory-bytes": 0, "open-files": 0}
    i = 0
    try:
        while i < len(argv):
            arg = argv[i]
            if arg in ("-h", "--help"):
                sys.stdout.write(USAGE)
                sys.exit(0)
            name, eq, value = arg[2:].partition("=")
            if not arg.startswith("--") or name not in _FLAGS:
                raise ValueError(f"unknown argument {arg!r}")
            if not eq:
                i += 1
                value = argv[i]
            opts[name] = _FLAGS[name](value)
            i += 1
        if not opts["sdk"] or not opts["skill"]:
            raise ValueError("--sdk and --skill are required")
        for name in ("cpu-seconds", "memory-bytes", "open-files"):
            if opts[name] < 0:
                raise ValueError(f"--{name} must not be negative")
    except (ValueError, IndexError) as e:
        sys.stderr.write(f"agentos_worker: {e or 'missing value'}\n{USAGE}")
        sys.exit(2)
    return opts


def take_stdio() -> tuple[int, int]:
    """Return private (non-inheritable) copies of fds 0 and 1 for the protocol, and
    point fd 0 at /dev/null and fd 1 (and sys.stdout) at stderr."""
    proto_in, proto_out = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return proto_in, proto_out


def apply_limits(opts: dict) -> None:
    """setrlimit with soft = hard, so skill code cannot raise them. A limit above an
    existing hard limit (the engine may have set one with prlimit) is lowered to it."""
    import resource

    for flag, res in (("cpu-seconds", resource.RLIMIT_CPU),
                      ("memory-bytes", resource.RLIMIT_AS),
                      ("open-files", resource.RLIMIT_NOFILE)):
        n = opts[flag]
        if n > 0:
            hard = resource.getrlimit(res)[1]
            if hard != resource.RLIM_INFINITY and hard < n:
                n = hard
            resource.setrlimit(res, (n, n))


def load_module(skill_dir: str, name: str) -> object:
    """Import skill_dir/name.py under the module name ``name``. Loaded from the file
    explicitly, so a skill module called like a standard one (json.py) is still the
    skill's."""
    path = os.path.join(skill_dir, name + ".py")
    if not name.isidentifier() or not os.path.isfile(path):
        raise _Fail("not_found", f"the skill has no module {name!r} (no file {name}.py in {skill_dir})")
    loader = SourceFileLoader(name, path)
    spec = ModuleSpec(name, loader, origin=path)
    spec.has_location = True
    module = type(sys)(name)
    module.__spec__, module.__loader__, module.__file__ = spec, loader, path
    registered = name not in sys.modules
    if registered:
        sys.modules[name] = module  # so the skill's own files can import it too
    try:
        loader.exec_module(module)
    except BaseException:
        if registered:
            sys.modules.pop(name, None)
        raise
    return module


def _admits_none(ann: object) -> bool:
    """Whether an annotation is Optional[T] / T | None / Union[..., None]: a missing
    parameter with such a hint is passed as None (discovery marks it not required)."""
    if ann is None or ann is _NONE:
        return True
    if isinstance(ann, str):  # from __future__ import annotations, or a quoted hint
        s = ann.replace(" ", "")
        union = s.startswith("Union[") and ("[None," in s or ",None" in s)
        return s == "None" or s.startswith("Optional[") or "|None" in s or "None|" in s or union
    if type(ann) is _UNION:
        return _NONE in ann.__args__
    typing = sys.modules.get("typing")
    if typing is not None:
        if getattr(ann, "__metadata__", None) is not None:  # Annotated[T, ...]
            return _admits_none(ann.__origin__)
        if getattr(ann, "__origin__", None) is typing.Union:
            return _NONE in ann.__args__
    return False


def bind(fn: object, params: dict, where: str) -> dict:
    """Check params against fn's signature and return the keyword arguments to call
    it with; _Fail('invalid') naming the bad or missing parameter otherwise."""
    code = getattr(fn, "__code__", None)
    if code is None or hasattr(fn, "__wrapped__") or code.co_posonlyargcount:
        return _bind_slow(fn, params, where)
    names = code.co_varnames
    positional = names[:code.co_argcount]
    kwonly = names[code.co_argcount:code.co_argcount + code.co_kwonlyargcount]
    accepted = positional + kwonly
    if not code.co_flags & _CO_VARKEYWORDS:
        for key in params:
            if key not in accepted:
                takes = ", ".join(accepted) or "no parameters"
                raise _Fail("invalid", f"{where} got an unexpected parameter {key!r} (it takes: {takes})")
    defaults = fn.__defaults__ or ()
    kwdefaults = fn.__kwdefaults__ or {}
    required = positional[:len(positional) - len(defaults)] + tuple(n for n in kwonly if n not in kwdefaults)
    kwargs = dict(params)
    annotations = getattr(fn, "__annotations__", None) or {}
    for n in required:
        if n not in kwargs:
            if not _admits_none(annotations.get(n)):
                raise _Fail("invalid", f"{where} is missing the required parameter {n!r}")
            kwargs[n] = None
    return kwargs


def _bind_slow(fn: object, params: dict, where: str) -> dict:
    """bind() for what is not a plain function (callable objects, wrapped or
    positional-only signatures), through inspect."""
    import inspect

    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return dict(params)  # no signature to check: let the call say
    kwargs = dict(params)
    for p in sig.parameters.values():
        if (p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.default is p.empty
                and p.name not in kwargs and _admits_none(p.annotation)):
            kwargs[p.name] = None
    try:
        sig.bind(**kwargs)
    except TypeError as e:
        raise _Fail("invalid", f"{where}: {e}") from None
    return kwargs


def format_tb(exc: BaseException, skill_dir: str, upto_skill: bool = False) -> str:
    """The traceback from the first frame in the skill's own files (the shim's and
    asyncio's frames above it say nothing to a skill author); with upto_skill, also
    without the SDK's frames below the skill's last one (for OpError, whose message
    already says everything)."""
    import traceback

    prefix = os.path.join(os.path.abspath(skill_dir), "")
    frames = []
    t = exc.__traceback__
    while t is not None:
        frames.append((t, os.path.abspath(t.tb_frame.f_code.co_filename).startswith(prefix)))
        t = t.tb_next
    mine = [i for i, (_, in_skill) in enumerate(frames) if in_skill]
    if not mine:
        return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    limit = mine[-1] - mine[0] + 1 if upto_skill else None
    return "".join(traceback.format_exception(type(exc), exc, frames[mine[0]][0], limit=limit))


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _op_error_kind(exc: "_conn.OpError") -> str:
    """The call's error kind for an OpError the tool did not catch. One the tool
    raised itself keeps its kind. One an op raised keeps it only when it is about the
    world rather than the tool's own use of the op: unavailable, denied, and timeout
    (a provider timing out, which counts as unavailable so the engine may try the
    next provider, DESIGN §7). An op's invalid or not_found is the tool's bug, not
    the caller's input or a missing tool, so it is skill_failed."""
    if exc.op is None:
        return exc.kind if exc.kind in _conn.KINDS else "skill_failed"
    if exc.kind == "timeout":
        return "unavailable"
    return exc.kind if exc.kind in ("unavailable", "denied") else "skill_failed"


def skill_error(exc: BaseException, opts: dict, during: str) -> _Fail:
    """Turn what the skill raised into the call's error."""
    if isinstance(exc, MemoryError):
        limit = opts["memory-bytes"]
        msg = f"out of memory (limit {limit} bytes)" if limit else "out of memory"
        try:
            return _Fail("skill_failed", f"{msg} {during}", format_tb(exc, opts["skill"]))
        except MemoryError:
            return _Fail("skill_failed", f"{msg} {during}")
    if isinstance(exc, SystemExit):
        return _Fail("skill_failed", f"the tool called sys.exit({exc.code!r}) {during}")
    if isinstance(exc, _conn.OpError):
        # The engine's message may name the op already ("http.request: ..."): once is enough.
        said = exc.message or exc.kind
        if exc.op and not said.startswith(exc.op + ":") and not said.startswith(exc.op + " "):
            said = f"{exc.op}: {said}"
        return _Fail(_op_error_kind(exc), said,
                     format_tb(exc, opts["skill"], upto_skill=True))
    tb = format_tb(exc, opts["skill"])
    msg = _describe(exc)
    if isinstance(exc, ModuleNotFoundError):
        msg += " (skills can import the standard library, agentos and their own files only)"
    return _Fail("skill_failed", msg, tb)


def run(call: dict, opts: dict) -> str:
    """Run the call and return its JSON-encoded result; raise _Fail for an error."""
    module_name, function = call.get("module"), call.get("function")
    params = call.get("params")
    if params is None:
        params = {}
    if not isinstance(module_name, str) or not isinstance(function, str):
        raise _Fail("internal", "the call message needs string module and function fields")
    if not isinstance(params, dict):
        raise _Fail("invalid", f"params must be a JSON object, not {type(params).__name__}")
    where = f"{module_name}.{function}"
    settings = call.get("settings")
    if settings is not None and not isinstance(settings, dict):
        raise _Fail("internal", "the call message's settings must be a JSON object")
    _settings._install(settings)

    apply_limits(opts)  # before any skill code can run, so before the skill is on sys.path
    sys.path.insert(1, opts["skill"])  # after the SDK, before the standard library
    try:
        module = load_module(opts["skill"], module_name)
    except _Fail:
        raise
    except BaseException as e:
        raise skill_error(e, opts, f"while importing {module_name}.py") from None
    fn = getattr(module, function, None) if function.isidentifier() else None
    if function.startswith("_") or not callable(fn):
        raise _Fail("not_found", f"module {module_name} has no tool function {function!r}")
    kwargs = bind(fn, params, where)
    try:
        result = fn(**kwargs)
        if hasattr(type(result), "__await__"):
            import asyncio

            result = asyncio.run(_awaited(result))
    except BaseException as e:
        raise skill_error(e, opts, f"in {where}") from None
    # Rich content (agentos.content): a skill that returns it has imported it.
    content = sys.modules.get("agentos.content")
    if content is not None:
        result = content.wrap(result)
    elif isinstance(result, (bytes, bytearray, memoryview)):
        from . import content

        result = content.wrap(result)
    try:
        return json.dumps(result, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError, RecursionError) as e:
        raise _Fail("skill_failed", f"{where} returned a value that is not JSON-serialisable: {e} "
                    "(rich results are agentos.content types: Text, Image, Audio, Resource, Link)") from None
    except MemoryError as e:
        raise skill_error(e, opts, f"encoding the result of {where}") from None


async def _awaited(awaitable: object) -> object:
    return await awaitable


def main(argv: list[str]) -> None:
    opts = parse_args(argv)
    proto_in, proto_out = take_stdio()
    if os.path.abspath(sys.path[0]) != os.path.abspath(opts["sdk"]):
        sys.path.insert(0, opts["sdk"])
    # -I ignores PYTHONDONTWRITEBYTECODE: honour it here, now that the SDK (whose
    # bytecode may be cached next to it) is loaded and before any skill code is.
    sys.dont_write_bytecode = True
    conn = _conn.Connection(proto_in, proto_out)
    _conn.install(conn)
    call_id = None
    try:
        call = conn.read_message()
        if call is None:
            sys.stderr.write("agentos_worker: stdin closed before a call arrived\n")
            os._exit(1)
        if not isinstance(call, dict) or call.get("type") != "call":
            raise _Fail("internal", "the first message must be a call")
        call_id = call.get("id")
        body = run(call, opts)
        line = '{"type":"result","id":%s,"result":%s}\n' % (json.dumps(call_id), body)
        conn.send_line(line.encode())
    except BaseException as e:
        if isinstance(e, _Fail):
            err = {"kind": e.kind, "message": e.message}
            if e.tb:
                err["traceback"] = e.tb
        else:  # a bug here, or the engine spoke out of turn
            err = {"kind": "internal", "message": f"worker shim: {_describe(e)}"}
            try:
                import traceback

                err["traceback"] = traceback.format_exc()
            except BaseException:
                pass
        try:
            conn.send({"type": "error", "id": call_id, "error": err})
        except BaseException:
            os._exit(1)
    finally:
        try:
            sys.stderr.flush()
        except BaseException:
            pass
    # os._exit: threads or atexit hooks the skill left behind must not delay the end.
    os._exit(0)
