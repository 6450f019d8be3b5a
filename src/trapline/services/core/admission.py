"""Admission of claims: past a limit of claims in flight, a server process refuses more at once.

Excess claims would otherwise queue for the thread pool and the database, each waiting longer
the more there are (200 clients claiming at once waited 5 s at p99), until clients time out. A
refused claim costs the server nothing and tells the worker when to come back. Results are
never refused here: they carry work already done.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from trapline.errors import Unavailable

#: Seconds a refused worker is told to wait (workers add a little jitter of their own).
RETRY_AFTER = 1


class ClaimGate:
    """Counts the claims in flight. Used on the event loop only, so it needs no lock."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.in_flight = 0

    @contextmanager
    def admit(self) -> Iterator[None]:
        """Hold a place for one claim; Unavailable (503, Retry-After) when none is free."""
        if self.in_flight >= self.limit:
            raise Unavailable(
                f"this server is working on {self.in_flight} claims already; "
                f"retry in {RETRY_AFTER} s",
                retry_after=RETRY_AFTER,
                code="overloaded",
            )
        self.in_flight += 1
        try:
            yield
        finally:
            self.in_flight -= 1
