"""The fork server's template (DESIGN §7.1 "Fork server", docs/worker-protocol.md).

    python -I -S -c 'import sys; sys.path.insert(0, SDK); from agentos._forkserver import main; main()' CONFIG

Started once per runner through the sandbox helper, so it already runs inside the
base layers (network namespace, seccomp, no_new_privs, a Landlock ruleset wide
enough for every call). fd 0 is an AF_UNIX SOCK_SEQPACKET control socket. It
pre-imports the worker module, says {"ready": ...} and then, per request (a JSON
object plus four fds: the worker's stdin, stdout, stderr and a per-call reply
socket), hands it to a spare and forks the next spare.

A spare is forked ahead of its call into a new PID namespace (unshare(CLONE_NEWPID)
before the fork, setns back to the template's own after it), so it is PID 1 there
and its exit ends every process the call starts. Before a call comes it drops every
capability and builds the Landlock rules all calls share. Given a call, it adds the
call's own (the skill folder, the call dir) and restricts itself, sends {"ready"}
and a pidfd of itself on the reply socket (or a setup error), takes the worker's
command line as its title (so ps names the skill) and runs the worker: a fresh fork
of the template, with nothing of an earlier call in it.

The template reaps each call (a pidfd per call in its selector) and sends its wait
status and CPU time on the call's reply socket. Nothing here is skill code;
a skill never sees the control socket.
"""

import ctypes
import json
import gc
import os
import selectors
import signal
import socket
import sys

from . import _worker  # noqa: F401  pre-imported: the point of the template
from . import _conn, _decorators, _ops, llm, settings  # noqa: F401
import asyncio  # noqa: F401  common in skills, and it imports inspect and traceback
import inspect  # noqa: F401
import resource
import traceback  # noqa: F401

# asyncio costs a call that imports it ~70 ms here; in the template it costs each
# fork ~1.5 ms more (a 19 MB interpreter's page tables against 10 MB).

_SYS_CREATE, _SYS_ADD, _SYS_RESTRICT = 444, 445, 446
_CLONE_NEWPID = 0x20000000
_PR_CAPBSET_DROP, _PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL = 24, 47, 4
_CAP_VERSION_3 = 0x20080522
_RULE_PATH_BENEATH = 1

_FS_EXECUTE, _FS_WRITE_FILE, _FS_READ_FILE, _FS_READ_DIR = 1, 2, 4, 8
_FS_REFER, _FS_TRUNCATE, _FS_IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15
_FILE_RIGHTS = _FS_EXECUTE | _FS_WRITE_FILE | _FS_READ_FILE | _FS_TRUNCATE | _FS_IOCTL_DEV
_READ = _FS_READ_FILE | _FS_READ_DIR
_ALL = (1 << 64) - 1  # whatever the kernel handles
_EXEC = _READ | _FS_EXECUTE
_NET_BIND, _NET_CONNECT = 1, 2
_SCOPE_ABSTRACT_UNIX, _SCOPE_SIGNAL = 1, 2
_DEVICES = ["/dev/null", "/dev/zero", "/dev/urandom", "/dev/random"]
# Signals whose default action ends a process: PID 1 ignores them unless it has a
# handler (SIGINT has Python's, KeyboardInterrupt; SIGPIPE and SIGXFSZ are ignored).
_ENDING = (signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2,
           signal.SIGALRM, signal.SIGVTALRM, signal.SIGPROF, signal.SIGXCPU)

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("fs", ctypes.c_uint64), ("net", ctypes.c_uint64), ("scoped", ctypes.c_uint64)]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def _syscall(nr: int, *args: int) -> int:
    r = _libc.syscall(ctypes.c_long(nr), *[ctypes.c_long(a) for a in args])
    if r < 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
    return r


def _landlock_abi() -> int:
    try:
        return _syscall(_SYS_CREATE, 0, 0, 1)  # LANDLOCK_CREATE_RULESET_VERSION
    except OSError:
        return 0


def _handled_fs(abi: int) -> int:
    h = 0x1FFF
    if abi >= 2:
        h |= _FS_REFER
    if abi >= 3:
        h |= _FS_TRUNCATE
    if abi >= 5:
        h |= _FS_IOCTL_DEV
    return h


class Ruleset:
    """A Landlock ruleset being built: the same rules the sandbox helper gives a
    spawned worker (broker/sandbox/landlock_linux.go). A spare builds the rules
    every call shares before its call arrives, and adds the call's own after."""

    def __init__(self) -> None:
        self.fd = -1
        abi = _landlock_abi()
        if abi < 1:
            return
        self.full = _handled_fs(abi)
        attr = _RulesetAttr(self.full, 0, 0)
        size = 8
        if abi >= 4:
            attr.net, size = _NET_BIND | _NET_CONNECT, 16
        if abi >= 6:
            attr.scoped, size = _SCOPE_ABSTRACT_UNIX | _SCOPE_SIGNAL, 24
        self.fd = _syscall(_SYS_CREATE, ctypes.addressof(attr), size, 0)
        self.paths: set[str] = set()

    def add(self, paths: list, rights: int, optional: bool) -> None:
        if self.fd < 0:
            return
        for p in paths:
            if p in self.paths:
                continue
            try:
                fd = os.open(p, os.O_PATH | os.O_CLOEXEC)
            except FileNotFoundError:
                if optional:
                    continue
                raise
            try:
                r = rights & self.full
                if not _isdir(fd):
                    r &= _FILE_RIGHTS
                rule = _PathBeneath(r, fd)
                _syscall(_SYS_ADD, self.fd, _RULE_PATH_BENEATH, ctypes.addressof(rule), 0)
            finally:
                os.close(fd)
            self.paths.add(p)

    def restrict(self) -> None:
        if self.fd < 0:
            return
        try:
            _syscall(_SYS_RESTRICT, self.fd, 0)
        finally:
            os.close(self.fd)
            self.fd = -1


def _isdir(fd: int) -> bool:
    import stat

    return stat.S_ISDIR(os.fstat(fd).st_mode)


def _send(sock: socket.socket, msg: dict, fds: list | None = None) -> None:
    data = json.dumps(msg).encode()
    if fds:
        socket.send_fds(sock, [data], fds)
    else:
        sock.send(data)


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def drop_capabilities() -> None:
    """Empties the bounding, ambient, effective, permitted and inheritable sets, as
    the sandbox helper does for a spawned worker: root's capabilities (or those
    of the template's user namespace) stay with the template."""
    cap = 0
    while _libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0) == 0:
        cap += 1
    if cap == 0 and ctypes.get_errno() not in (0, 1):  # EPERM: nothing to drop
        raise OSError(ctypes.get_errno(), "PR_CAPBSET_DROP: " + os.strerror(ctypes.get_errno()))
    _libc.prctl(_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    hdr, data = _CapHeader(_CAP_VERSION_3, 0), (_CapData * 2)()
    if _libc.capset(ctypes.byref(hdr), data) != 0:
        e = ctypes.get_errno()
        raise OSError(e, "capset: " + os.strerror(e))


class _SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8), ("k", ctypes.c_uint32)]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_uint16), ("filter", ctypes.POINTER(_SockFilter))]


_SYS_SECCOMP = {"x86_64": 317, "aarch64": 277}.get(os.uname().machine, -1)
_SECCOMP_SET_MODE_FILTER, _SECCOMP_FILTER_FLAG_NEW_LISTENER = 1, 8
_NOTIF_RECV, _NOTIF_SEND = 0xC0502100, 0xC0182101
_EPERM = 1


def install_seccomp(rows: list) -> int:
    """Installs the sandbox's filter (broker/sandbox SeccompProgram) on this
    process, every refused syscall going to a listener, whose fd it returns:
    the template answers it, so each attempt is audited as this call's."""
    prog = (_SockFilter * len(rows))(*[_SockFilter(c, jt, jf, k) for c, jt, jf, k in rows])
    fprog = _SockFprog(len(rows), prog)
    return _syscall(_SYS_SECCOMP, _SECCOMP_SET_MODE_FILTER, _SECCOMP_FILTER_FLAG_NEW_LISTENER, ctypes.addressof(fprog))


def answer_seccomp(listener: int) -> dict | None:
    """Answers one refused syscall on listener with EPERM and says which it was;
    None when there was none to answer (its caller died first)."""
    import fcntl
    import struct

    buf = bytearray(80)  # struct seccomp_notif
    try:
        fcntl.ioctl(listener, _NOTIF_RECV, buf, True)
    except OSError:
        return None
    notif_id, _pid, _flags, nr, _arch, _ip, arg0 = struct.unpack_from("=QIIiIQQ", buf)
    resp = struct.pack("=QqiI", notif_id, 0, -_EPERM, 0)  # struct seccomp_notif_resp
    try:
        fcntl.ioctl(listener, _NOTIF_SEND, bytearray(resp), True)
    except OSError:
        pass
    return {"denied_nr": nr, "arg0": arg0}


def _title_area() -> tuple[int, int]:
    """Where the kernel reads /proc/self/cmdline from (argv's strings, which
    argv[0] starts and glibc's program_invocation_name points at) and its size;
    (0, 0) when it cannot be found for sure."""
    try:
        addr = ctypes.c_void_p.in_dll(_libc, "program_invocation_name").value or 0
    except ValueError:
        return 0, 0
    size = 0
    for arg in sys.orig_argv:
        b = os.fsencode(arg)
        if ctypes.string_at(addr + size, len(b) + 1) != b + b"\0":
            return 0, 0
        size += len(b) + 1
    return addr, size


def set_title(area: tuple[int, int], argv: list[str]) -> None:
    """Writes argv over the template's own (cut to fit), so that ps, and tests
    looking for a call's processes, see the worker's command line."""
    addr, size = area
    if size == 0:
        return
    data = b"\0".join(os.fsencode(a) for a in argv)[: size - 1]
    ctypes.memset(addr, 0, size)
    ctypes.memmove(addr, data, len(data))


def _exit_on(sig, _frame):
    os._exit(128 + sig)


def _spare(cfg: dict, sock: socket.socket, title: tuple[int, int]) -> None:
    """A spare: PID 1 of a fresh namespace, made ready for a call before one
    arrives, then, given one, narrowed to it and turned into its worker."""
    # PID 1 ignores a signal it has no handler for, even from the engine; these
    # end it (with status 128 + the signal) as their default action ends a
    # spawned worker. Nothing of the template's other calls stays open in it.
    for sig in _ENDING:
        signal.signal(sig, _exit_on)
    keep = sorted({0, 1, 2, sock.fileno()})
    for lo, hi in zip(keep, keep[1:] + [1 << 16]):
        os.closerange(lo + 1, hi)
    try:
        # First thing, and always a message: the template waits for it.
        listener = -1
        try:
            if cfg.get("seccomp"):
                listener = install_seccomp(cfg["seccomp"])
        finally:
            socket.send_fds(sock, [b"listener"], [listener] if listener >= 0 else [])
        if listener >= 0:
            os.close(listener)
        drop_capabilities()
        rules = Ruleset()
        rules.add(cfg["exec"], _EXEC, False)
        rules.add(cfg["libs"], _EXEC, True)
        rules.add(_DEVICES, _READ | _FS_WRITE_FILE, True)
        rules.add([cfg["sdk"]], _READ, False)
        setup_error = None
    except BaseException as e:  # noqa: BLE001  the call it gets must hear it
        setup_error = e
    try:
        data, fds, _flags, _addr = socket.recv_fds(sock, 1 << 20, 4)
    except OSError:
        os._exit(1)
    if not data or len(fds) != 4:
        os._exit(0)  # the template is gone, or handed us nothing
    sock.close()
    reply = socket.socket(fileno=fds[3])
    try:
        if setup_error is not None:
            raise setup_error
        req = json.loads(data)
        rules.add(req["read"], _READ, True)
        rules.add(req.get("write") or [], _ALL, True)  # files(write) grants
        rules.add([req["dir"]], _ALL, False)
        rules.restrict()
        self_fd = os.pidfd_open(os.getpid())
        _send(reply, {"ready": True, "pid": os.getpid()}, [self_fd])
    except BaseException as e:  # noqa: BLE001  whatever it is, the call must hear it
        try:
            _send(reply, {"setup_error": f"fork server: {e}"})
        except OSError:
            pass
        os._exit(125)
    set_title(title, [sys.executable, "-I", "-S", *req["argv"]])
    os.dup2(fds[0], 0)
    os.dup2(fds[1], 1)
    os.dup2(fds[2], 2)
    os.closerange(3, 1 << 16)
    os.chdir(req["dir"])
    os.environ.clear()
    for kv in req["env"]:
        k, _, v = kv.partition("=")
        os.environ[k] = v
    for res, n in req["rlimits"]:
        resource.setrlimit(res, (n, n))
    sys.argv = req["argv"]
    from agentos._worker import main as worker_main

    worker_main(req["argv"][1:])
    os._exit(0)


def _unshare_pid() -> None:
    if _libc.unshare(ctypes.c_int(_CLONE_NEWPID)) != 0:
        e = ctypes.get_errno()
        raise OSError(e, "unshare(CLONE_NEWPID): " + os.strerror(e))


def _setns_pid(pidfd: int) -> None:
    if _libc.setns(ctypes.c_int(pidfd), ctypes.c_int(_CLONE_NEWPID)) != 0:
        e = ctypes.get_errno()
        raise OSError(e, "setns(CLONE_NEWPID): " + os.strerror(e))


class _Spare:
    """A call's process forked ahead of its call: its pid and pidfd, the socket it
    takes the call from, its seccomp listener, and once it has a call, the call's
    reply socket."""

    def __init__(self, pid: int, pidfd: int, sock: socket.socket) -> None:
        self.pid, self.pidfd, self.sock = pid, pidfd, sock
        self.listener = -1
        self.reply: socket.socket | None = None

    def take_listener(self, wait: float) -> None:
        """The first message of the spare, with its listener unless it has no
        seccomp filter (or failed to make one), within wait seconds."""
        if self.listener >= 0 or wait <= 0:
            return
        self.sock.settimeout(wait)
        try:
            _, fds, _, _ = socket.recv_fds(self.sock, 64, 1)
        except OSError:
            return
        finally:
            self.sock.settimeout(None)
        if fds:
            self.listener = fds[0]


class _Template:
    def __init__(self, cfg: dict, ctl: socket.socket) -> None:
        self.cfg, self.ctl = cfg, ctl
        self.self_fd = os.pidfd_open(os.getpid())  # our own PID namespace, to return to
        self.title = _title_area()
        self.sel = selectors.DefaultSelector()
        self.sel.register(ctl, selectors.EVENT_READ)
        self.spare: _Spare | None = None
        self.wants_listener = bool(cfg.get("seccomp"))

    def probe_pidns(self) -> bool:
        """Whether a call can have a PID namespace of its own, made the way spares are."""
        try:
            _unshare_pid()
            pid = os.fork()
            if pid == 0:
                os._exit(0 if os.getpid() == 1 else 1)
            _setns_pid(self.self_fd)
        except OSError:
            return False
        _, status = os.waitpid(pid, 0)
        return os.waitstatus_to_exitcode(status) == 0

    def make_spare(self) -> None:
        """Forks the next call's process ahead of its call, into a new PID namespace."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            _unshare_pid()
        except OSError:
            ours.close()
            theirs.close()
            return
        pid = os.fork()
        if pid == 0:
            ours.close()
            self.ctl.close()
            _spare(self.cfg, theirs, self.title)
            os._exit(1)
        theirs.close()
        # Back in our own namespace, or the next fork would fail; a template that
        # cannot return is no use, and the engine starts a new one.
        try:
            _setns_pid(self.self_fd)
        except OSError:
            os._exit(3)
        spare = _Spare(pid, os.pidfd_open(pid), ours)
        self.spare = spare
        self.sel.register(spare.pidfd, selectors.EVENT_READ, ("exit", spare))

    def start(self, data: bytes, fds: list) -> None:
        """Hands a call to the spare (forking one if there is none), then forks the next."""
        if self.spare is None:
            self.make_spare()
        reply = socket.socket(fileno=fds[3])
        if self.spare is None:
            for fd in fds[:3]:
                os.close(fd)
            try:
                _send(reply, {"setup_error": "fork server: cannot make a PID namespace for the call"})
            except OSError:
                pass
            reply.close()
            return
        spare, self.spare = self.spare, None
        if self.wants_listener:
            # Sent before the spare does anything else: here by now, or soon.
            spare.take_listener(5.0)
        try:
            socket.send_fds(spare.sock, [data], fds)
            spare.reply = reply
            if spare.listener >= 0:
                self.sel.register(spare.listener, selectors.EVENT_READ, ("seccomp", spare))
        except OSError as e:  # the spare died: the call hears why
            try:
                _send(reply, {"setup_error": f"fork server: hand the call to a spare: {e}"})
            except OSError:
                pass
            reply.close()
        spare.sock.close()
        for fd in fds[:3]:
            os.close(fd)
        self.make_spare()

    def seccomp(self, spare: _Spare) -> None:
        """A refused syscall of spare's call to answer, or its last process gone."""
        if not self._pending(spare.listener):  # POLLHUP
            self.sel.unregister(spare.listener)
            os.close(spare.listener)
            spare.listener = -1
            return
        msg = answer_seccomp(spare.listener)
        if msg is not None and spare.reply is not None:
            try:
                _send(spare.reply, msg)
            except OSError:
                pass

    def reap(self, spare: _Spare) -> None:
        """A call's worker (or an unused spare) exited: its status goes to the call."""
        self.sel.unregister(spare.pidfd)
        os.close(spare.pidfd)
        if self.spare is spare:
            spare.sock.close()
            self.spare = None  # killed before a call came: the next call forks one
        if spare.listener >= 0:
            # What its processes were refused before they died is still queued.
            while self._pending(spare.listener):
                msg = answer_seccomp(spare.listener)
                if msg is None:
                    break
                if spare.reply is not None:
                    try:
                        _send(spare.reply, msg)
                    except OSError:
                        break
            if spare.reply is not None:
                self.sel.unregister(spare.listener)
            os.close(spare.listener)
            spare.listener = -1
        try:
            _, status, ru = os.wait4(spare.pid, 0)
        except ChildProcessError:
            status, ru = None, None
        if spare.reply is None:
            return
        if status is not None:
            cpu = int((ru.ru_utime + ru.ru_stime) * 1e9)
            try:
                _send(spare.reply, {"status": status, "cpu_ns": cpu})
            except OSError:
                pass
        spare.reply.close()

    @staticmethod
    def _pending(listener: int) -> bool:
        import select

        p = select.poll()
        p.register(listener, select.POLLIN)
        events = p.poll(0)
        return bool(events) and bool(events[0][1] & select.POLLIN)

    def serve(self) -> None:
        self.make_spare()
        while True:
            for key, _ in self.sel.select():
                if key.fileobj is self.ctl:
                    self.request()
                elif key.data[0] == "exit":
                    self.reap(key.data[1])
                else:
                    self.seccomp(key.data[1])

    def request(self) -> None:
        try:
            data, fds, _flags, _addr = socket.recv_fds(self.ctl, 1 << 20, 4)
        except InterruptedError:
            return
        if not data:
            os._exit(0)  # the engine closed its end
        if len(fds) != 4:
            for fd in fds:
                os.close(fd)
            return
        self.start(data, fds)


# Compiled (never run) by the template, so that its children's compiles start warm.
_WARM = '''
import json
from agentos import provides, returns


@provides("x.y", models=["a"])
@returns("note[]")
async def tool(a: str, b: int | None = None, *, c: list[str] = ()) -> dict:
    """Doc."""
    class K:
        x: int = 1
    try:
        async with a as b:
            pass
    except (ValueError, KeyError) as e:
        raise RuntimeError(f"{a!r}: {e}") from None
    return {k: [v for v in range(3) if v] for k in "ab"}
'''


def main() -> None:
    cfg = json.loads(sys.argv[1])
    cfg["sdk"] = sys.argv[2]
    ctl = socket.socket(fileno=os.dup(0))
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.close(null)
    t = _Template(cfg, ctl)
    pidns = t.probe_pidns()
    # What the template holds is shared with every call until written: out of
    # the collector's reach, a child's collections do not copy it page by page.
    # The first compile() in a process sets up the compiler's state: ~3 ms that
    # every call's import of its skill would pay (imports from bytecode do not).
    compile(_WARM, "<agentos-warm>", "exec")
    gc.collect()
    gc.freeze()
    _send(ctl, {"ready": True, "pidns": pidns, "landlock": _landlock_abi()})
    t.serve()
