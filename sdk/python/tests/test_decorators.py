"""The decorators attach metadata and leave the function itself alone."""

import asyncio
import inspect
import itertools
import unittest

import agentos
from agentos import provides, returns, timeout, tool


class DecoratorTest(unittest.TestCase):
    def test_tool_bare_and_called(self) -> None:
        def f(x: int) -> int:
            return x + 1

        def g(x: int) -> int:
            return x + 2

        self.assertIs(tool(f), f)
        self.assertIs(tool()(g), g)
        for fn in (f, g):
            self.assertEqual(fn.__agentos__, {"tool": True, "provides": [], "returns": None, "timeout": None,
                                              "prompt": None, "resource": None, "schema": None})
        self.assertEqual(f(1), 2)

    def test_stack_in_any_order(self) -> None:
        decorators = [tool, tool(), provides("llm", models=["a"]), returns("task[]"), timeout(60)]
        expected = {"tool": True, "provides": [{"capability": "llm", "meta": {"models": ["a"]}}],
                    "returns": "task[]", "timeout": 60, "prompt": None, "resource": None, "schema": None}
        for order in itertools.permutations(decorators[1:]):
            def fn(a: str, b: int = 2) -> str:
                """Doc."""
                return a * b

            decorated = fn
            for d in reversed(order):
                decorated = d(decorated)
            self.assertIs(decorated, fn)
            self.assertEqual(fn.__agentos__, expected)
            self.assertEqual(fn("x"), "xx")
            self.assertEqual(fn.__doc__, "Doc.")
            self.assertEqual(list(inspect.signature(fn).parameters), ["a", "b"])

    def test_prompt_resource_schema(self) -> None:
        @agentos.prompt
        def p(topic: str) -> str:
            return topic

        @agentos.prompt(name="brief", title="A brief")
        def q() -> str:
            return ""

        @agentos.resource("x://day/{date}", mime="text/plain")
        @agentos.schema({"type": "object", "properties": {"date": {"type": "string"}}})
        def r(date: str) -> str:
            return date

        self.assertEqual(p.__agentos__["prompt"], {"name": "p", "title": None})
        self.assertEqual(q.__agentos__["prompt"], {"name": "brief", "title": "A brief"})
        self.assertEqual(r.__agentos__["resource"], {"uri": "x://day/{date}", "name": "r", "title": None, "mime": "text/plain"})
        self.assertEqual(r.__agentos__["schema"]["properties"], {"date": {"type": "string"}})
        self.assertEqual(p("a"), "a")
        with self.assertRaises(TypeError):
            agentos.resource("no uri")
        with self.assertRaises(TypeError):
            agentos.schema({"type": "array"})

    def test_provides_keeps_source_order(self) -> None:
        @provides("a", n=1)
        @provides("b")
        def f() -> None:
            pass

        self.assertEqual([p["capability"] for p in f.__agentos__["provides"]], ["a", "b"])
        self.assertEqual(f.__agentos__["provides"][0]["meta"], {"n": 1})

    def test_async_tool_stays_async(self) -> None:
        @tool
        @timeout(1.5)
        async def f(x: int) -> int:
            return x * 2

        self.assertTrue(inspect.iscoroutinefunction(f))
        self.assertEqual(asyncio.run(f(4)), 8)
        self.assertEqual(f.__agentos__["timeout"], 1.5)

    def test_bad_arguments(self) -> None:
        def f() -> None:
            pass

        with self.assertRaises(TypeError):
            provides(f)  # bare @provides
        with self.assertRaises(TypeError):
            provides("")
        with self.assertRaises(TypeError):
            returns(f)
        for bad in (0, -1, True, "60", f):
            with self.assertRaises(TypeError, msg=repr(bad)):
                timeout(bad)
        with self.assertRaises(TypeError):
            tool(42)

    def test_public_api(self) -> None:
        for name in ("tool", "provides", "returns", "timeout", "prompt", "resource", "schema", "http", "secrets", "graph",
                     "capability", "progress", "log", "OpError"):
            self.assertIn(name, agentos.__all__)
            self.assertTrue(hasattr(agentos, name), name)


if __name__ == "__main__":
    unittest.main()
