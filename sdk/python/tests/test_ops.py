"""The SDK's ops outside a worker, and the pieces that need no engine."""

import base64
import contextlib
import io
import json
import os
import subprocess
import unittest
from unittest import mock

import agentos
from agentos import _conn, _ops


class OutsideWorkerTest(unittest.TestCase):
    def setUp(self) -> None:
        self.assertIsNone(_conn._current, "a test left a connection installed")

    def test_ops_raise_a_clear_error(self) -> None:
        calls = [
            lambda: agentos.http.get("https://example.com"),
            lambda: agentos.http.request("POST", "https://example.com", json={"a": 1}),
            lambda: agentos.secrets.get("openai"),
            lambda: agentos.graph.read(id="x"),
            lambda: agentos.graph.search("taxes"),
            lambda: agentos.graph.write("task", []),
            lambda: agentos.capability("llm").invoke(prompt="hi"),
        ]
        for call in calls:
            with self.assertRaises(RuntimeError) as cm:
                call()
            self.assertIn("only works when the agentos engine runs the tool", str(cm.exception))
            self.assertIn("unittest.mock.patch", str(cm.exception))

    def test_fresh_interpreter(self) -> None:
        sdk = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        prog = f"import sys; sys.path.insert(0, {sdk!r}); import agentos; agentos.secrets.get('x')"
        out = subprocess.run(["/usr/bin/python3", "-I", "-S", "-c", prog], capture_output=True, text=True)
        self.assertEqual(out.returncode, 1)
        self.assertIn("RuntimeError: agentos.secrets.get only works when the agentos engine runs the tool",
                      out.stderr)

    def test_async_ops_raise_too(self) -> None:
        import asyncio

        with self.assertRaises(RuntimeError):
            asyncio.run(agentos.http.aget("https://example.com"))

    def test_suggested_patch_works(self) -> None:
        fake = _ops.Response({"status": 200, "headers": {}, "body": "ok"})
        with mock.patch("agentos.http.get", return_value=fake):
            self.assertEqual(agentos.http.get("https://example.com").text, "ok")

    def test_log_and_progress_print_to_stderr(self) -> None:
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            agentos.log("plain")
            agentos.log.warning("n=%d", 3)
            agentos.progress(1, 4, "step")
        self.assertEqual(err.getvalue().splitlines(), ["info: plain", "warning: n=3", "progress: 1/4 step"])


class PiecesTest(unittest.TestCase):
    def test_response(self) -> None:
        raw = b"\xff\x00binary"
        r = _ops.Response({"status": 404, "headers": {"Content-Type": "text/plain"},
                           "body": raw.decode("utf-8", "replace"),
                           "body_b64": base64.b64encode(raw).decode()})
        self.assertEqual(r.status, 404)
        self.assertFalse(r.ok)
        self.assertEqual(r.headers["content-type"], "text/plain")
        self.assertEqual(r.headers.get("CONTENT-TYPE"), "text/plain")
        self.assertIn("Content-Type", r.headers)
        self.assertIsInstance(r.headers, dict)
        self.assertEqual(r.content, raw)
        j = _ops.Response({"status": 200, "body": '{"a": [1]}'})
        self.assertTrue(j.ok)
        self.assertEqual(j.json(), {"a": [1]})
        self.assertEqual(j.content, b'{"a": [1]}')

    def test_http_params(self) -> None:
        p = _ops._http_params("post", "https://x", {"X-A": 1}, None, {"k": "v"}, 5)
        self.assertEqual(p, {"method": "POST", "url": "https://x",
                             "headers": {"X-A": "1", "Content-Type": "application/json"},
                             "body": '{"k": "v"}', "timeout": 5.0})
        p = _ops._http_params("PUT", "https://x", None, b"\x00\x01", None, None)
        self.assertEqual(p, {"method": "PUT", "url": "https://x", "body_b64": "AAE="})
        p = _ops._http_params("POST", "https://x", {"content-type": "text/json"}, None, [1], None)
        self.assertEqual(p["headers"], {"content-type": "text/json"})
        with self.assertRaises(TypeError):
            _ops._http_params("POST", "https://x", None, "a", {"b": 1}, None)
        with self.assertRaises(TypeError):
            _ops._http_params("POST", "https://x", None, {"dict": "body"}, None, None)
        with self.assertRaises(ValueError):
            _ops._http_params("POST", "https://x", None, None, float("nan"), None)

    def test_op_error(self) -> None:
        e = agentos.OpError("denied", "not allowed")
        self.assertEqual((e.kind, e.message), ("denied", "not allowed"))
        self.assertEqual(str(e), "denied: not allowed")
        self.assertIsInstance(e, Exception)
        with self.assertRaises(agentos.OpError) as cm:
            _conn._unwrap({"error": {"kind": "not_found", "message": "no secret openai"}}, "secrets.get")
        self.assertEqual((cm.exception.kind, cm.exception.op), ("not_found", "secrets.get"))
        self.assertIsNone(e.op)
        self.assertEqual(_conn._unwrap({"result": {"a": 1}}, "graph.read"), {"a": 1})

    def test_capability_params(self) -> None:
        c = agentos.capability("llm", provider="ollama")
        self.assertEqual(c._params({"prompt": "a"}, {"model": "m"}),
                         {"capability": "llm", "params": {"prompt": "a", "model": "m"}, "provider": "ollama"})
        self.assertEqual(agentos.capability("web.read")._params(None, {}),
                         {"capability": "web.read", "params": {}})
        json.dumps(c._params(None, {"x": 1}))


if __name__ == "__main__":
    unittest.main()
