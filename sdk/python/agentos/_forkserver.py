"""The fork server's template (DESIGN §7.1 "Fork server", docs/worker-protocol.md).

    python -I -S -c 'import sys; sys.path.insert(0, SDK); from agentos._forkserver import main; main()' CONFIG

Started once per runner through the sandbox helper, so it already runs inside the
base layers (network namespace, seccomp, no_new_privs, a Landlock ruleset wide
enough for every call). fd 0 is an AF_UNIX SOCK_SEQPACKET control socket. It
pre-imports the worker module, says {"ready": ...} and then, per request (a JSON
object plus four fds: the worker's stdin, stdout, stderr and a per-call reply
socket), forks:

    A  narrows Landlock to the call, unshare(CLONE_NEWPID), forks B, sends B's
       pidfd on the reply socket and exits;
    B  PID 1 of the call's own namespace: forks C, passes SIGTERM and friends on,
       reaps, then sends C's wait status and CPU time on the reply socket;
    C  the worker: fresh fork of the template, nothing of an earlier call in it.

Nothing here is skill code; a skill never sees the control socket.
"""

import ctypes
import json
import os
import signal
import socket
import sys

from . import _worker  # noqa: F401  pre-imported: the point of the template
from . import _conn, _decorators, _ops, settings  # noqa: F401
import asyncio  # noqa: F401  common in skills and in the worker
import inspect  # noqa: F401
import resource
import traceback  # noqa: F401

_SYS_CREATE, _SYS_ADD, _SYS_RESTRICT = 444, 445, 446
_CLONE_NEWPID = 0x20000000
_RULE_PATH_BENEATH = 1

_FS_EXECUTE, _FS_WRITE_FILE, _FS_READ_FILE, _FS_READ_DIR = 1, 2, 4, 8
_FS_REFER, _FS_TRUNCATE, _FS_IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15
_FILE_RIGHTS = _FS_EXECUTE | _FS_WRITE_FILE | _FS_READ_FILE | _FS_TRUNCATE | _FS_IOCTL_DEV
_READ = _FS_READ_FILE | _FS_READ_DIR
_EXEC = _READ | _FS_EXECUTE
_NET_BIND, _NET_CONNECT = 1, 2
_SCOPE_ABSTRACT_UNIX, _SCOPE_SIGNAL = 1, 2
_DEVICES = ["/dev/null", "/dev/zero", "/dev/urandom", "/dev/random"]
_FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT)

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


def narrow(cfg: dict, req: dict) -> None:
    """A Landlock layer of the call's own paths on top of the template's: the same
    rules the sandbox helper gives a spawned worker (broker/sandbox/landlock_linux.go)."""
    abi = _landlock_abi()
    if abi < 1:
        return
    full = _handled_fs(abi)
    attr = _RulesetAttr(full, 0, 0)
    size = 8
    if abi >= 4:
        attr.net, size = _NET_BIND | _NET_CONNECT, 16
    if abi >= 6:
        attr.scoped, size = _SCOPE_ABSTRACT_UNIX | _SCOPE_SIGNAL, 24
    ruleset = _syscall(_SYS_CREATE, ctypes.addressof(attr), size, 0)
    try:
        rules = [(cfg["exec"], _EXEC, False), (cfg["libs"], _EXEC, True),
                 (req["read"], _READ, True), (_DEVICES, _READ | _FS_WRITE_FILE, True),
                 ([req["dir"]], full, False)]
        for paths, rights, optional in rules:
            for p in paths:
                try:
                    fd = os.open(p, os.O_PATH | os.O_CLOEXEC)
                except FileNotFoundError:
                    if optional:
                        continue
                    raise
                try:
                    r = rights & full
                    if not _isdir(fd):
                        r &= _FILE_RIGHTS
                    rule = _PathBeneath(r, fd)
                    _syscall(_SYS_ADD, ruleset, _RULE_PATH_BENEATH, ctypes.addressof(rule), 0)
                finally:
                    os.close(fd)
        _syscall(_SYS_RESTRICT, ruleset, 0)
    finally:
        os.close(ruleset)


def _isdir(fd: int) -> bool:
    import stat

    return stat.S_ISDIR(os.fstat(fd).st_mode)


def _send(sock: socket.socket, msg: dict, fds: list | None = None) -> None:
    data = json.dumps(msg).encode()
    if fds:
        socket.send_fds(sock, [data], fds)
    else:
        sock.send(data)


def _worker_proc(cfg: dict, req: dict, fds: list) -> None:
    """C: becomes the worker with the call's stdio, environment and limits."""
    for s in _FORWARDED:
        signal.signal(s, signal.SIG_DFL)
    stdin, stdout, stderr = fds[0], fds[1], fds[2]
    os.dup2(stdin, 0)
    os.dup2(stdout, 1)
    os.dup2(stderr, 2)
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


def _init_proc(cfg: dict, req: dict, fds: list, reply: socket.socket) -> None:
    """B: PID 1 of the call's namespace; its exit ends every process of the call."""
    child = -1

    def forward(sig, _frame):
        if child > 0:
            try:
                os.kill(child, sig)
            except OSError:
                pass

    for s in _FORWARDED:
        signal.signal(s, forward)
    child = os.fork()
    if child == 0:
        _worker_proc(cfg, req, fds)
    for fd in fds[:3]:
        os.close(fd)
    while True:
        try:
            pid, status, ru = os.wait4(-1, 0)
        except ChildProcessError:
            os._exit(1)
        if pid == child:
            cpu = int((ru.ru_utime + ru.ru_stime) * 1e9)
            try:
                _send(reply, {"status": status, "cpu_ns": cpu})
            except OSError:
                pass
            os._exit(0)


def _call_proc(cfg: dict, req: dict, fds: list) -> None:
    """A: narrows the sandbox to the call and starts its namespace."""
    reply = socket.socket(fileno=fds[3])
    try:
        narrow(cfg, req)
        if _libc.unshare(ctypes.c_int(_CLONE_NEWPID)) != 0:
            e = ctypes.get_errno()
            raise OSError(e, "unshare(CLONE_NEWPID): " + os.strerror(e))
        pid = os.fork()
        if pid == 0:
            _init_proc(cfg, req, fds, reply)
            os._exit(1)
        pidfd = os.pidfd_open(pid)
        _send(reply, {"pid": pid}, [pidfd])
    except BaseException as e:  # noqa: BLE001  whatever it is, the call must hear it
        try:
            _send(reply, {"setup_error": f"fork server: {e}"})
        except OSError:
            pass
    os._exit(0)


def _probe_pidns() -> bool:
    pid = os.fork()
    if pid == 0:
        os._exit(0 if _libc.unshare(ctypes.c_int(_CLONE_NEWPID)) == 0 else 1)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) == 0


def main() -> None:
    cfg = json.loads(sys.argv[1])
    ctl = socket.socket(fileno=os.dup(0))
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.close(null)
    _send(ctl, {"ready": True, "pidns": _probe_pidns(), "landlock": _landlock_abi()})
    while True:
        try:
            data, fds, _flags, _addr = socket.recv_fds(ctl, 1 << 20, 4)
        except InterruptedError:
            continue
        if not data:
            os._exit(0)  # the engine closed its end
        if len(fds) != 4:
            for fd in fds:
                os.close(fd)
            continue
        try:
            req = json.loads(data)
        except ValueError:
            for fd in fds:
                os.close(fd)
            continue
        pid = os.fork()
        if pid == 0:
            ctl.close()
            _call_proc(cfg, req, fds)
            os._exit(1)
        for fd in fds:
            os.close(fd)
        while True:
            try:
                os.waitpid(pid, 0)
                break
            except ChildProcessError:
                break
            except InterruptedError:
                continue
