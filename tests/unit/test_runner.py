"""The runner, once for every pool of background work: bounded, each id once while pending
or running, and closed with a hand-back; with the lease keeper, work stopped by a close gives
its lease back so that another server takes it at once (on SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from datetime import datetime

from trapline.background.lease import Leased, LeaseKeeper
from trapline.background.runner import Runner
from trapline.clock import FakeClock
from trapline.db.engine import Database
from trapline.db.repositories import Repos


class Gate:
    """Work that records what started and holds each item until the test opens the gate."""

    def __init__(self) -> None:
        self.started: list[int] = []
        self.running = 0
        self.most = 0
        self.open = threading.Event()
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)

    def __call__(self, item: int) -> None:
        with self._changed:
            self.started.append(item)
            self.running += 1
            self.most = max(self.most, self.running)
            self._changed.notify_all()
        assert self.open.wait(30)
        with self._changed:
            self.running -= 1
            self._changed.notify_all()

    def until(self, started: int) -> None:
        with self._changed:
            assert self._changed.wait_for(lambda: len(self.started) >= started, 30)


def test_an_id_submitted_twice_runs_once() -> None:
    work = Gate()
    runner: Runner[int] = Runner(work, workers=2, name="test")
    assert runner.submit(1)
    work.until(1)
    assert not runner.submit(1)  # running
    assert runner.submit(2)
    assert runner.submit(3)
    assert not runner.submit(3)  # waiting
    work.open.set()
    assert runner.wait_idle(30)
    assert sorted(work.started) == [1, 2, 3]
    assert runner.submit(1)  # done: it may run again
    work.until(4)
    runner.close()
    assert sorted(work.started) == [1, 1, 2, 3]


def test_waiting_for_idle_ends_when_the_work_has_ended() -> None:
    work = Gate()
    runner: Runner[int] = Runner(work, workers=1, name="test")
    assert runner.wait_idle(0)  # nothing submitted
    assert runner.submit(1)
    assert runner.submit(2)
    assert not runner.wait_idle(0.05)  # item 1 is held at the gate
    work.open.set()
    assert runner.wait_idle(30)
    assert runner.active == 0
    assert sorted(work.started) == [1, 2]
    runner.close()


def test_at_most_workers_run_at_once() -> None:
    work = Gate()
    runner: Runner[int] = Runner(work, workers=2, name="test")
    for item in range(6):
        assert runner.submit(item)
    work.until(2)
    assert work.running == 2
    work.open.set()
    assert runner.wait_idle(30)
    runner.close()
    assert sorted(work.started) == list(range(6))
    assert work.most == 2


def test_closing_hands_back_what_did_not_start_and_waits_for_what_runs() -> None:
    work = Gate()
    handed: list[int] = []
    runner: Runner[int] = Runner(work, workers=1, name="test", hand_back=handed.append)
    for item in (1, 2, 3):
        assert runner.submit(item)
    work.until(1)
    closing = threading.Thread(target=runner.close)
    closing.start()
    assert runner.closing.wait(10)  # the work under way sees it and may stop early
    assert not runner.submit(4)
    work.open.set()
    closing.join(30)
    assert not closing.is_alive()
    assert work.started == [1]
    assert handed == [2, 3]
    assert [t for t in threading.enumerate() if t.name.startswith("test-")] == []


class Row(Leased):
    """A lease on a row of ``duty_leases``."""

    seconds = 30.0

    def __init__(self, item: int) -> None:
        self.name = f"item-{item}"

    def take(self, repos: Repos, holder: str, now: datetime, until: datetime) -> bool:
        return repos.core.duty_leases.acquire(self.name, holder, until, now)

    def give_back(self, repos: Repos, holder: str, now: datetime) -> None:
        repos.core.duty_leases.release(self.name, holder)


def test_work_stopped_by_a_close_gives_its_lease_back_for_another_server(
    app_db: Database,
) -> None:
    """What background work does: take the item's lease, work under it until the runner
    closes, give it back; another server's keeper then takes it without waiting."""
    clock = FakeClock()
    here = LeaseKeeper(app_db, holder="here", clock=clock)
    elsewhere = LeaseKeeper(app_db, holder="elsewhere", clock=clock)
    working = threading.Event()
    runner: Runner[int]

    def work(item: int) -> None:
        lease = Row(item)
        if not here.acquire(lease):
            return
        try:
            with here.kept(lease) as lost:
                working.set()
                while not (runner.closing.is_set() or lost.is_set()):
                    runner.closing.wait(0.01)
        finally:
            here.release(lease)

    runner = Runner(work, workers=1, name="leased")
    assert runner.submit(7)
    assert working.wait(10)
    assert not elsewhere.acquire(Row(7))
    runner.close()
    assert elsewhere.acquire(Row(7))
