"""Waiting for a state that something else changes without telling: another process (a server,
NATS, a subprocess) or a thread the test cannot hand an event to.

One poller for the suite, so every such wait has a limit and a message; work on the platform's
own runners is waited for with their ``wait_idle`` instead, and time is moved with the fake
clock, never slept.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from typing import TypeVar

import httpx

T = TypeVar("T")

#: Seconds between two looks: short against the waits, long against a look's cost.
EVERY = 0.05
#: The longest a test waits by default for something another process does.
WAIT = 40.0


def wait_until(
    check: Callable[[], T | None],
    what: str | Callable[[], str] = "the condition",
    *,
    timeout: float = WAIT,
) -> T:
    """Call ``check`` until it answers something truthy and return that; fail after
    ``timeout`` seconds, saying that ``what`` did not come (a callable ``what`` makes the whole
    message when it fails: the logs of the processes waited on, say)."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() >= deadline:
            said = what() if callable(what) else f"{what} did not come"
            raise AssertionError(f"{said} (waited {timeout:g}s)")
        time.sleep(EVERY)


def wait_process_ready(
    process: subprocess.Popen[str], client: httpx.Client, timeout: float = WAIT
) -> None:
    """Wait until the service ``process`` runs answers 200 on ``/readyz``; fail at once with its
    output when it exits first."""

    def ready() -> bool:
        assert process.poll() is None, process.communicate()[0]
        try:
            return client.get("/readyz").status_code == 200
        except httpx.TransportError:
            return False  # not listening yet

    wait_until(ready, "the service's readiness", timeout=timeout)
