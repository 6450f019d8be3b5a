"""Waiting for a state that something else changes without telling: another process (a server,
NATS, a subprocess) or a thread the test cannot hand an event to.

One poller for the suite, so every such wait has a limit and a message; work on the platform's
own runners is waited for with their ``wait_idle`` instead, and time is moved with the fake
clock, never slept.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

#: Seconds between two looks: short against the waits, long against a look's cost.
EVERY = 0.05


def wait_until(
    check: Callable[[], T | None], *, timeout: float = 30.0, what: str = "the condition"
) -> T:
    """Call ``check`` until it answers something truthy and return that; fail after
    ``timeout`` seconds, naming ``what`` did not come."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, f"{what} did not come within {timeout:g}s"
        time.sleep(EVERY)
