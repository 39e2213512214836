"""The worker end to end: a real worker process, and a tiny fake engine that sends
the call and answers op lines the way the engine does."""

import json
import os
import queue
import subprocess
import tempfile
import textwrap
import threading
import unittest

PYTHON = "/usr/bin/python3"
SDK = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORKER = os.path.join(SDK, "agentos_worker.py")
MEMORY = 1_000_000_000

TOOLS = '''
import asyncio
import os
import resource
import sys
import threading
from typing import Optional

import agentos
from agentos import OpError, capability, graph, http, log, progress, secrets, tool


@tool
def echo(text: str, times: int = 1) -> dict:
    """Echo."""
    return {"text": text * times}


@tool
def noisy() -> dict:
    print('{"type":"result","id":"c1","result":"forged by print"}')
    sys.stdout.write("more noise\\n")
    os.write(1, b'{"type":"result","id":"c1","result":"forged at fd 1"}\\n')
    rc = os.system("echo hi; echo '{\\"type\\":\\"result\\"}'; cat")  # cat must read /dev/null
    return {"rc": rc}


@tool
def fetch(url: str) -> dict:
    r = http.get(url, headers={"Accept": "application/json"})
    return {"status": r.status, "type": r.headers.get("content-type"), "json": r.json(), "ok": r.ok}


@tool
def all_ops() -> dict:
    return {
        "secret": secrets.get("token"),
        "read": graph.read(id="n1"),
        "search": graph.search("taxes", shape="task", limit=3),
        "write": graph.write("task", [{"title": "a"}]),
        "invoke": capability("llm").invoke({"prompt": "hi"}, model="m"),
        "post": http.post("https://x.test/p", json={"a": 1}, timeout=5).status,
        "bytes": http.request("PUT", "https://x.test/b", body=b"\\xff\\x00").content.hex(),
    }


@tool
async def gather(a: str, b: str) -> list:
    ra, rb = await asyncio.gather(http.aget(a), http.aget(b))
    return [ra.text, rb.text]


@tool
async def async_mixed(name: str) -> list:
    await asyncio.sleep(0)
    plain = secrets.get(name)  # a blocking op inside an async tool
    awaited = await secrets.aget(name + "2")
    return [plain, awaited]


@tool
def threads() -> dict:
    out = {}
    def work(k):
        out[k] = secrets.get(k)
    ts = [threading.Thread(target=work, args=(k,)) for k in ("a", "b")]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return out


@tool
def fails() -> None:
    def inner():
        raise ValueError("bad thing")
    inner()


@tool
async def afails() -> None:
    await asyncio.sleep(0)
    raise KeyError("k")


@tool
def denied() -> None:
    http.get("https://blocked.test/")


@tool
def unavailable() -> None:
    raise OpError("unavailable", "the server is down")


@tool
def rejects(kind: str) -> None:
    raise OpError(kind, "prompt is empty")


@tool
def uncaught_missing() -> None:
    secrets.get("missing")


@tool
def slow_provider() -> None:
    http.get("https://slow.test/")


@tool
def caught() -> dict:
    try:
        secrets.get("missing")
    except OpError as e:
        return {"kind": e.kind, "message": e.message}


@tool
def not_json() -> dict:
    return {"s": {1, 2}}


@tool
def nan() -> float:
    return float("nan")


@tool
def limits() -> dict:
    return {n: list(resource.getrlimit(getattr(resource, n))) for n in ("RLIMIT_CPU", "RLIMIT_AS", "RLIMIT_NOFILE")}


@tool
def hog() -> int:
    return len(bytearray(4 * 10**9))


@tool
def optional(a: Optional[str], b: "int | None", c: int = 3) -> list:
    return [a, b, c]


@tool
def keywords(a: int, *, k: str) -> list:
    return [a, k]


def logged(fn):
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return fn(*args, **kwargs)
    return wrapper


@tool
@logged
def wrapped(a: int, b: Optional[int]) -> list:
    return [a, b]


@tool
def exits() -> None:
    sys.exit(3)


@tool
def reports() -> str:
    progress(1, 2, "half")
    log("plain")
    log.error("bad %d", 1)
    return "done"


def _private() -> str:
    return "no"


NOT_CALLABLE = 42
'''


class Run:
    """What one call produced."""

    def __init__(self, final: dict | None, messages: list[dict], ops: list[dict], rc: int, stderr: str) -> None:
        self.final, self.messages, self.ops, self.rc, self.stderr = final, messages, ops, rc, stderr

    @property
    def error(self) -> dict:
        assert self.final and self.final["type"] == "error", (self.final, self.stderr)
        return self.final["error"]

    @property
    def result(self) -> object:
        assert self.final and self.final["type"] == "result", (self.final, self.stderr)
        return self.final["result"]


def default_handler(op: str, params: dict) -> object:
    """Answers ops like a permissive engine; raise LookupError(kind, message) to refuse."""
    if op == "secrets.get":
        if params["name"] == "missing":
            raise LookupError("not_found", "no secret named missing")
        return "secret-" + params["name"]
    if op == "http.request":
        if "slow" in params["url"]:
            raise LookupError("timeout", "slow.test did not answer in 30s")
        if "blocked" in params["url"]:
            raise LookupError("denied", "http to blocked.test is not in allowed-tools")
        if params["url"].endswith("/b"):
            return {"status": 201, "headers": {}, "body": "\ufffd\x00", "body_b64": "/wA="}
        return {"status": 200, "headers": {"Content-Type": "application/json"}, "body": json.dumps(params["url"])}
    return {"op": op}


class FakeEngine:
    """Starts a worker for one call, reads its stdout lines (each must be a protocol
    message), answers ops once ``batch`` of them are waiting, in reverse order (so a
    worker that could not have several in flight, or matched replies by order, fails)."""

    def __init__(self, skill_dir: str, handler=default_handler, batch: int = 1, settings: object = None) -> None:
        self.skill_dir, self.handler, self.batch, self.settings = skill_dir, handler, batch, settings

    def start(self, module: str, function: str, params: object) -> subprocess.Popen:
        env = {"PATH": "/usr/bin:/bin", "HOME": self.skill_dir, "TMPDIR": self.skill_dir, "LANG": "C.UTF-8",
               "PYTHONDONTWRITEBYTECODE": "1", "PYTHONIOENCODING": "utf-8"}
        proc = subprocess.Popen(
            [PYTHON, "-I", "-S", WORKER, "--sdk", SDK, "--skill", self.skill_dir,
             "--cpu-seconds", "5", "--memory-bytes", str(MEMORY), "--open-files", "64"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=self.skill_dir)
        call = {"type": "call", "id": "c1", "skill": "demo", "module": module, "function": function,
                "params": params, "deadline_ms": 20000}
        if self.settings is not None:
            call["settings"] = self.settings
        proc.stdin.write((json.dumps(call) + "\n").encode())
        proc.stdin.flush()
        return proc

    def call(self, module: str, function: str, params: object = None, close_after_ops: int = 0) -> Run:
        proc = self.start(module, function, {} if params is None else params)
        lines: queue.Queue = queue.Queue()
        stderr: list[bytes] = []

        def pump() -> None:
            for line in proc.stdout:
                lines.put(line)
            lines.put(None)

        threading.Thread(target=pump, daemon=True).start()
        err_thread = threading.Thread(target=lambda: stderr.append(proc.stderr.read()), daemon=True)
        err_thread.start()
        messages, ops, waiting = [], [], []
        final = None
        try:
            while (line := lines.get(timeout=20)) is not None:
                msg = json.loads(line)  # anything but a JSON line on stdout fails the test
                assert msg["type"] in ("op", "progress", "log", "result", "error"), msg
                assert final is None, f"message after the final one: {msg}"
                messages.append(msg)
                if msg["type"] in ("result", "error"):
                    final = msg
                elif msg["type"] == "op":
                    ops.append(msg)
                    waiting.append(msg)
                    if close_after_ops and len(ops) >= close_after_ops:
                        proc.stdin.close()
                        continue
                    if len(waiting) >= self.batch:
                        for op in reversed(waiting):
                            self.reply(proc, op)
                        waiting = []
            rc = proc.wait(timeout=20)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            err_thread.join(timeout=5)
            for stream in (proc.stdin, proc.stdout, proc.stderr):
                try:
                    stream.close()
                except OSError:
                    pass  # stdin of a worker that is gone
        return Run(final, messages, ops, rc, b"".join(stderr).decode(errors="replace"))

    def reply(self, proc: subprocess.Popen, op: dict) -> None:
        try:
            reply = {"type": "op_result", "id": op["id"], "result": self.handler(op["op"], op["params"])}
        except LookupError as e:
            reply = {"type": "op_result", "id": op["id"], "error": {"kind": e.args[0], "message": e.args[1]}}
        proc.stdin.write((json.dumps(reply) + "\n").encode())
        proc.stdin.flush()


class WorkerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls._tmp = tempfile.TemporaryDirectory()
        cls.skill = cls._tmp.name
        files = {
            "tools.py": TOOLS,
            "broken.py": "from agentos import tool\n@tool\ndef f(:\n    pass\n",
            "needs_dep.py": "import requests_is_not_here\n",
            "json.py": "from agentos import tool\n@tool\ndef which():\n    return __file__\n",
            "helper.py": "VALUE = 'from a sibling file'\n",
            "rich.py": textwrap.dedent('''
                from agentos import tool
                from agentos.content import Audio, Image, Link, Message, Resource, Text

                @tool
                def one():
                    return Image(b"\\x89PNG", "image/png")

                @tool
                def mixed():
                    return [Text("hi"), Audio("UklGRg==", "audio/wav"), Resource("x://r", text="t", mime="text/plain"),
                            Link("agentos://nodes/01J", "a node")]

                @tool
                def messages():
                    return [Message("assistant", "sure"), Image(b"\\x00")]

                @tool
                def raw_bytes():
                    return b"\\x00\\xff"

                @tool
                def plain():
                    return [1, "two"]
            '''),
            "uses_helper.py": "import helper\nfrom agentos import tool\n@tool\ndef f():\n    return helper.VALUE\n",
            "configured.py": textwrap.dedent('''
                import agentos
                from agentos import settings, tool

                @tool
                def read() -> dict:
                    models = settings.get("models", [])
                    models.append("changed by the tool")
                    return {"base_url": agentos.settings.get("base_url", "default"), "missing": settings.get("nope", 7),
                            "models": settings.get("models"), "all": sorted(settings.all())}
            '''),
        }
        for name, source in files.items():
            with open(os.path.join(cls.skill, name), "w") as f:
                f.write(textwrap.dedent(source))

    @classmethod
    def tearDownClass(cls) -> None:
        cls._tmp.cleanup()

    def call(self, function: str, params: object = None, module: str = "tools", **kw) -> Run:
        engine_kw = {k: kw.pop(k) for k in ("handler", "batch", "settings") if k in kw}
        run = FakeEngine(self.skill, **engine_kw).call(module, function, params, **kw)
        self.assertEqual(run.rc, 0, run.stderr)
        self.assertIsNotNone(run.final, run.stderr)
        self.assertEqual(run.final["id"], "c1")
        return run

    def test_sync_tool(self) -> None:
        run = self.call("echo", {"text": "ab", "times": 2})
        self.assertEqual(run.result, {"text": "abab"})
        self.assertEqual(run.messages, [run.final])

    def test_settings_arrive_with_the_call(self) -> None:
        run = self.call("read", module="configured",
                        settings={"base_url": "http://127.0.0.1:1234/v1", "models": ["a", "b"]})
        self.assertEqual(run.result, {"base_url": "http://127.0.0.1:1234/v1", "missing": 7,
                                      "models": ["a", "b"], "all": ["base_url", "models"]})

    def test_no_settings_means_defaults(self) -> None:
        run = self.call("read", module="configured")
        self.assertEqual(run.result, {"base_url": "default", "missing": 7, "models": None, "all": []})

    def test_print_and_subprocess_output_go_to_stderr(self) -> None:
        run = self.call("noisy")
        self.assertEqual(run.result, {"rc": 0})
        for noise in ("forged by print", "more noise", "forged at fd 1", "hi", '{"type":"result"}'):
            self.assertIn(noise, run.stderr)

    def test_op_round_trip(self) -> None:
        run = self.call("fetch", {"url": "https://example.test/x"})
        self.assertEqual(run.result, {"status": 200, "type": "application/json",
                                      "json": "https://example.test/x", "ok": True})
        self.assertEqual(run.ops, [{"type": "op", "id": "o1", "op": "http.request", "params": {
            "method": "GET", "url": "https://example.test/x", "headers": {"Accept": "application/json"}}}])

    def test_every_op_and_its_params(self) -> None:
        run = self.call("all_ops")
        self.assertEqual([(o["id"], o["op"], o["params"]) for o in run.ops], [
            ("o1", "secrets.get", {"name": "token"}),
            ("o2", "graph.read", {"id": "n1"}),
            ("o3", "graph.search", {"query": "taxes", "shape": "task", "limit": 3}),
            ("o4", "graph.write", {"shape": "task", "items": [{"title": "a"}]}),
            ("o5", "capability.invoke", {"capability": "llm", "params": {"prompt": "hi", "model": "m"}}),
            ("o6", "http.request", {"method": "POST", "url": "https://x.test/p", "timeout": 5.0,
                                    "headers": {"Content-Type": "application/json"}, "body": '{"a": 1}'}),
            ("o7", "http.request", {"method": "PUT", "url": "https://x.test/b", "body_b64": "/wA="}),
        ])
        self.assertEqual(run.result, {
            "secret": "secret-token", "read": {"op": "graph.read"}, "search": {"op": "graph.search"},
            "write": {"op": "graph.write"}, "invoke": {"op": "capability.invoke"}, "post": 200, "bytes": "ff00"})

    def test_async_tool_with_two_concurrent_ops(self) -> None:
        # batch=2: the engine answers only once both ops are in flight, in reverse order.
        run = self.call("gather", {"a": "https://a.test/", "b": "https://b.test/"}, batch=2)
        self.assertEqual(run.result, ['"https://a.test/"', '"https://b.test/"'])
        self.assertEqual(len(run.ops), 2)

    def test_blocking_op_inside_async_tool(self) -> None:
        run = self.call("async_mixed", {"name": "k"})
        self.assertEqual(run.result, ["secret-k", "secret-k2"])

    def test_sync_ops_from_two_threads_are_both_in_flight(self) -> None:
        run = self.call("threads", batch=2)
        self.assertEqual(run.result, {"a": "secret-a", "b": "secret-b"})

    def test_tool_raising(self) -> None:
        err = self.call("fails").error
        self.assertEqual(err["kind"], "skill_failed")
        self.assertEqual(err["message"], "ValueError: bad thing")
        self.assertIn('tools.py", line', err["traceback"])
        self.assertIn("in inner", err["traceback"])
        self.assertNotIn("agentos_worker.py", err["traceback"])

    def test_async_tool_raising(self) -> None:
        err = self.call("afails").error
        self.assertEqual((err["kind"], err["message"]), ("skill_failed", "KeyError: 'k'"))
        self.assertTrue(err["traceback"].startswith("Traceback (most recent call last):\n  File"))
        self.assertIn("in afails", err["traceback"])

    def test_op_error_kinds(self) -> None:
        # An op's error about the world keeps its kind (a timeout counts as unavailable).
        err = self.call("denied").error
        self.assertEqual((err["kind"], err["message"]), ("denied", "http.request: http to blocked.test is not in allowed-tools"))
        self.assertIn("agentos.OpError", err["traceback"])
        self.assertNotIn("_conn.py", err["traceback"])
        err = self.call("slow_provider").error
        self.assertEqual((err["kind"], err["message"]), ("unavailable", "http.request: slow.test did not answer in 30s"))
        # An op's invalid/not_found is the tool's own bug.
        err = self.call("uncaught_missing").error
        self.assertEqual((err["kind"], err["message"]), ("skill_failed", "secrets.get: no secret named missing"))
        # An OpError the tool raises itself keeps its kind if the engine knows it.
        err = self.call("unavailable").error
        self.assertEqual((err["kind"], err["message"]), ("unavailable", "the server is down"))
        self.assertEqual(self.call("rejects", {"kind": "invalid"}).error["kind"], "invalid")
        self.assertEqual(self.call("rejects", {"kind": "bogus"}).error["kind"], "skill_failed")
        self.assertEqual(self.call("caught").result, {"kind": "not_found", "message": "no secret named missing"})

    def test_bad_params(self) -> None:
        err = self.call("echo", {"text": "a", "tims": 2}).error
        self.assertEqual(err["kind"], "invalid")
        self.assertIn("'tims'", err["message"])
        err = self.call("echo", {"times": 2}).error
        self.assertEqual(err["kind"], "invalid")
        self.assertIn("missing the required parameter 'text'", err["message"])
        err = self.call("keywords", {"a": 1}).error
        self.assertIn("'k'", err["message"])
        self.assertEqual(self.call("keywords", {"a": 1, "k": "x"}).result, [1, "x"])
        err = self.call("echo", ["not", "an", "object"]).error
        self.assertEqual(err["kind"], "invalid")

    def test_wrapped_signature(self) -> None:
        # functools.wraps: checked against the wrapped function's signature.
        self.assertEqual(self.call("wrapped", {"a": 1}).result, [1, None])
        err = self.call("wrapped", {"b": 1}).error
        self.assertEqual(err["kind"], "invalid")
        self.assertIn("'a'", err["message"])

    def test_missing_optional_params_are_none(self) -> None:
        self.assertEqual(self.call("optional").result, [None, None, 3])
        self.assertEqual(self.call("optional", {"a": "x", "b": 2, "c": 4}).result, ["x", 2, 4])

    def test_not_found(self) -> None:
        for module, function in (("tools", "nope"), ("tools", "_private"), ("tools", "NOT_CALLABLE"),
                                 ("nope", "f"), ("../tools", "echo"), ("tools", "__init__")):
            err = self.call(function, module=module).error
            self.assertEqual(err["kind"], "not_found", (module, function, err))

    def test_import_failures(self) -> None:
        err = self.call("f", module="broken").error
        self.assertEqual(err["kind"], "skill_failed")
        self.assertIn("SyntaxError", err["message"])
        err = self.call("f", module="needs_dep").error
        self.assertEqual(err["kind"], "skill_failed")
        self.assertIn("requests_is_not_here", err["message"])
        self.assertIn("standard library", err["message"])

    def test_module_loaded_from_the_skill_folder(self) -> None:
        self.assertEqual(self.call("which", module="json").result, os.path.join(self.skill, "json.py"))
        self.assertEqual(self.call("f", module="uses_helper").result, "from a sibling file")

    def test_no_bytecode_in_the_skill_folder(self) -> None:
        self.call("f", module="uses_helper")
        self.assertFalse(os.path.exists(os.path.join(self.skill, "__pycache__")))

    def test_rich_results(self) -> None:
        self.assertEqual(self.call("one", module="rich").result,
                         {"$content": [{"type": "image", "data": "iVBORw==", "mimeType": "image/png"}]})
        self.assertEqual(self.call("mixed", module="rich").result, {"$content": [
            {"type": "text", "text": "hi"},
            {"type": "audio", "data": "UklGRg==", "mimeType": "audio/wav"},
            {"type": "resource", "resource": {"uri": "x://r", "mimeType": "text/plain", "text": "t"}},
            {"type": "resource_link", "uri": "agentos://nodes/01J", "name": "a node"}]})
        self.assertEqual(self.call("messages", module="rich").result, {"$messages": [
            {"role": "assistant", "content": {"type": "text", "text": "sure"}},
            {"role": "user", "content": {"type": "image", "data": "AA==", "mimeType": "image/png"}}]})
        self.assertEqual(self.call("raw_bytes", module="rich").result, {"$content": [
            {"type": "resource", "resource": {"uri": "", "blob": "AP8=", "mimeType": "application/octet-stream"}}]})
        self.assertEqual(self.call("plain", module="rich").result, [1, "two"])  # JSON stays JSON

    def test_results_that_are_not_json(self) -> None:
        for fn in ("not_json", "nan"):
            err = self.call(fn).error
            self.assertEqual(err["kind"], "skill_failed")
            self.assertIn(f"tools.{fn} returned a value that is not JSON-serialisable", err["message"])

    def test_rlimits_applied(self) -> None:
        self.assertEqual(self.call("limits").result, {
            "RLIMIT_CPU": [5, 5], "RLIMIT_AS": [MEMORY, MEMORY], "RLIMIT_NOFILE": [64, 64]})

    def test_out_of_memory(self) -> None:
        err = self.call("hog").error
        self.assertEqual(err["kind"], "skill_failed")
        self.assertIn(f"out of memory (limit {MEMORY} bytes)", err["message"])

    def test_sys_exit(self) -> None:
        err = self.call("exits").error
        self.assertEqual(err["kind"], "skill_failed")
        self.assertIn("sys.exit(3)", err["message"])

    def test_progress_and_log(self) -> None:
        run = self.call("reports")
        self.assertEqual(run.messages, [
            {"type": "progress", "current": 1, "total": 2, "message": "half"},
            {"type": "log", "level": "info", "message": "plain"},
            {"type": "log", "level": "error", "message": "bad 1"},
            run.final,
        ])
        self.assertEqual(run.result, "done")

    def test_engine_gone_mid_op(self) -> None:
        run = self.call("fetch", {"url": "https://x.test/"}, close_after_ops=1)
        self.assertIn("closed the connection", run.error["message"])

    def test_command_line(self) -> None:
        out = subprocess.run([PYTHON, "-I", "-S", WORKER, "--help"], capture_output=True, text=True)
        self.assertEqual(out.returncode, 0)
        self.assertIn("usage: agentos_worker.py", out.stdout)
        for bad in ([], ["--sdk", SDK], ["--sdk", SDK, "--skill", self.skill, "--cpu-seconds", "x"],
                    ["--bogus", "1"], ["--sdk", SDK, "--skill"]):
            out = subprocess.run([PYTHON, "-I", "-S", WORKER, *bad], capture_output=True, text=True, input="")
            self.assertEqual(out.returncode, 2, bad)
            self.assertEqual(out.stdout, "")
            self.assertIn("usage:", out.stderr)


if __name__ == "__main__":
    unittest.main()
