"""Duty leases: one runner at a time, a long run keeps its lease, and a stopped runner hands
its leases back."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from trapline.db.engine import Database
from trapline.services import duties
from trapline.services.duties import Duty, DutyRunner

#: A short lease for these tests (the floor is 15 s in service).
LEASE = 0.6


@pytest.fixture(autouse=True)
def short_leases(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(duties, "MIN_LEASE_SECONDS", LEASE)


class Clock:
    """The time the runners' leases are judged by, moved by the test: a loaded machine that
    stalls between two steps cannot let a lease run out early."""

    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    made = Clock()
    monkeypatch.setattr(duties, "utcnow", made)
    return made


def _recording(name: str, runs: list[str]) -> Duty:
    return Duty(name, 0.01, lambda: runs.append(name))


def test_a_duty_runs_on_one_runner_until_its_lease_runs_out(app_db: Database, clock: Clock) -> None:
    runs: list[str] = []
    first = DutyRunner(app_db, [_recording("sweep", runs)], holder="a")
    second = DutyRunner(app_db, [_recording("sweep", runs)], holder="b")
    assert first.run_once(now=1.0) == ["sweep"]
    clock.advance(LEASE - 0.1)
    assert second.run_once(now=1.0) == []
    assert first.run_once(now=2.0) == ["sweep"]  # renewed by its holder
    clock.advance(LEASE - 0.1)
    assert second.run_once(now=2.0) == []  # the renewal counts from when it was made
    clock.advance(0.2)  # the first runner is gone: its lease runs out
    assert second.run_once(now=3.0) == ["sweep"]
    assert first.run_once(now=4.0) == []


def test_a_run_longer_than_the_lease_keeps_it(
    app_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The run lasts until its lease was renewed four times (well past the lease it started
    with), counted rather than timed, so a slow machine only makes the test longer. The lease
    is longer here than in the other tests: a renewal comes every third of it, and a loaded
    machine may hold the renewing thread back for a good part of a second."""
    lease = 3.0
    monkeypatch.setattr(duties, "MIN_LEASE_SECONDS", lease)
    runs: list[str] = []
    started, renewed_enough = threading.Event(), threading.Event()

    def long() -> None:
        runs.append("reconcile")
        started.set()
        assert renewed_enough.wait(60)

    first = DutyRunner(app_db, [Duty("reconcile", 0.01, long)], holder="a")
    renewals = 0
    take = first._lease

    def counted(duty: Duty) -> bool:
        nonlocal renewals
        got = take(duty)
        renewals += 1
        if renewals > 4:  # the first take, then four renewals
            renewed_enough.set()
        return got

    monkeypatch.setattr(first, "_lease", counted)
    second = DutyRunner(app_db, [_recording("reconcile", runs)], holder="b")
    long_run = threading.Thread(target=first.run_once, kwargs={"now": 1.0})
    long_run.start()
    try:
        assert started.wait(10)
        while not renewed_enough.is_set():
            assert second.run_once(now=time.monotonic()) == []
            renewed_enough.wait(0.05)
    finally:
        long_run.join(60)
    assert runs == ["reconcile"]


def test_a_stopped_runner_hands_its_leases_over_at_once(app_db: Database) -> None:
    runs: list[str] = []
    first = DutyRunner(app_db, [_recording("reap", runs)], holder="a")
    second = DutyRunner(app_db, [_recording("reap", runs)], holder="b")
    assert first.run_once(now=1.0) == ["reap"]
    first.stop()
    assert second.run_once(now=1.0) == ["reap"]


def test_a_runner_stopped_mid_run_keeps_only_that_duty_until_the_run_ends(
    app_db: Database, monkeypatch: pytest.MonkeyPatch, clock: Clock
) -> None:
    monkeypatch.setattr(duties, "STOP_WAIT", 0.1)
    runs: list[str] = []
    started, finish = threading.Event(), threading.Event()

    def long() -> None:
        started.set()
        finish.wait(10)

    first = DutyRunner(app_db, [_recording("quick", runs), Duty("long", 0.01, long)], holder="a")
    second = DutyRunner(app_db, [_recording("quick", runs), _recording("long", runs)], holder="b")
    first.start()
    assert started.wait(10)
    first.stop()  # does not wait for the long run
    try:
        assert second.run_once(now=1.0) == ["quick"]
    finally:
        finish.set()
    assert first.run_once(now=1e9) == []  # a stopped runner takes no lease again
    deadline = time.monotonic() + 10
    while "long" not in second.run_once(now=time.monotonic()):  # once its lease ran out
        assert time.monotonic() < deadline, "the long duty's lease was never free again"
        clock.advance(LEASE)  # a renewal made before the run ended still counts
        time.sleep(0.05)
