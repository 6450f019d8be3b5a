"""The server's listening socket, bound before anything else happens.

``trapline up`` and ``serve`` bind first: a busy port then fails at once with what to do,
before a database, an admin token or a demo project is made or anything is printed.
"""

from __future__ import annotations

import errno
import socket

from trapline.errors import TraplineError

#: How to pick another address, named in every error here.
_HOW_TO_CHANGE = (
    "pick another port with --port N or TRAPLINE_PORT=N (with make: make demo PORT=N), "
    "another address with --host or TRAPLINE_HOST"
)


class CannotListen(TraplineError):
    """The server's address is taken or not ours to bind."""

    code = "cannot_listen"


def listen_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host``:``port``, ready to hand to the server."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    # As uvicorn does: a restarted server may bind while old connections wait in TIME_WAIT.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise CannotListen(
                f"port {port} on {host} is already in use (by another trapline or another "
                f"program); {_HOW_TO_CHANGE}"
            ) from exc
        raise CannotListen(
            f"cannot listen on {host}:{port} ({exc.strerror}); {_HOW_TO_CHANGE}"
        ) from exc
    sock.set_inheritable(True)
    return sock
