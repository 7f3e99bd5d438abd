# The aws zygote: Debian's AWS CLI imported once, forked once per call (see testing/README.md).
#
# A real `aws` call spends most of its ~1.3 s of CPU starting Python and importing awscli/botocore; the stories
# make dozens. This server does the imports once — and nothing else (but one lookup of the machine's Linux
# distribution, below): no session, no config file, no credentials, no region, no command — listens on a unix socket, and for each call of the runner's `aws`
# wrapper (client.py) forks a child that takes over the caller's stdin/stdout/stderr (passed as file
# descriptors), argv, environment, working directory, umask and signal dispositions, then runs the CLI's own
# entry script (/usr/bin/aws) as `python3 /usr/bin/aws ...` would. The server reports the child's exit status
# to the caller. Each call is a fresh fork of the server as it was after the imports: nothing a call does
# reaches the next one.
#
# What the imports decided stays decided, so a call is declined (the client then runs the real CLI) when its
# environment differs from the server's in something read at the server's start or during the imports
# (PYTHON* and locale variables, AWS_DATA_PATH, ...), or when it asks for another CLI. One exception: HOME.
# Every job of a workflow run has its own HOME, and a dozen modules turn `~/.aws/...` into path constants at
# import. The server imports under a HOME that exists nowhere else (a unique, absent path) and each child puts
# its caller's home in place of that path in every string that holds it; the server checks after the imports
# that it can find every such string (module and class attributes, instance dicts, lists, function defaults),
# and otherwise serves only calls with its own HOME.
#
#   python3 server.py --socket PATH --cli /usr/bin/aws
#
# Prints "ready" once it listens, then one line per call: "served <pid>", "exited <pid> <status> <user s>
# <sys s> <minor faults>" (the child's own resource use) or "declined <reason>". Exits when its stdin closes
# (whoever started it went away) or on SIGTERM, killing the calls still running, after a last line "stopped
# <user s> <sys s>" (its own CPU: the imports and the serving, not the calls).
import os
import sys

_args = dict(zip(sys.argv[1::2], sys.argv[2::2]))
_cli = os.path.abspath(_args["--cli"])
_socket_path = _args["--socket"]
# `python3 /usr/bin/aws` has the script's folder first on sys.path, not this one's.
sys.path[0] = os.path.dirname(_cli)

with open(_cli, "rb") as f:
    _cli_source = f.read()
if b"awscli.clidriver" not in _cli_source:
    sys.stderr.write(f"aws-zygote: {_cli} is not the python awscli entry script\n")
    sys.exit(2)
_cli_code = compile(_cli_source, _cli, "exec")

_start_env = dict(os.environ)
_home = "/nonexistent/mfpar-aws-zygote-home-" + os.urandom(8).hex()
os.environ["HOME"] = _home


class _RecordingEnviron(os._Environ):
    """os.environ that notes which variables are read (while `recording`)."""

    reads = set()
    recording = False

    def __getitem__(self, key):
        if _RecordingEnviron.recording:
            _RecordingEnviron.reads.add(key)
        return super().__getitem__(key)

    def __iter__(self):
        if _RecordingEnviron.recording:
            _RecordingEnviron.reads.add("*")
        return super().__iter__()


_environ = os.environ
_recorder = _RecordingEnviron.__new__(_RecordingEnviron)
_recorder.__dict__ = _environ.__dict__  # the same data: a write through either is one write
os.environ = _recorder
_RecordingEnviron.recording = True
# What every call imports (awscli.handlers: when the driver is created), then what the workflows' calls import
# on demand (s3 transfers, XML parsing). Importing what the call would import anyway changes nothing.
import awscli.clidriver  # noqa: E402
import awscli.customizations.s3.s3handler  # noqa: E402,F401
import awscli.customizations.s3.subcommands  # noqa: E402,F401
import awscli.handlers  # noqa: E402,F401
import awscli.paramfile  # noqa: E402,F401
import s3transfer.manager  # noqa: E402,F401
import xml.parsers.expat  # noqa: E402,F401

_RecordingEnviron.recording = False
os.environ = _environ
_import_env = dict(os.environ)
_import_reads = set(_RecordingEnviron.reads)

# One answer every call computes the same way from the machine, never from the call: the Linux distribution the
# CLI names in its User-Agent (awscli.clidriver._get_linux_distribution: /etc/os-release, then `lsb_release -a`
# and `uname -rs` run as subprocesses, ~0.05 s a call). `distro` keeps it in cached properties of its module's
# instance, so each fork finds it there.
import distro  # noqa: E402

distro.id()
distro.major_version()

import gc  # noqa: E402
import selectors  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import time  # noqa: E402
import types  # noqa: E402
from importlib.machinery import SourceFileLoader  # noqa: E402

PROTOCOL = b"mfpar-aws-zygote 1"


def _find_home_strings():
    """Where the imports left strings holding the placeholder HOME: [(kind, holder, key)], or None if some
    holder is one this server cannot rewrite."""
    found = []
    own = {id(globals()), id(_start_env), id(_import_env), id(_environ._data)}
    class_dicts = {}
    objects = gc.get_objects()
    # The collector does not track a dict holding only strings and numbers: find those through their holders.
    untracked = {}
    for o in objects:
        for r in gc.get_referents(o):
            if type(r) is dict and not gc.is_tracked(r):
                untracked[id(r)] = r
            elif isinstance(o, type) and isinstance(r, dict):
                class_dicts[id(r)] = o
    objects += untracked.values()

    def holds(v, depth=0):
        if isinstance(v, str):
            return _home in v
        if isinstance(v, (bytes, bytearray)):
            return _home.encode() in v
        if isinstance(v, (tuple, frozenset)) and depth < 4:
            return any(holds(x, depth + 1) for x in v)
        if isinstance(v, dict) and depth < 4:
            return any(holds(x, depth + 1) for x in (*v.keys(), *v.values()))
        return False

    for o in objects:
        if id(o) in own or isinstance(o, types.FrameType):
            continue
        # A dict or list inside one is looked at on its own (it is one of `objects`).
        if isinstance(o, dict):
            for k, v in o.items():
                if holds(k):
                    return None
                if isinstance(v, str) and holds(v):
                    cls = class_dicts.get(id(o))
                    found.append(("class", cls, k) if cls is not None else ("dict", o, k))
                elif not isinstance(v, (dict, list)) and holds(v):
                    return None
        elif isinstance(o, list):
            for i, v in enumerate(o):
                if isinstance(v, str) and holds(v):
                    found.append(("list", o, i))
                elif not isinstance(v, (dict, list)) and holds(v):
                    return None
        elif isinstance(o, types.FunctionType):
            if o.__defaults__ and holds(o.__defaults__):
                if not all(isinstance(v, str) or not holds(v) for v in o.__defaults__):
                    return None
                found.append(("defaults", o, None))
        elif isinstance(o, (tuple, set, frozenset)):
            if holds(tuple(o)) and not any(
                isinstance(f, types.FunctionType) and f.__defaults__ is o for f in gc.get_referrers(o)
            ):
                return None
        elif not isinstance(o, (type, types.ModuleType, types.CodeType)):
            if any(holds(r) for r in gc.get_referents(o) if not isinstance(r, dict)):
                return None
    return found


_home_strings = _find_home_strings()


def _interpreter_keys(env):
    # Read by the interpreter at its start (flags, paths, locale, stdio encoding) or by C libraries at import.
    return {k for k in env if k.startswith(("PYTHON", "LC_", "OPENSSL_")) or k in ("LANG", "LANGUAGE", "TZ")}


def _user_site(env):
    base = env.get("PYTHONUSERBASE") or os.path.join(env.get("HOME", ""), ".local")
    v = sys.version_info
    site = os.path.join(base, "lib", f"python{v[0]}.{v[1]}", "site-packages")
    return site if os.path.isdir(site) else None


_server_user_site = _user_site(_start_env)


def _decline_reason(req):
    if _home_strings is None:
        return "the imports left the placeholder HOME where this server cannot replace it"
    if os.path.realpath(req["cli"]) != _cli:
        return f"another CLI: {req['cli']}"
    if "*" in _import_reads:
        return "the imports read the whole environment"
    env = req["env"]
    keys = _import_reads | _interpreter_keys(env) | _interpreter_keys(_start_env)
    keys.discard("HOME")
    for k in sorted(keys):
        if env.get(k) != _start_env.get(k):
            return f"{k} differs from the server's"
    if _user_site(env) != _server_user_site:
        return "another user site-packages"
    return None


def _read_request(conn):
    fds = []
    msg, ancdata, _flags, _addr = conn.recvmsg(65536, socket.CMSG_SPACE(3 * 4))
    for level, kind, payload in ancdata:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds += [int.from_bytes(payload[i : i + 4], sys.byteorder) for i in range(0, len(payload) - 3, 4)]
    data = msg
    try:
        while b"\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                raise ValueError("truncated request")
            data += chunk
        size, _, data = data.partition(b"\n")
        while len(data) < int(size):
            chunk = conn.recv(65536)
            if not chunk:
                raise ValueError("truncated request")
            data += chunk
        fields = data.split(b"\0")
        if fields[0] != PROTOCOL or len(fds) != 3:
            raise ValueError("not a request of this protocol")
    except BaseException:
        for fd in fds:
            os.close(fd)
        raise
    cli, cwd, umask, ignored, mask, argc = fields[1:7]
    argc = int(argc)
    envb = dict(entry.partition(b"=")[::2] for entry in fields[7 + argc : -1])
    return {
        "fds": fds,
        "cli": os.fsdecode(cli),
        "cwd": cwd,
        "umask": int(umask),
        "ignored": {int(s) for s in ignored.split(b",") if s},
        "mask": {int(s) for s in mask.split(b",") if s},
        "args": [os.fsdecode(a) for a in fields[7 : 7 + argc]],
        "envb": envb,
        "env": {os.fsdecode(k): os.fsdecode(v) for k, v in envb.items()},
    }


def serve():
    """Accepts calls until told to stop. Returns only in a forked child: the request it must run."""
    try:
        os.unlink(_socket_path)
    except FileNotFoundError:
        pass
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(_socket_path)
    listener.listen(64)
    sel = selectors.DefaultSelector()
    sel.register(listener, selectors.EVENT_READ, "accept")
    sel.register(sys.stdin, selectors.EVENT_READ, "stdin")
    calls = {}  # pid -> (conn, pidfd)
    stopping = []
    # A signal's handler runs between two selects; the wakeup pipe makes the select return so the loop sees it.
    wake_r, wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    signal.set_wakeup_fd(wake_w)
    sel.register(wake_r, selectors.EVENT_READ, "wake")
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    # Everything so far stays as it is in every child: the collector need not walk it there (each walk
    # would copy the pages it touches into the child).
    gc.collect()
    gc.freeze()
    print("ready", flush=True)
    while not stopping:
        for key, _ in sel.select():
            what = key.data
            if what == "wake":
                os.read(wake_r, 4096)
            elif what == "stdin":
                if not os.read(sys.stdin.fileno(), 4096):
                    stopping.append(True)
            elif what == "accept":
                conn, _ = listener.accept()
                try:
                    req = _read_request(conn)
                except (OSError, ValueError) as e:
                    print(f"declined a bad request: {e}", flush=True)
                    conn.close()
                    continue
                reason = _decline_reason(req)
                if reason:
                    for fd in req["fds"]:
                        os.close(fd)
                    print(f"declined {reason}", flush=True)
                    try:
                        conn.sendall(b"F\n")
                    except OSError:
                        pass
                    conn.close()
                    continue
                # Signals wait (blocked) until the child has the caller's dispositions: one sent to the call
                # as soon as it is forked must not reach a handler of this server's.
                mask = signal.pthread_sigmask(signal.SIG_BLOCK, signal.valid_signals())
                pid = os.fork()
                if pid == 0:
                    signal.set_wakeup_fd(-1)
                    os.close(wake_r)
                    os.close(wake_w)
                    sel.close()
                    listener.close()
                    for c, pidfd in calls.values():
                        c.close()
                        os.close(pidfd)
                    conn.close()
                    return req
                signal.pthread_sigmask(signal.SIG_SETMASK, mask)
                for fd in req["fds"]:
                    os.close(fd)
                pidfd = os.pidfd_open(pid)
                calls[pid] = (conn, pidfd)
                sel.register(pidfd, selectors.EVENT_READ, ("exit", pid))
                sel.register(conn, selectors.EVENT_READ, ("client", pid))
                try:
                    conn.sendall(b"P%d\n" % pid)
                except OSError:
                    pass
                print(f"served {pid}", flush=True)
            elif what[0] == "exit":
                pid = what[1]
                conn, pidfd = calls.pop(pid)
                _, status, usage = os.wait4(pid, 0)
                sel.unregister(pidfd)
                os.close(pidfd)
                if conn.fileno() >= 0:
                    sel.unregister(conn)
                    try:
                        conn.sendall(b"S%d\n" % status)
                    except OSError:
                        pass
                    conn.close()
                print(f"exited {pid} {status} {usage.ru_utime:.3f} {usage.ru_stime:.3f} {usage.ru_minflt}", flush=True)
            elif what[0] == "client":
                # The caller went away (killed) before its call ended: so does the call, as a killed `aws` would.
                pid = what[1]
                conn = calls[pid][0]
                sel.unregister(conn)
                conn.close()
                os.kill(pid, signal.SIGKILL)
    for pid in calls:
        os.kill(pid, signal.SIGKILL)
    for pid in calls:
        os.waitpid(pid, 0)
    try:
        os.unlink(_socket_path)
    except FileNotFoundError:
        pass
    import resource

    own = resource.getrusage(resource.RUSAGE_SELF)
    print(f"stopped {own.ru_utime:.3f} {own.ru_stime:.3f}", flush=True)
    sys.exit(0)


def _stdio(fd, write, name, template):
    # As the interpreter makes sys.stdin/stdout/stderr at its start (create_stdio in Python/pylifecycle.c).
    import io

    buf = io.open(fd, "wb" if write else "rb", -1, None, None, None, False)
    buf.raw.name = name
    line_buffering = buf.raw.isatty() or fd == 2
    stream = io.TextIOWrapper(buf, template.encoding, template.errors, "\n", line_buffering, False)
    stream.mode = "w" if write else "r"
    return stream


def _put_home(home):
    for kind, holder, key in _home_strings:
        if kind == "class":
            setattr(holder, key, holder.__dict__[key].replace(_home, home))
        elif kind == "defaults":
            holder.__defaults__ = tuple(v.replace(_home, home) if isinstance(v, str) else v for v in holder.__defaults__)
        else:
            holder[key] = holder[key].replace(_home, home)


def become(req):
    """Makes this forked child the process `python3 /usr/bin/aws <args>` would have been for the caller."""
    for target, fd in enumerate(req["fds"]):
        os.dup2(fd, target)
        os.close(fd)
    os.chdir(req["cwd"])
    os.umask(req["umask"])
    for sig in signal.valid_signals():
        if sig in (signal.SIGKILL, signal.SIGSTOP):
            continue
        if sig in req["ignored"]:
            handler = signal.SIG_IGN
        elif sig == signal.SIGINT:
            handler = signal.default_int_handler
        else:
            handler = signal.SIG_DFL
        try:
            signal.signal(sig, handler)
        except (OSError, ValueError):
            pass
    signal.pthread_sigmask(signal.SIG_SETMASK, req["mask"])
    # The caller's environment, then what the imports wrote into it (AWS_DATA_PATH), as in `python3 /usr/bin/aws`.
    os.environb.clear()
    os.environb.update(req["envb"])
    for k, v in _import_env.items():
        if _start_env.get(k) != v and k != "HOME":
            os.environ[k] = v
    if True:
        # expanduser("~/x") without the "/x": what the imports would have put before "/.aws/...".
        _put_home(os.path.expanduser("~/x")[:-2])
    time.tzset()
    sys.argv = [_cli, *req["args"]]
    sys.orig_argv = [sys.executable, _cli, *req["args"]]
    old = (sys.stdin, sys.stdout, sys.stderr)
    sys.stdin = sys.__stdin__ = _stdio(0, False, "<stdin>", old[0])
    sys.stdout = sys.__stdout__ = _stdio(1, True, "<stdout>", old[1])
    sys.stderr = sys.__stderr__ = _stdio(2, True, "<stderr>", old[2])
    main = types.ModuleType("__main__")
    main.__dict__.update(
        __file__=_cli,
        __cached__=None,
        __loader__=SourceFileLoader("__main__", _cli),
        __package__=None,
        __spec__=None,
        __builtins__=__builtins__,
    )
    sys.modules["__main__"] = main
    return main.__dict__


def _flush_std():
    try:
        for f in (sys.stdout, sys.stderr):
            if f is not None and not f.closed:
                f.flush()
    except BaseException:
        return False
    return True


def finish(code):
    """The interpreter's exit (Py_FinalizeEx) up to its first flush of stdout and stderr, then _exit: tearing
    down every module would write to, and so copy, each page this child shares with the server. If a flush
    fails, the interpreter's own exit runs instead (it prints the error and exits 120, as Python does)."""
    import atexit
    import threading

    threading._shutdown()
    atexit._run_exitfuncs()
    if not _flush_std():
        raise SystemExit(code)
    gc.collect()  # what the call left in reference cycles is finalized, as the interpreter's exit would
    if not _flush_std():
        raise SystemExit(code)
    os._exit(code)


if __name__ == "__main__":
    _namespace = become(serve())
    try:
        exec(_cli_code, _namespace)
    except SystemExit as e:
        if e.code is None or isinstance(e.code, int):
            finish(e.code or 0)
        raise
