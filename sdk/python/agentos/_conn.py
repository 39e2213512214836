"""The worker's one connection to the engine (docs/worker-protocol.md).

Ops are JSON lines: the worker writes ``{"type":"op",...}`` to the protocol fd and the
engine answers with ``{"type":"op_result",...}`` lines on the input fd, in any order,
matched by id. Whoever needs a reply reads: a sync op blocks reading lines until its
own reply arrives, parking the others for their owners (another thread's sync op, or
an asyncio future); async ops are fed by an event-loop reader on the same fd. One
byte buffer is shared by both paths, so no line is ever read twice or lost.

Imports are kept to what ``json`` already loads: every tool call starts a fresh
interpreter, and its start-up time is the floor of a capability call.
"""

import _thread
import itertools
import json
import os

# Error kinds of DESIGN §4; an uncaught OpError with one of them ends the call with
# that kind (see agentos_worker.py).
KINDS = frozenset({"invalid", "not_found", "conflict", "no_provider", "denied", "timeout",
                   "skill_failed", "cancelled", "unavailable", "internal"})


class OpError(Exception):
    """An op the engine refused or could not do. ``kind`` is one of the engine's
    error kinds (denied, invalid, not_found, unavailable, timeout, ...), ``op`` the
    op that failed (None when the tool raised the error itself).

    A tool may raise it itself, e.g. ``raise OpError("unavailable", "ollama is not
    running")``: the call then fails with that kind, and for ``unavailable`` the engine
    tries the capability's next provider."""

    def __init__(self, kind: str, message: str = "", op: str | None = None) -> None:
        super().__init__(kind, message)
        self.kind = kind
        self.message = message
        self.op = op

    def __str__(self) -> str:
        return f"{self.kind}: {self.message}" if self.message else self.kind


class Connection:
    """The protocol endpoint of this worker process: reads ``rfd``, writes ``wfd``."""

    def __init__(self, rfd: int, wfd: int) -> None:
        self._rfd = rfd
        self._wfd = wfd
        self._buf = bytearray()
        self._scanned = 0  # bytes of _buf known to hold no newline
        self._eof = False
        self._ids = itertools.count(1)  # next() is atomic under the GIL
        self._wlock = _thread.allocate_lock()  # one line at a time on the wire
        self._rlock = _thread.allocate_lock()  # one reader of rfd at a time
        self._done: dict[str, dict] = {}  # replies parked for sync waiters
        self._futures: dict[str, tuple] = {}  # op id -> (loop, future) of async ops
        self._loops: set = set()  # event loops with our reader installed

    # -- writing

    def send(self, msg: dict) -> None:
        """Write one message line. Raises ValueError/TypeError for values JSON cannot
        carry (NaN, objects), before anything is written."""
        line = json.dumps(msg, separators=(",", ":"), allow_nan=False).encode() + b"\n"
        self.send_line(line)

    def send_line(self, line: bytes) -> None:
        with self._wlock:
            view = memoryview(line)
            while view:
                view = view[os.write(self._wfd, view):]

    # -- reading

    def _fill(self) -> bool:
        """Read once from rfd (blocking) into the buffer; False at end of input."""
        chunk = os.read(self._rfd, 1 << 16)
        if not chunk:
            self._eof = True
            return False
        self._buf += chunk
        return True

    def _next_line(self) -> bytes | None:
        """Pop one complete line from the buffer, or None if there is none yet."""
        i = self._buf.find(b"\n", self._scanned)
        if i < 0:
            self._scanned = len(self._buf)
            return None
        line = bytes(self._buf[:i])
        del self._buf[:i + 1]
        self._scanned = 0
        return line

    def read_message(self) -> dict | None:
        """Block until the next whole message (the call); None at end of input."""
        with self._rlock:
            while True:
                line = self._next_line()
                if line is not None:
                    return json.loads(line)
                if not self._fill():
                    return None

    def _dispatch(self, line: bytes) -> None:
        """Hand one op_result to its owner: an async future or a sync waiter."""
        if not line.strip():
            return
        msg = json.loads(line)
        if not isinstance(msg, dict) or msg.get("type") != "op_result":
            return  # nothing else is defined engine → worker after the call
        oid = msg.get("id")
        owner = self._futures.pop(oid, None)
        if owner is None:
            self._done[oid] = msg
        else:
            loop, fut = owner
            loop.call_soon_threadsafe(_resolve, fut, msg)

    def _drain(self) -> None:
        """Dispatch every complete line already buffered."""
        while (line := self._next_line()) is not None:
            self._dispatch(line)

    # -- ops

    def _new_id(self) -> str:
        return "o%d" % next(self._ids)

    def op(self, name: str, params: dict) -> object:
        """Do one op and block until its reply; works from any thread, and from
        inside a running event loop (which then waits too)."""
        oid = self._new_id()
        self.send({"type": "op", "id": oid, "op": name, "params": params})
        with self._rlock:
            while oid not in self._done:
                line = self._next_line()
                if line is not None:
                    self._dispatch(line)
                elif self._eof or not self._fill():
                    self._fail_futures()
                    raise RuntimeError(f"agentos: the engine closed the connection during {name}")
            msg = self._done.pop(oid)
            self._drain()  # lines read past ours may belong to async ops
        return _unwrap(msg, name)

    async def aop(self, name: str, params: dict) -> object:
        """Do one op without blocking the event loop; many may be in flight."""
        import asyncio  # only async tools pay for it

        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        oid = self._new_id()
        self._futures[oid] = (loop, fut)  # before sending: the reply may come at once
        try:
            if self._eof:
                raise RuntimeError(f"agentos: the engine closed the connection before {name}")
            if loop not in self._loops:
                loop.add_reader(self._rfd, self._on_readable)
                self._loops.add(loop)
            self.send({"type": "op", "id": oid, "op": name, "params": params})
            # A sync op in another thread may have buffered lines already.
            if self._rlock.acquire(False):
                try:
                    self._drain()
                finally:
                    self._rlock.release()
            msg = await fut
        finally:
            self._futures.pop(oid, None)
            if loop in self._loops and not any(l is loop for l, _ in self._futures.values()):
                loop.remove_reader(self._rfd)
                self._loops.discard(loop)
        return _unwrap(msg, name)

    def _on_readable(self) -> None:
        """Event-loop reader: read what is there, never block."""
        if not self._rlock.acquire(False):
            return  # a sync op holds the reader; it dispatches our replies too
        try:
            import select  # already loaded by asyncio

            if select.select([self._rfd], [], [], 0)[0] and not self._fill():
                self._fail_futures()
            self._drain()
        finally:
            self._rlock.release()

    def _fail_futures(self) -> None:
        """End of input: no reply will come for any op in flight."""
        for oid in list(self._futures):
            owner = self._futures.pop(oid, None)
            if owner is not None:
                loop, fut = owner
                loop.call_soon_threadsafe(_resolve, fut, {"error": {
                    "kind": "cancelled", "message": "the engine closed the connection"}})


def _resolve(fut, msg: dict) -> None:
    if not fut.done():
        fut.set_result(msg)


def _unwrap(msg: dict, op: str) -> object:
    """An op_result's result, or its error raised as OpError."""
    err = msg.get("error")
    if err is not None:
        if not isinstance(err, dict):
            err = {"message": str(err)}
        raise OpError(str(err.get("kind") or "internal"), str(err.get("message") or ""), op)
    return msg.get("result")


_current: Connection | None = None  # set by agentos_worker.py; the only global state


def install(conn: Connection | None) -> None:
    """Make conn the connection ops go through (the worker shim calls this once)."""
    global _current
    _current = conn


def current(what: str, patch: str = "") -> Connection:
    """The worker's connection, or a RuntimeError saying where ops work. ``what``
    names the call for the message; ``patch`` the mock.patch target to suggest."""
    if _current is None:
        raise RuntimeError(
            f"agentos.{what} only works when the agentos engine runs the tool (inside a "
            "skill worker); in a plain Python test, replace it with a fake, e.g. "
            f"unittest.mock.patch(\"agentos.{patch or what}\")")
    return _current
