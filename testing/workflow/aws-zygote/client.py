# The aws zygote's client (see server.py): hands this process's stdin/stdout/stderr, argv, environment,
# working directory, umask and signal state to the server, which runs the real CLI in a fork of itself; waits
# for it, forwarding SIGTERM/SIGINT/SIGHUP, and ends as it ended (same exit code, or the same signal). When
# the server is not there or declines, it becomes the real CLI (exec), so a call never depends on the server.
#
#   python3 -I -S client.py SOCKET /usr/bin/aws ARGS...
#
# Builtin modules only (no site, no os, no socket.py): this start is what every call pays.
import _signal
import _socket
import posix
import sys

sock_path, real, *args = sys.argv[1:]


def run_real():
    posix.execv(real, [real, *args])


def fs(s):
    return s.encode(sys.getfilesystemencoding(), "surrogateescape")


def request():
    umask = posix.umask(0)
    posix.umask(umask)
    ignored = [s for s in range(1, _signal.NSIG) if _signal.getsignal(s) == _signal.SIG_IGN]
    mask = _signal.pthread_sigmask(_signal.SIG_BLOCK, [])
    fields = [
        b"mfpar-aws-zygote 1",
        fs(real),
        posix.getcwdb(),
        b"%d" % umask,
        b",".join(b"%d" % s for s in ignored),
        b",".join(b"%d" % s for s in mask),
        b"%d" % len(args),
        *(fs(a) for a in args),
        *(k + b"=" + v for k, v in posix.environ.items()),
        b"",
    ]
    return b"\0".join(fields)


def main():
    try:
        for fd in (0, 1, 2):
            posix.fstat(fd)  # a closed one stays closed only through exec
        payload = request()
        sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        sock.connect(sock_path)
        data = b"%d\n" % len(payload) + payload
        fds = b"".join(fd.to_bytes(4, sys.byteorder) for fd in (0, 1, 2))
        sent = sock.sendmsg([data], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, fds)])
        if sent < len(data):
            sock.sendall(data[sent:])
    except OSError:
        run_real()
    pid = 0
    pending = []

    def forward(sig, _frame):
        if pid:
            posix.kill(pid, sig)
        else:
            pending.append(sig)

    for sig in (_signal.SIGTERM, _signal.SIGINT, _signal.SIGHUP):
        if _signal.getsignal(sig) != _signal.SIG_IGN:
            _signal.signal(sig, forward)
    buf = b""
    while True:
        while b"\n" not in buf:
            chunk = sock.recv(64)
            if not chunk:
                # The server stopped (its test ended) before the call did.
                sys.stderr.write("aws: the aws zygote stopped during this call\n")
                posix._exit(255)
            buf += chunk
        line, _, buf = buf.partition(b"\n")
        kind, value = line[:1], line[1:]
        if kind == b"F":
            sock.close()
            run_real()
        elif kind == b"P":
            pid = int(value)
            for sig in pending:
                posix.kill(pid, sig)
        elif kind == b"S":
            status = int(value)
            if posix.WIFSIGNALED(status):
                sig = posix.WTERMSIG(status)
                try:
                    _signal.signal(sig, _signal.SIG_DFL)
                except (OSError, ValueError):
                    pass  # SIGKILL, SIGSTOP
                _signal.pthread_sigmask(_signal.SIG_UNBLOCK, [sig])
                posix.kill(posix.getpid(), sig)
            posix._exit(posix.WEXITSTATUS(status))


main()
