"""Duty leases: one runner at a time, a long run keeps its lease, and a stopped runner hands
its leases back.

The runners go by a fake clock the test moves, so the leases have their real length (15 s)
and a loaded machine that stalls between two steps cannot let one run out early.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from tests.support.waiting import wait_until
from trapline.background import duties
from trapline.background.duties import Duty, DutyRunner, Stop
from trapline.clock import FakeClock
from trapline.db.engine import Database

#: A duty's lease (a duty run every 0.01 s gets the shortest).
LEASE = duties.MIN_LEASE_SECONDS


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def _recording(name: str, runs: list[str]) -> Duty:
    return Duty(name, 0.01, lambda _: runs.append(name))


def test_a_duty_runs_on_one_runner_until_its_lease_runs_out(
    app_db: Database, clock: FakeClock
) -> None:
    runs: list[str] = []
    first = DutyRunner(app_db, [_recording("sweep", runs)], holder="a", clock=clock)
    second = DutyRunner(app_db, [_recording("sweep", runs)], holder="b", clock=clock)
    assert first.run_once(now=1.0) == ["sweep"]
    clock.advance(LEASE - 1)
    assert second.run_once(now=1.0) == []
    assert first.run_once(now=2.0) == ["sweep"]  # renewed by its holder
    clock.advance(LEASE - 1)
    assert second.run_once(now=2.0) == []  # the renewal counts from when it was made
    clock.advance(2)  # the first runner is gone: its lease runs out
    assert second.run_once(now=3.0) == ["sweep"]
    assert first.run_once(now=4.0) == []


def test_a_run_longer_than_the_lease_keeps_it(app_db: Database, clock: FakeClock) -> None:
    """The run lasts four renewals (well past the lease it started with); the other runner
    never gets the duty meanwhile."""
    runs: list[str] = []
    started, finish = threading.Event(), threading.Event()

    def long(_: Stop) -> None:
        runs.append("reconcile")
        started.set()
        assert finish.wait(60)

    first = DutyRunner(app_db, [Duty("reconcile", 0.01, long)], holder="a", clock=clock)
    second = DutyRunner(app_db, [_recording("reconcile", runs)], holder="b", clock=clock)
    long_run = threading.Thread(target=first.run_once, kwargs={"now": 1.0})
    long_run.start()
    try:
        assert started.wait(10)
        for turn in range(4):
            clock.until_waiting(1)  # the lease keeper waits for its next renewal
            clock.advance(LEASE / 3 + 0.01)
            clock.until_waiting(1)  # ... and has renewed
            assert second.run_once(now=2.0 + turn) == []
    finally:
        finish.set()
        long_run.join(60)
    assert runs == ["reconcile"]


def test_a_run_that_loses_its_lease_stops_at_its_next_step(
    app_db: Database, clock: FakeClock
) -> None:
    """Another runner takes the duty (its clock a lease ahead, so that it found the lease run
    out): the lease keeper finds it so at its next renewal, and the run, which checks the
    ``Stop`` it was handed between its steps, ends there rather than run beside the other."""
    runs: list[str] = []
    steps = 0
    ahead = FakeClock(clock.now() + timedelta(seconds=LEASE + 1))
    second = DutyRunner(app_db, [_recording("reconcile", runs)], holder="b", clock=ahead)

    def long(stop: Stop) -> None:
        nonlocal steps
        clock.until_waiting(1)  # the lease keeper waits for its first renewal
        while not stop.is_set() and steps < 100:  # a step a second
            steps += 1
            if steps == 2:
                assert second.run_once(now=1.0) == ["reconcile"]
            clock.advance(1)
            wait_until(lambda: stop.is_set() or clock.waiting() >= 1, "the keeper's turn")

    first = DutyRunner(app_db, [Duty("reconcile", 0.01, long)], holder="a", clock=clock)
    assert first.run_once(now=1.0) == []  # not run to its end
    assert steps == LEASE / 3  # stopped at the renewal a third of the lease in
    assert runs == ["reconcile"]
    assert first.run_once(now=2.0) == []  # the other runner has it now


def test_a_stopped_runner_hands_its_leases_over_at_once(app_db: Database, clock: FakeClock) -> None:
    runs: list[str] = []
    first = DutyRunner(app_db, [_recording("reap", runs)], holder="a", clock=clock)
    second = DutyRunner(app_db, [_recording("reap", runs)], holder="b", clock=clock)
    assert first.run_once(now=1.0) == ["reap"]
    first.stop()
    assert second.run_once(now=1.0) == ["reap"]


def test_a_runner_stopped_mid_run_keeps_only_that_duty_until_the_run_ends(
    app_db: Database, monkeypatch: pytest.MonkeyPatch, clock: FakeClock
) -> None:
    monkeypatch.setattr(duties, "STOP_WAIT", 0.1)
    runs: list[str] = []
    started, finish = threading.Event(), threading.Event()

    def long(_: Stop) -> None:
        started.set()
        finish.wait(10)

    first = DutyRunner(
        app_db, [_recording("quick", runs), Duty("long", 0.01, long)], holder="a", clock=clock
    )
    second = DutyRunner(
        app_db, [_recording("quick", runs), _recording("long", runs)], holder="b", clock=clock
    )
    first.start()
    clock.until_waiting(1)  # the runner's loop waits for its first tick
    clock.advance(1)
    assert started.wait(10)
    first.stop()  # does not wait for the long run
    try:
        assert second.run_once(now=1.0) == ["quick"]
    finally:
        finish.set()
    assert first.run_once(now=1e9) == []  # a stopped runner takes no lease again
    assert first._thread is not None
    first._thread.join(10)  # the long run has ended
    assert "long" not in second.run_once(now=2.0)  # its lease is still there ...
    clock.advance(LEASE + 1)
    assert "long" in second.run_once(now=3.0)  # ... until it runs out
