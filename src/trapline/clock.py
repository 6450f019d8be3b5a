"""Time as an argument: what background work asks "what time is it" and "wait a while" of.

The platform carries one ``Clock`` (``Platform.clock``, a ``SystemClock`` unless a test or a
simulation hands in another) and gives it to the lease keeper, the runners and the duties.
Tests give them a ``FakeClock`` and move it with ``advance`` instead of sleeping, so a lease
runs out, a renewal comes due or a schedule fires exactly when the test says.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from datetime import UTC, datetime, timedelta

#: How often (real seconds) a fake wait on an event looks at the event again: an Event cannot
#: wake a condition variable, so a waiter on both polls the event.
_EVENT_POLL = 0.005


class Clock(ABC):
    """The wall clock, a monotonic clock, and waiting."""

    @abstractmethod
    def now(self) -> datetime:
        """The current instant, timezone-aware (UTC)."""

    @abstractmethod
    def monotonic(self) -> float:
        """Seconds on a clock that never goes back, for measuring intervals."""

    @abstractmethod
    def wait(self, seconds: float, event: threading.Event | None = None) -> bool:
        """Wait ``seconds``, or until ``event`` is set; whether the event was set."""


class SystemClock(Clock):
    """The machine's clocks."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    def wait(self, seconds: float, event: threading.Event | None = None) -> bool:
        if event is None:
            time.sleep(max(seconds, 0.0))
            return False
        return event.wait(max(seconds, 0.0))


class FakeClock(Clock):
    """A clock that moves only when told: ``advance`` moves both clocks and wakes waiters."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 1, tzinfo=UTC)
        self._monotonic = 0.0
        self._changed = threading.Condition()
        #: Each waiting thread's deadline on the monotonic clock, and its event.
        self._waiters: dict[int, tuple[float, threading.Event | None]] = {}
        self._next_waiter = 0

    def now(self) -> datetime:
        with self._changed:
            return self._now

    def monotonic(self) -> float:
        with self._changed:
            return self._monotonic

    def advance(self, seconds: float) -> None:
        """Move time on by ``seconds`` and wake every waiter whose wait is over."""
        with self._changed:
            self._monotonic += seconds
            self._now += timedelta(seconds=seconds)
            self._changed.notify_all()

    def wait(self, seconds: float, event: threading.Event | None = None) -> bool:
        with self._changed:
            deadline = self._monotonic + seconds
            token = self._next_waiter
            self._next_waiter += 1
            self._waiters[token] = (deadline, event)
            self._changed.notify_all()  # a test may be waiting for this waiter
            try:
                while True:
                    if event is not None and event.is_set():
                        return True
                    if self._monotonic >= deadline:
                        return False
                    self._changed.wait(_EVENT_POLL if event is not None else None)
            finally:
                del self._waiters[token]
                self._changed.notify_all()

    def waiting(self) -> int:
        """Threads waiting now whose wait is not over (their time not come, their event not
        set): the ones an ``advance`` would still have to wake."""
        with self._changed:
            return sum(
                1
                for deadline, event in self._waiters.values()
                if deadline > self._monotonic and not (event is not None and event.is_set())
            )

    def until_waiting(self, count: int = 1, timeout: float = 30.0) -> None:
        """Block (in real time) until ``count`` threads wait on this clock: a test advances
        once the background work has done all it can do at this instant."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while self.waiting() < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{count} waiters on the fake clock never came")
                self._changed.wait(min(left, _EVENT_POLL * 4))
