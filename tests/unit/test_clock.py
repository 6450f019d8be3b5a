"""The clocks: the system's is aware UTC; a fake one moves only when advanced, and wakes its
waiters then."""

from __future__ import annotations

import threading
from datetime import UTC, timedelta

from trapline.clock import FakeClock, SystemClock


def test_the_system_clock_is_aware_utc_and_its_wait_returns_whether_the_event_was_set() -> None:
    clock = SystemClock()
    assert clock.now().tzinfo is UTC
    assert clock.monotonic() <= clock.monotonic()
    event = threading.Event()
    assert not clock.wait(0, event)
    event.set()
    assert clock.wait(10, event)


def test_a_fake_clock_moves_only_when_advanced_and_wakes_waiters_then() -> None:
    clock = FakeClock()
    start, at = clock.now(), clock.monotonic()
    woke: list[bool] = []
    waiter = threading.Thread(target=lambda: woke.append(clock.wait(10)))
    waiter.start()
    clock.until_waiting(1)
    clock.advance(9)
    assert clock.waiting() == 1  # not yet
    clock.advance(1)
    waiter.join(10)
    assert woke == [False]
    assert clock.now() - start == timedelta(seconds=10)
    assert clock.monotonic() - at == 10


def test_a_fake_wait_on_an_event_ends_when_the_event_is_set() -> None:
    clock = FakeClock()
    event = threading.Event()
    woke: list[bool] = []
    waiter = threading.Thread(target=lambda: woke.append(clock.wait(60, event)))
    waiter.start()
    clock.until_waiting(1)
    event.set()
    waiter.join(10)
    assert woke == [True]
    assert clock.waiting() == 0
