"""Real ``trapline`` processes on loopback ports, for end-to-end tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.forks import FORKED_COMMANDS, Forked, fork_server
from tests.support.moto import free_port

#: Seconds a server may take to answer /readyz after it starts.
STARTUP_TIMEOUT = 60.0
#: Ports tried for a server whose port is chosen here (another process may take one first).
BIND_ATTEMPTS = 3


@dataclass
class Server:
    """A running server process and where to reach it."""

    #: The process, or a server forked from this test process's helper (``forks.py``).
    process: subprocess.Popen[str] | Forked
    url: str
    log_path: Path

    def log(self) -> str:
        """Everything the process wrote so far."""
        return self.log_path.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGINT, timeout: float = 20.0) -> int:
        """Signal the process and wait for it; returns its exit code."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def trapline_command(*args: str) -> list[str]:
    """The command line running ``trapline`` from this interpreter."""
    return [sys.executable, "-m", "trapline.cli", *args]


def clean_env(**extra: str) -> dict[str, str]:
    """The test process's environment without TRAPLINE_* settings, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRAPLINE_")}
    env.update(extra)
    return env


@contextmanager
def running(
    args: list[str],
    *,
    cwd: Path,
    env: dict[str, str] | None = None,
    port: int | None = None,
    command: Callable[..., list[str]] = trapline_command,
) -> Iterator[Server]:
    """Start ``trapline <args> --port P`` (through ``command``, which makes the command line
    of the arguments; ``serve`` and ``up`` are forked, ``forks.py``) and wait until it is
    ready; stop it afterwards. A port chosen here that another process took before the server
    bound it is chosen again (``BIND_ATTEMPTS``)."""
    env = env or clean_env()
    for attempt in range(1, BIND_ATTEMPTS + 1):
        server = _start(args, cwd, env, port or free_port(), command)
        try:
            wait_ready(server)
            break
        except AssertionError:
            server.stop()
            if port is not None or attempt == BIND_ATTEMPTS or not port_taken(server.log()):
                raise
    try:
        yield server
    finally:
        server.stop()


def port_taken(log: str) -> bool:
    """Whether a server's log says its port was taken (trapline's, uvicorn's and nginx's
    words)."""
    return "already in use" in log.lower()


def _start(
    args: list[str], cwd: Path, env: dict[str, str], port: int, command: Callable[..., list[str]]
) -> Server:
    log_path = cwd / f"server-{port}.log"
    process: subprocess.Popen[str] | Forked
    with log_path.open("w") as log:
        if command is trapline_command and args[0] in FORKED_COMMANDS:
            process = fork_server([*args, "--port", str(port)], cwd=cwd, env=env, log=log_path)
        else:
            process = subprocess.Popen(
                command(*args, "--port", str(port)),
                cwd=cwd,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                text=True,
            )
    return Server(process, f"http://127.0.0.1:{port}", log_path)


def wait_ready(server: Server) -> None:
    """Poll /readyz until it answers 200; fail with the server's log if it dies or hangs."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise AssertionError(f"server exited with {server.process.returncode}:\n{server.log()}")
        try:
            if httpx.get(f"{server.url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"server not ready within {STARTUP_TIMEOUT}s:\n{server.log()}")
