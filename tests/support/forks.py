"""``trapline serve`` and ``trapline up`` forked from a process that has imported trapline
already, for the tests that start them.

A new interpreter spends about three seconds of CPU importing the app before it listens, and the
suite starts some sixty servers. Each test process (an xdist worker) instead keeps one helper,
``python -m tests.support.forks``, that imports the app and its route table once, then forks a
child per server: the child changes to the server's folder and environment, sends its output to
the server's log and runs the command line as ``python -m trapline.cli`` would. Everything from
the command line on (settings, migration, the app, uvicorn, signals, exit codes) is the real
program's; only the interpreter's start and the imports are shared.

The test process knows a child by its pid: it signals it directly, learns that it ended from a
pidfd, and asks the helper, its parent, for its exit status.
"""

from __future__ import annotations

import atexit
import json
import os
import select
import signal
import subprocess
import sys
import threading
import weakref
from pathlib import Path
from typing import Any

#: The commands forked; any other runs as a process of its own.
FORKED_COMMANDS = ("serve", "up")
#: The module path a fresh ``python -m trapline.cli`` sees as ``sys.argv[0]``.
_CLI_MAIN = "trapline/cli/__main__.py"


class Forked:
    """A forked server, with the part of ``subprocess.Popen`` the tests use."""

    def __init__(self, helper: _Helper, pid: int) -> None:
        self.helper = helper
        self.pid = pid
        self.returncode: int | None = None
        self._ended = os.pidfd_open(pid)
        #: Closes the pidfd once the server was reaped, or this object is collected unwaited.
        self._close = weakref.finalize(self, os.close, self._ended)

    def poll(self) -> int | None:
        return self._status(0.0)

    def wait(self, timeout: float | None = None) -> int:
        code = self._status(timeout)
        if code is None:
            raise subprocess.TimeoutExpired(f"forked server {self.pid}", timeout or 0.0)
        return code

    def send_signal(self, sig: int) -> None:
        if self.returncode is None:
            os.kill(self.pid, sig)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def _status(self, timeout: float | None) -> int | None:
        if self.returncode is None and select.select([self._ended], [], [], timeout)[0]:
            self.returncode = self.helper.call(reap=self.pid)["code"]
            self._close()
        return self.returncode


class _Helper:
    """This test process's forking helper, started at its first use."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        atexit.register(self.close)

    def close(self) -> None:
        """End the helper (it ends when its requests do) and wait for it."""
        if self._process is not None and self._process.stdin is not None:
            self._process.stdin.close()
            self._process.wait(10)

    def call(self, **request: Any) -> dict[str, Any]:
        with self._lock:
            if self._process is None or self._process.poll() is not None:
                self._process = subprocess.Popen(
                    [sys.executable, "-m", "tests.support.forks"],
                    cwd=Path(__file__).resolve().parents[2],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                )
            asked, told = self._process.stdin, self._process.stdout
            assert asked is not None
            assert told is not None
            asked.write(json.dumps(request).encode() + b"\n")
            asked.flush()
            answer = told.readline()
        if not answer:
            raise AssertionError(f"the forking helper ended ({self._process.poll()})")
        return dict(json.loads(answer))


_helper = _Helper()


def fork_server(args: list[str], *, cwd: Path, env: dict[str, str], log: Path) -> Forked:
    """``trapline <args>`` forked from the helper, run in ``cwd`` with exactly ``env``, its
    output appended to ``log``."""
    pid = _helper.call(args=args, cwd=str(cwd), env=env, log=str(log))["pid"]
    return Forked(_helper, pid)


def _serve_forks() -> dict[str, Any] | None:
    """The helper's loop: answer requests until the test process closes the pipe. Returns, in
    a child only, the request it is to run."""
    import trapline.cli.main  # noqa: F401  (what every child runs: imported once, here)
    from trapline.app import route_table
    from trapline.web.pages import templates

    route_table()
    pages = templates()  # compiled once here, not in every server that renders a page
    for name in pages.list_templates():
        pages.get_template(name)
    ended: dict[int, int] = {}
    for line in sys.stdin.buffer:
        request = json.loads(line)
        if "reap" in request:
            pid = request["reap"]
            if pid not in ended:
                ended[pid] = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
            answer: dict[str, Any] = {"code": ended[pid]}
        else:
            pid = os.fork()
            if pid == 0:
                return dict(request)
            answer = {"pid": pid}
        os.write(1, json.dumps(answer).encode() + b"\n")
    return None


def _run(request: dict[str, Any]) -> None:
    """In a child: become ``trapline <args>`` as a fresh interpreter would run it."""
    log = os.open(request["log"], os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    nothing = os.open(os.devnull, os.O_RDONLY)
    os.dup2(nothing, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    os.close(nothing)
    sys.stdin = open(os.devnull)  # noqa: SIM115  (the pipe's reader may hold requests read ahead)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    import trapline

    sys.argv = [str(Path(trapline.__file__).parent.parent / _CLI_MAIN), *request["args"]]
    from trapline.cli.main import main

    main()


if __name__ == "__main__":
    child = _serve_forks()
    if child is not None:
        _run(child)
