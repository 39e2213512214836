"""Discovery parses skill files (never imports them) into tool records."""

import json
import os
import subprocess
import tempfile
import textwrap
import unittest

import agentos_discover

PYTHON = "/usr/bin/python3"
SDK = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

HINTS = '''
import typing
import typing as t
from typing import Any, Annotated, Dict, List, Literal, Optional, Union
from agentos import tool

@tool
def hints(
    s: str, i: int, f: float, b: bool,
    l: list[str], L: List[int], tl: typing.List[float], bare_list: list,
    d: dict, ds: dict[str, int], D: Dict[str, bool], nested: list[dict[str, list[int]]],
    o: Optional[str], u_none: Union[int, None], pipe: int | None, none_first: None | str,
    lit: Literal["a", "b"], lit_mixed: Literal[1, "x"], lit_opt: Optional[Literal["x"]],
    either: Union[int, str], either_obj: int | list[str], anything: Any, nohint,
    tup: tuple[int, ...], pair: tuple[str, int], st: set[str],
    note: Annotated[str, "what it is"], quoted: "list[int]", quoted_opt: "t.Optional[int]",
    weird: SomeClass, odd_key: dict[int, str],
):
    """Every hint."""
'''

EXPECTED_HINTS = {
    "s": {"type": "string"}, "i": {"type": "integer"}, "f": {"type": "number"}, "b": {"type": "boolean"},
    "l": {"type": "array", "items": {"type": "string"}},
    "L": {"type": "array", "items": {"type": "integer"}},
    "tl": {"type": "array", "items": {"type": "number"}},
    "bare_list": {"type": "array"},
    "d": {"type": "object"},
    "ds": {"type": "object", "additionalProperties": {"type": "integer"}},
    "D": {"type": "object", "additionalProperties": {"type": "boolean"}},
    "nested": {"type": "array", "items": {"type": "object", "additionalProperties": {
        "type": "array", "items": {"type": "integer"}}}},
    # Optional: not required, and an explicit null is a value it takes
    "o": {"type": ["string", "null"]}, "u_none": {"type": ["integer", "null"]}, "pipe": {"type": ["integer", "null"]},
    "none_first": {"type": ["string", "null"]},
    "lit": {"type": "string", "enum": ["a", "b"]},
    "lit_mixed": {"enum": [1, "x"]},
    "lit_opt": {"type": ["string", "null"], "enum": ["x", None]},
    "either": {"type": ["integer", "string"]},
    "either_obj": {"anyOf": [{"type": "integer"}, {"type": "array", "items": {"type": "string"}}]},
    "anything": {}, "nohint": {},
    "tup": {"type": "array", "items": {"type": "integer"}},
    "pair": {"type": "array", "prefixItems": [{"type": "string"}, {"type": "integer"}], "minItems": 2, "maxItems": 2},
    "st": {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
    "note": {"type": "string", "description": "what it is"},
    "quoted": {"type": "array", "items": {"type": "integer"}},
    "quoted_opt": {"type": ["integer", "null"]},
    "weird": {},
    "odd_key": {"type": "object", "additionalProperties": {"type": "string"}},
}
NOT_REQUIRED = {"o", "u_none", "pipe", "none_first", "lit_opt", "quoted_opt"}

FULL = '''
"""A module docstring is not a tool's."""
import agentos as ao
from agentos import provides as p, returns

CAP = "dynamic"

@p("llm", models=["a", "b"], local=True, limits={"rpm": 60}, pair=(1, 2))
@p("chat")
@returns("message[]")
@ao.timeout(90)
async def chat(prompt: str, model: str = "small", temperature: float = 0.5,
               stop: list[str] = ("a",), seed=CAP, *, stream: bool = False, extra: int):
    """Talk to a model.

    Sends the prompt as one message.

    Args:
        prompt: what to say,
            on several lines.
        model (str): which model
    """

@ao.tool
def plain(*args, **kwargs):
    """Takes anything."""

@p(CAP, weight=CAP)
@returns(SHAPE)
@ao.timeout(2 * 60)
@ao.tool("unexpected")
def bad(x):
    """Bad decorator arguments."""

@p
@returns
def bare(x):
    pass

@ao.tool
def _private():
    """Never a tool."""

def undecorated(x):
    """Not a tool either."""

class Helper:
    @ao.tool
    def method(self):
        pass

@ao.tool
def positional(a, /, b):
    """Positional-only."""
'''


def write(folder: str, name: str, source: str) -> str:
    path = os.path.join(folder, name)
    with open(path, "w", encoding="utf-8") as f:
        f.write(textwrap.dedent(source))
    return path


class DiscoverTest(unittest.TestCase):
    def setUp(self) -> None:
        self._tmp = tempfile.TemporaryDirectory()
        self.dir = self._tmp.name

    def tearDown(self) -> None:
        self._tmp.cleanup()

    def discover(self, source: str, name: str = "tools.py") -> dict:
        return agentos_discover.discover_file(write(self.dir, name, source))

    def one(self, source: str) -> dict:
        tools = self.discover(source)["tools"]
        self.assertEqual(len(tools), 1, tools)
        return tools[0]

    def test_every_hint(self) -> None:
        t = self.one(HINTS)
        params = t["params"]
        self.assertEqual(params["type"], "object")
        self.assertFalse(params["additionalProperties"])
        for name, schema in EXPECTED_HINTS.items():
            self.assertEqual(params["properties"][name], schema, name)
        self.assertEqual(set(params["properties"]), set(EXPECTED_HINTS))
        self.assertEqual(params["required"], [n for n in EXPECTED_HINTS if n not in NOT_REQUIRED])
        self.assertEqual(len(t["warnings"]), 2, t["warnings"])
        self.assertIn("parameter 'weird': type hint SomeClass is not understood", t["warnings"][0])
        self.assertIn("parameter 'odd_key'", t["warnings"][1])

    def test_full_record(self) -> None:
        result = self.discover(FULL)
        self.assertNotIn("error", result)
        tools = {t["name"]: t for t in result["tools"]}
        self.assertEqual(list(tools), ["chat", "plain", "bad", "bare", "positional"])
        chat = tools["chat"]
        self.assertEqual({k: chat[k] for k in ("name", "module", "function", "line", "async", "returns", "timeout")},
                         {"name": "chat", "module": "tools", "function": "chat", "line": 12, "async": True,
                          "returns": "message[]", "timeout": 90})
        self.assertEqual(chat["description"], "Talk to a model.")
        self.assertTrue(chat["doc"].startswith("Talk to a model.\n\nSends the prompt"))
        self.assertEqual(chat["provides"], [
            {"capability": "llm", "meta": {"models": ["a", "b"], "local": True, "limits": {"rpm": 60}, "pair": [1, 2]}},
            {"capability": "chat", "meta": {}},
        ])
        self.assertEqual(chat["params"], {
            "type": "object",
            "properties": {
                "prompt": {"type": "string", "description": "what to say, on several lines."},
                "model": {"type": "string", "description": "which model", "default": "small"},
                "temperature": {"type": "number", "default": 0.5},
                "stop": {"type": "array", "items": {"type": "string"}, "default": ["a"]},
                "seed": {},  # a default that is no literal is not recorded
                "stream": {"type": "boolean", "default": False},
                "extra": {"type": "integer"},
            },
            "required": ["prompt", "extra"],
            "additionalProperties": False,
        })
        self.assertEqual(chat["warnings"], [])

        plain = tools["plain"]
        self.assertEqual(plain["params"], {"type": "object", "properties": {}, "required": [],
                                           "additionalProperties": True})
        self.assertEqual(len(plain["warnings"]), 2)
        self.assertIn("*args is ignored", plain["warnings"][0])
        self.assertIn("**kwargs", plain["warnings"][1])

        bad = tools["bad"]
        self.assertEqual((bad["provides"], bad["returns"], bad["timeout"]), ([], None, None))
        joined = "\n".join(bad["warnings"])
        for needle in ("@provides: the capability must be a literal string, not CAP",
                       "@returns(SHAPE): needs a literal shape name",
                       "@timeout(2 * 60): needs a literal positive number",
                       "@tool takes no arguments"):
            self.assertIn(needle, joined)

        bare = tools["bare"]
        self.assertIn('@provides needs an argument, e.g. @provides("web.read"); ignored', bare["warnings"])
        self.assertTrue(any(w.startswith("@returns needs an argument") for w in bare["warnings"]))
        self.assertIn("no docstring: agents see no description of this tool", bare["warnings"])

        positional = tools["positional"]
        self.assertEqual(list(positional["params"]["properties"]), ["b"])
        self.assertIn("positional-only", positional["warnings"][0])

        self.assertEqual(len(result["warnings"]), 2, result["warnings"])
        self.assertIn("_private is not a tool", result["warnings"][0])
        self.assertIn("Helper.method is not a tool", result["warnings"][1])

    def test_non_literal_meta_is_dropped_with_a_warning(self) -> None:
        t = self.one('''
            from agentos import provides
            N = 3
            @provides("llm", models=["a"], n=N, **{"x": 1})
            def f():
                """F."""
        ''')
        self.assertEqual(t["provides"], [{"capability": "llm", "meta": {"models": ["a"]}}])
        self.assertEqual(len(t["warnings"]), 2, t["warnings"])
        self.assertIn("n=N is not a literal", t["warnings"][0])

    def test_decorator_name_resolution(self) -> None:
        cases = {
            "from agentos import tool\n@tool\ndef f(): pass\n": True,
            "from agentos import tool\n@tool()\ndef f(): pass\n": True,
            "from agentos import tool as t\n@t\ndef f(): pass\n": True,
            "from agentos import *\n@timeout(5)\ndef f(): pass\n": True,
            "import agentos\n@agentos.returns('x')\ndef f(): pass\n": True,
            "import agentos as a\n@a.provides('x')\ndef f(): pass\n": True,
            "try:\n    from agentos import tool\nexcept ImportError:\n    pass\n@tool\ndef f(): pass\n": True,
            "from agentos import tool as t\n@tool\ndef f(): pass\n": False,  # tool is not bound
            "from mylib import tool\n@tool\ndef f(): pass\n": False,
            "import agentos\n@tool\ndef f(): pass\n": False,
            "import other as agentos_like\n@agentos_like.tool\ndef f(): pass\n": False,
            "from agentos import tool\n@functools.cache\ndef f(): pass\n": False,
        }
        for source, is_tool in cases.items():
            tools = self.discover(source)["tools"]
            self.assertEqual(bool(tools), is_tool, source)

    def test_prompt_resource_schema(self) -> None:
        tools = {t["name"]: t for t in self.discover('''
from agentos import prompt, resource, schema, provides

@prompt
def brief(topic: str, words: int = 50) -> str:
    """A brief."""

@prompt(name="long-brief", title="Long brief")
def long(topic: str) -> str:
    """Longer."""

@resource("notes://day/{date}", mime="text/markdown", title="A day")
def day(date: str) -> str:
    """One day's notes."""

@resource("notes://today")
def today() -> str:
    """Today."""

@resource("notes://{missing}")
def wrong() -> str:
    """No such parameter."""

@provides("x.y")
@schema({"type": "object", "$defs": {"a": {"type": "string"}}, "properties": {"n": {"$ref": "#/$defs/a"}}})
def typed(**kw) -> dict:
    """Typed by hand."""

@provides("x.z")
@schema(["not", "an", "object"])
def untyped(n: int) -> dict:
    """Bad schema."""
''')["tools"]}
        self.assertEqual(tools["brief"]["prompt"], {"name": "brief", "title": None})
        self.assertEqual(tools["brief"]["params"]["required"], ["topic"])
        self.assertEqual(tools["long"]["prompt"], {"name": "long-brief", "title": "Long brief"})
        self.assertEqual(tools["day"]["resource"], {"uri": "notes://day/{date}", "name": "day", "title": "A day",
                                                    "mime": "text/markdown", "template": True})
        self.assertEqual(tools["today"]["resource"]["template"], False)
        self.assertIn("{missing} names no parameter of wrong", "\n".join(tools["wrong"]["warnings"]))
        self.assertEqual(tools["typed"]["params"]["$defs"], {"a": {"type": "string"}})
        self.assertEqual(tools["untyped"]["params"]["properties"], {"n": {"type": "integer"}})
        self.assertIn("@schema needs one literal JSON Schema of an object", "\n".join(tools["untyped"]["warnings"]))

    def test_syntax_error(self) -> None:
        result = self.discover("from agentos import tool\n\n@tool\ndef f(:\n    pass\n")
        self.assertEqual(result["tools"], [])
        self.assertIn("syntax error at line 4", result["error"])

    def test_unreadable(self) -> None:
        missing = agentos_discover.discover_file(os.path.join(self.dir, "missing.py"))
        self.assertIn("cannot read", missing["error"])
        nul = agentos_discover.discover_source(b"x = 1\x00\n", "nul.py")
        self.assertIn("error", nul)

    def test_redefinition_keeps_the_last(self) -> None:
        result = self.discover('''
            from agentos import tool
            @tool
            def f(a: int):
                """First."""
            @tool
            def f(b: str):
                """Second."""
        ''')
        self.assertEqual([t["description"] for t in result["tools"]], ["Second."])
        self.assertIn("defined again", result["warnings"][0])

    def test_never_imports(self) -> None:
        marker = os.path.join(self.dir, "imported")
        t = self.one(f'''
            open({marker!r}, "w").close()
            from agentos import tool
            @tool
            def f():
                """F."""
        ''')
        self.assertEqual(t["name"], "f")
        self.assertFalse(os.path.exists(marker))

    def test_command_line(self) -> None:
        good = write(self.dir, "good.py", "from agentos import tool\n@tool\ndef f(x: int):\n    '''F ü.'''\n")
        broken = write(self.dir, "broken.py", "def (\n")
        out = subprocess.run([PYTHON, "-I", "-S", os.path.join(SDK, "agentos_discover.py"), good, broken],
                             capture_output=True, check=True, env={"PATH": "/usr/bin:/bin", "LANG": "C"})
        report = json.loads(out.stdout)
        self.assertEqual(set(report["files"]), {good, broken})
        self.assertEqual(report["files"][good]["tools"][0]["description"], "F ü.")
        self.assertEqual(report["files"][good]["tools"][0]["params"]["required"], ["x"])
        self.assertIn("line 1", report["files"][broken]["error"])
        usage = subprocess.run([PYTHON, "-I", "-S", os.path.join(SDK, "agentos_discover.py")], capture_output=True)
        self.assertEqual(usage.returncode, 2)
        self.assertIn(b"usage", usage.stderr)


if __name__ == "__main__":
    unittest.main()
