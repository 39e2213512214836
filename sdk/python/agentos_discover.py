"""Finds the tools in skill files by parsing them with ast, never importing them.

    python -I -S agentos_discover.py FILE.py...

prints one JSON object, ``{"files": {"<path>": {"tools": [...], "warnings": [...],
"error": "..."}}}`` (docs/worker-protocol.md, "Discovery"). Importing would run
untrusted code with the engine's rights just to list it; parsing cannot. The price
is that decorator arguments must be literals, and that is what the warnings are for.
"""

import ast
import json
import os
import re
import sys

SDK_DECORATORS = ("tool", "provides", "returns", "timeout", "prompt", "resource", "schema")

_SIMPLE = {"str": "string", "int": "integer", "float": "number", "bool": "boolean"}
_ARRAYS = {"list", "List", "Sequence", "MutableSequence", "Iterable", "Collection",
           "tuple", "Tuple"}
_SETS = {"set", "Set", "frozenset", "FrozenSet", "AbstractSet", "MutableSet"}
_OBJECTS = {"dict", "Dict", "Mapping", "MutableMapping"}
_ANY = {"Any", "object"}


class Imports:
    """How the file can name the SDK's decorators: names bound by
    ``from agentos import provides as p``, module aliases from ``import agentos as ao``,
    and whether it star-imports agentos."""

    def __init__(self, tree: ast.Module) -> None:
        self.names: dict[str, str] = {}
        self.modules: set[str] = set()
        self.star = False
        stack = list(tree.body)
        while stack:  # top-level statements, also inside if/try/with blocks
            node = stack.pop()
            if isinstance(node, ast.Import):
                for a in node.names:
                    if a.name == "agentos" or (a.asname and a.name.startswith("agentos.")):
                        self.modules.add(a.asname or a.name)
                    elif a.name.startswith("agentos."):
                        self.modules.add("agentos")
            elif isinstance(node, ast.ImportFrom):
                mod = node.module or ""
                if node.level == 0 and (mod == "agentos" or mod.startswith("agentos.")):
                    for a in node.names:
                        if a.name == "*":
                            self.star = True
                        elif a.name in SDK_DECORATORS:
                            self.names[a.asname or a.name] = a.name
            elif isinstance(node, (ast.If, ast.Try, ast.With)):
                for field in ("body", "orelse", "finalbody", "handlers"):
                    stack.extend(getattr(node, field, []))
            elif isinstance(node, ast.ExceptHandler):
                stack.extend(node.body)

    def decorator(self, node: ast.expr) -> str | None:
        """The SDK decorator a decorator expression names, or None."""
        target = node.func if isinstance(node, ast.Call) else node
        if isinstance(target, ast.Name):
            if target.id in self.names:
                return self.names[target.id]
            if self.star and target.id in SDK_DECORATORS:
                return target.id
        elif (isinstance(target, ast.Attribute) and target.attr in SDK_DECORATORS
              and _dotted(target.value) in self.modules):
            return target.attr
        return None


def _dotted(node: ast.expr) -> str | None:
    """``a.b.c`` as a string, or None if node is not a plain dotted name."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return f"{base}.{node.attr}" if base else None
    return None


_NOT_LITERAL = object()


def _literal(node: ast.expr) -> object:
    """The JSON value of a literal expression (tuples become lists), or _NOT_LITERAL."""
    try:
        value = ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return _NOT_LITERAL
    return _jsonable(value)


def _jsonable(value: object) -> object:
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return value if value == value and value not in (float("inf"), float("-inf")) else _NOT_LITERAL
    if isinstance(value, (list, tuple)):
        items = [_jsonable(v) for v in value]
        return _NOT_LITERAL if any(v is _NOT_LITERAL for v in items) else items
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            v = _jsonable(v)
            if not isinstance(k, str) or v is _NOT_LITERAL:
                return _NOT_LITERAL
            out[k] = v
        return out
    return _NOT_LITERAL  # sets, bytes, complex numbers: JSON has no such thing


def _src(node: ast.AST) -> str:
    return ast.unparse(node)


class Hints:
    """Maps type-hint expressions to JSON Schema, collecting warnings."""

    def __init__(self, warnings: list[str]) -> None:
        self.warnings = warnings

    def schema(self, node: ast.expr | None, where: str) -> tuple[dict, bool]:
        """(schema, admits None) of a hint; no hint is any value."""
        if node is None:
            return {}, False
        if isinstance(node, ast.Constant):
            if node.value is None:
                return {"type": "null"}, True
            if isinstance(node.value, str):  # a quoted hint: "int", "list[str]"
                try:
                    inner = ast.parse(node.value.strip(), mode="eval").body
                except SyntaxError:
                    return self._unknown(node, where)
                return self.schema(inner, where)
            return self._unknown(node, where)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
            return self._union(_flatten_or(node), where)
        name = _tail(node)
        if name is not None:
            if name in _SIMPLE:
                return {"type": _SIMPLE[name]}, False
            if name in _ARRAYS:
                return {"type": "array"}, False
            if name in _SETS:
                return {"type": "array", "uniqueItems": True}, False
            if name in _OBJECTS:
                return {"type": "object"}, False
            if name in _ANY:
                return {}, False
            if name == "NoneType":
                return {"type": "null"}, True
            if name == "Optional":
                return {}, True
            return self._unknown(node, where)
        if isinstance(node, ast.Subscript):
            return self._generic(node, where)
        return self._unknown(node, where)

    def _generic(self, node: ast.Subscript, where: str) -> tuple[dict, bool]:
        base = _tail(node.value)
        args = list(node.slice.elts) if isinstance(node.slice, ast.Tuple) else [node.slice]
        if base == "Optional" and len(args) == 1:
            return self.schema(args[0], where)[0], True
        if base == "Union":
            return self._union(args, where)
        if base == "Literal":
            return self._literal_enum(node, args, where)
        if base == "Annotated" and args:
            schema, nullable = self.schema(args[0], where)
            notes = [a.value for a in args[1:] if isinstance(a, ast.Constant) and isinstance(a.value, str)]
            if notes:
                schema = {**schema, "description": notes[0]}
            return schema, nullable
        if base in ("tuple", "Tuple"):
            if len(args) == 2 and isinstance(args[1], ast.Constant) and args[1].value is Ellipsis:
                return {"type": "array", "items": self.schema(args[0], where)[0]}, False
            items = [self.schema(a, where)[0] for a in args]
            return {"type": "array", "prefixItems": items, "minItems": len(items), "maxItems": len(items)}, False
        if base in _ARRAYS or base in _SETS:
            schema = {"type": "array", "items": self.schema(args[0], where)[0]}
            if base in _SETS:
                schema["uniqueItems"] = True
            return schema, False
        if base in _OBJECTS:
            if len(args) == 2:
                key, _ = self.schema(args[0], where)
                if key not in ({"type": "string"}, {}):
                    self.warnings.append(f"{where}: JSON object keys are strings; {_src(args[0])} keys are not checked")
                value, _ = self.schema(args[1], where)
                if value:
                    return {"type": "object", "additionalProperties": value}, False
            return {"type": "object"}, False
        return self._unknown(node, where)

    def _union(self, members: list[ast.expr], where: str) -> tuple[dict, bool]:
        schemas: list[dict] = []
        nullable = False
        for m in members:
            s, n = self.schema(m, where)
            nullable = nullable or n
            if s.get("type") == "null" and len(s) == 1:
                continue
            if s not in schemas:
                schemas.append(s)
        if not schemas:
            return {"type": "null"}, True
        if len(schemas) == 1:
            return schemas[0], nullable
        if {} in schemas:
            return {}, nullable
        if all(len(s) == 1 and isinstance(s.get("type"), str) for s in schemas):
            return {"type": [s["type"] for s in schemas]}, nullable
        return {"anyOf": schemas}, nullable

    def _literal_enum(self, node: ast.expr, args: list[ast.expr], where: str) -> tuple[dict, bool]:
        values = [_literal(a) for a in args]
        if any(v is _NOT_LITERAL for v in values):
            return self._unknown(node, where)
        nullable = None in values
        values = [v for v in values if v is not None]
        schema: dict = {"enum": values}
        types = {_json_type(v) for v in values}
        if len(types) == 1:
            schema = {"type": types.pop(), "enum": values}
        return schema, nullable

    def _unknown(self, node: ast.expr, where: str) -> tuple[dict, bool]:
        self.warnings.append(f"{where}: type hint {_src(node)} is not understood; any value is accepted")
        return {}, False


def _json_type(v: object) -> str:
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "integer"
    if isinstance(v, float):
        return "number"
    if isinstance(v, str):
        return "string"
    return "array" if isinstance(v, list) else "object"


def _tail(node: ast.expr) -> str | None:
    """The last name of ``x`` or ``typing.x`` / ``t.x``."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute) and _dotted(node.value):
        return node.attr
    return None


def _flatten_or(node: ast.expr) -> list[ast.expr]:
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _flatten_or(node.left) + _flatten_or(node.right)
    return [node]


def split_doc(doc: str) -> tuple[str, dict[str, str]]:
    """(first paragraph as one line, {param: text} from a Google-style
    ``Args:`` section) of a cleaned docstring."""
    lines = doc.splitlines()
    first: list[str] = []
    for line in lines:
        if not line.strip():
            if first:
                break
            continue
        first.append(line.strip())
    params: dict[str, tuple[int, str]] = {}  # name -> (indent, text)
    section = None  # indent of the Args: line while inside it
    current = None
    for line in lines:
        indent = len(line) - len(line.lstrip())
        text = line.strip()
        if text in ("Args:", "Arguments:", "Parameters:", "Params:", "Keyword Args:", "Keyword Arguments:"):
            section, current = indent, None
            continue
        if section is None or not text:
            continue
        if indent <= section:
            section = current = None
            continue
        name, colon, rest = text.partition(":")
        name = name.split("(")[0].strip().lstrip("*")
        if colon and name.isidentifier() and (current is None or indent <= params[current][0]):
            current = name
            params[name] = (indent, rest.strip())
        elif current is not None:
            params[current] = (params[current][0], f"{params[current][1]} {text}".strip())
    return " ".join(first), {k: v for k, (_, v) in params.items() if v}


class Tool:
    """Builds the discovery record of one decorated top-level function."""

    def __init__(self, fn: ast.FunctionDef | ast.AsyncFunctionDef, module: str, imports: Imports) -> None:
        self.fn, self.module, self.imports = fn, module, imports
        self.warnings: list[str] = []

    def record(self) -> dict:
        fn = self.fn
        doc = ast.get_docstring(fn) or ""
        description, param_docs = split_doc(doc)
        if not doc:
            self.warnings.append("no docstring: agents see no description of this tool")
        rec = {
            "name": fn.name, "module": self.module, "function": fn.name, "line": fn.lineno,
            "async": isinstance(fn, ast.AsyncFunctionDef),
            "description": description, "doc": doc,
            "provides": [], "returns": None, "timeout": None,
            "prompt": None, "resource": None,
            "params": self.params(param_docs),
            "result": self.result(),
        }
        self.decorators(rec)
        rec["warnings"] = self.warnings
        return rec

    def decorators(self, rec: dict) -> None:
        seen: set[str] = set()
        for dec in self.fn.decorator_list:  # source order, top first
            kind = self.imports.decorator(dec)
            if kind is None:
                continue
            call = dec if isinstance(dec, ast.Call) else None
            args = call.args if call else []
            kwargs = call.keywords if call else []
            where = f"@{kind}"
            if kind == "tool":
                if args or kwargs:
                    self.warnings.append("@tool takes no arguments; they are ignored")
                continue
            if kind == "prompt":
                self.prompt(rec, args, kwargs)
                continue
            if kind in ("returns", "timeout", "resource", "schema") and kind in seen:
                self.warnings.append(f"{where} is given more than once; the top one counts")
                continue
            seen.add(kind)
            if call is None:
                self.warnings.append(f"{where} needs an argument, e.g. {_EXAMPLES[kind]}; ignored")
                continue
            if kind == "provides":
                self.provides(rec, args, kwargs)
            elif kind == "resource":
                self.resource(rec, args, kwargs)
            elif kind == "schema":
                self.schema(rec, args, kwargs)
            else:
                self.single(rec, kind, args, kwargs)

    def provides(self, rec: dict, args: list[ast.expr], kwargs: list[ast.keyword]) -> None:
        cap_node = args[0] if args else next((k.value for k in kwargs if k.arg == "capability"), None)
        cap = _literal(cap_node) if cap_node is not None else _NOT_LITERAL
        if not isinstance(cap, str) or not cap:
            what = _src(cap_node) if cap_node is not None else "nothing"
            self.warnings.append(f"@provides: the capability must be a literal string, not {what}; this @provides is ignored")
            return
        if len(args) > 1:
            self.warnings.append(f"@provides({cap!r}): extra positional arguments are ignored")
        meta = {}
        for k in kwargs:
            if k.arg == "capability":
                continue
            if k.arg is None:
                self.warnings.append(f"@provides({cap!r}): **{_src(k.value)} is not a literal; ignored")
                continue
            value = _literal(k.value)
            if value is _NOT_LITERAL:
                self.warnings.append(f"@provides({cap!r}): {k.arg}={_src(k.value)} is not a literal; ignored")
                continue
            meta[k.arg] = value
        rec["provides"].append({"capability": cap, "meta": meta})

    def _options(self, where: str, kwargs: list[ast.keyword], allowed: tuple) -> dict:
        """Literal string keyword arguments (title=, name=, mime=)."""
        out = {}
        for k in kwargs:
            value = _literal(k.value) if k.arg in allowed else _NOT_LITERAL
            if k.arg not in allowed:
                self.warnings.append(f"{where}: {k.arg or '**'}= is not an option ({', '.join(allowed)}); ignored")
            elif value is not None and not isinstance(value, str):
                self.warnings.append(f"{where}: {k.arg}={_src(k.value)} must be a literal string; ignored")
            else:
                out[k.arg] = value
        return out

    def prompt(self, rec: dict, args: list[ast.expr], kwargs: list[ast.keyword]) -> None:
        """@prompt / @prompt(name=..., title=...): the function is a prompt."""
        if args:
            self.warnings.append("@prompt takes keyword arguments only (name=, title=); positional ones are ignored")
        opts = self._options("@prompt", kwargs, ("name", "title"))
        rec["prompt"] = {"name": opts.get("name") or rec["name"], "title": opts.get("title")}

    def resource(self, rec: dict, args: list[ast.expr], kwargs: list[ast.keyword]) -> None:
        """@resource(uri, name=, title=, mime=): the function is a resource (a
        template when the URI has {var} parts, each a parameter)."""
        uri = _literal(args[0]) if len(args) == 1 else _NOT_LITERAL
        if not isinstance(uri, str) or "://" not in uri:
            self.warnings.append('@resource needs one literal URI, e.g. @resource("myskill://status"); ignored')
            return
        opts = self._options(f"@resource({uri!r})", kwargs, ("name", "title", "mime"))
        variables = re.findall(r"\{([^{}]*)\}", uri)
        props = rec["params"]["properties"]
        for v in variables:
            if v.lstrip("+#./;?&").split(",")[0].rstrip("*") not in props:
                self.warnings.append(f"@resource({uri!r}): {{{v}}} names no parameter of {rec['name']}")
        rec["resource"] = {"uri": uri, "name": opts.get("name") or rec["name"], "title": opts.get("title"),
                           "mime": opts.get("mime"), "template": bool(variables)}

    def schema(self, rec: dict, args: list[ast.expr], kwargs: list[ast.keyword]) -> None:
        """@schema({...}): the parameters' JSON Schema, as written."""
        value = _literal(args[0]) if len(args) == 1 and not kwargs else _NOT_LITERAL
        if not isinstance(value, dict) or value.get("type", "object") != "object":
            self.warnings.append('@schema needs one literal JSON Schema of an object, e.g. @schema({"type": "object"}); ignored')
            return
        rec["params"] = value

    def single(self, rec: dict, kind: str, args: list[ast.expr], kwargs: list[ast.keyword]) -> None:
        """@returns(shape) / @timeout(seconds): one literal argument."""
        keyword = "shape" if kind == "returns" else "seconds"
        nodes = args + [k.value for k in kwargs if k.arg == keyword]
        if len(nodes) != 1 or len(args) + len(kwargs) != 1:
            self.warnings.append(f"@{kind} takes exactly one argument, e.g. {_EXAMPLES[kind]}; ignored")
            return
        value = _literal(nodes[0])
        if kind == "returns":
            ok = isinstance(value, str) and value != ""
        else:
            ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0
        if not ok:
            need = "a literal shape name" if kind == "returns" else "a literal positive number of seconds"
            self.warnings.append(f"@{kind}({_src(nodes[0])}): needs {need}; ignored")
            return
        rec[kind] = value

    def result(self) -> dict | None:
        """The JSON Schema of the return annotation, when it names plain JSON
        (dict, str, int, float, bool, list[...] of those); None for no hint, a
        hint not understood, or one that may be rich content."""
        node = self.fn.returns
        if node is None:
            return None
        schema, nullable = Hints([]).schema(node, "return")  # warnings about it are the params' business
        if not schema or nullable or not isinstance(schema.get("type"), str) or schema["type"] == "array" and "items" not in schema:
            return None  # a bare list may hold content blocks
        return schema

    def params(self, docs: dict[str, str]) -> dict:
        a = self.fn.args
        hints = Hints(self.warnings)
        props: dict[str, dict] = {}
        required: list[str] = []
        if a.posonlyargs:
            names = ", ".join(p.arg for p in a.posonlyargs)
            self.warnings.append(f"positional-only parameters ({names}) cannot be passed by name; "
                                 "they are left out of the schema")
        positional = a.posonlyargs + a.args
        defaults = [None] * (len(positional) - len(a.defaults)) + list(a.defaults)
        pairs = list(zip(positional, defaults))[len(a.posonlyargs):] + list(zip(a.kwonlyargs, a.kw_defaults))
        for arg, default in pairs:
            schema, nullable = hints.schema(arg.annotation, f"parameter {arg.arg!r}")
            schema = dict(schema)
            if arg.arg in docs and "description" not in schema:
                schema["description"] = docs[arg.arg]
            if nullable:
                schema = _with_null(schema)  # an explicit null is a value it takes
            if default is not None:
                value = _literal(default)
                if value is not _NOT_LITERAL:
                    schema["default"] = value
            elif not nullable:
                required.append(arg.arg)
            props[arg.arg] = schema
        if a.vararg:
            self.warnings.append(f"*{a.vararg.arg} is ignored: tools get named parameters only")
        if a.kwarg:
            self.warnings.append(f"**{a.kwarg.arg} accepts any other parameter, unchecked")
        return {"type": "object", "properties": props, "required": required,
                "additionalProperties": a.kwarg is not None}


def _with_null(schema: dict) -> dict:
    """schema that also admits null (an Optional parameter)."""
    if not schema or "$ref" in schema:
        return schema if not schema else {"anyOf": [schema, {"type": "null"}]}
    t = schema.get("type")
    if isinstance(t, str):
        out = {**schema, "type": [t, "null"] if t != "null" else "null"}
        if "enum" in out and None not in out["enum"]:
            out["enum"] = out["enum"] + [None]
        return out
    if isinstance(t, list):
        return {**schema, "type": t if "null" in t else t + ["null"]}
    if "anyOf" in schema:
        return {**schema, "anyOf": schema["anyOf"] + [{"type": "null"}]}
    if "enum" in schema:
        return {**schema, "enum": schema["enum"] + [None]}
    return schema


_EXAMPLES = {"provides": '@provides("web.read")', "resource": '@resource("myskill://status")',
             "schema": '@schema({"type": "object"})', "returns": '@returns("task[]")', "timeout": "@timeout(60)"}


def discover_source(source: str | bytes, path: str) -> dict:
    """The discovery result of one file's source."""
    module = os.path.splitext(os.path.basename(path))[0]
    try:
        tree = ast.parse(source, filename=path)
    except SyntaxError as e:
        where = f"line {e.lineno}" + (f", column {e.offset}" if e.offset else "")
        return {"tools": [], "warnings": [], "error": f"syntax error at {where}: {e.msg}"}
    except (ValueError, UnicodeDecodeError) as e:  # null bytes, bad encoding
        return {"tools": [], "warnings": [], "error": f"cannot parse: {e}"}
    imports = Imports(tree)
    tools: dict[str, dict] = {}
    warnings: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            for item in node.body:
                if _is_decorated(item, imports):
                    warnings.append(f"line {item.lineno}: {node.name}.{item.name} is not a tool: "
                                    "only top-level functions can be")
            continue
        if not _is_decorated(node, imports):
            continue
        if node.name.startswith("_"):
            warnings.append(f"line {node.lineno}: {node.name} is not a tool: names starting with _ are private")
            continue
        if node.name in tools:
            warnings.append(f"line {node.lineno}: {node.name} is defined again; the later definition counts")
        tools[node.name] = Tool(node, module, imports).record()
    return {"tools": list(tools.values()), "warnings": warnings}


def _is_decorated(node: ast.AST, imports: Imports) -> bool:
    return isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and any(
        imports.decorator(d) for d in node.decorator_list)


def discover_file(path: str) -> dict:
    try:
        with open(path, "rb") as f:
            source = f.read()
    except OSError as e:
        return {"tools": [], "warnings": [], "error": f"cannot read: {e.strerror or e}"}
    return discover_source(source, path)


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        out = sys.stdout if argv else sys.stderr
        out.write("usage: agentos_discover.py FILE.py...\n"
                  "Prints the tools found in the files as one JSON object (never imports them).\n")
        return 0 if argv else 2
    files = {path: discover_file(path) for path in argv}
    sys.stdout.write(json.dumps({"files": files}) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
