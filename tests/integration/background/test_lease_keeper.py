"""The lease keeper, once for every kind of leased work, on SQLite and PostgreSQL: acquire,
renew, loss noticed when another holder takes the expired lease, release.

The leased row here is a duty's (``duty_leases``); the keeper knows nothing of what it is.
Time is a fake clock the test moves, so no test waits for a lease to run out.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest

from tests.support.waiting import wait_until
from trapline.background.lease import Leased, LeaseKeeper
from trapline.clock import FakeClock
from trapline.db.engine import Database
from trapline.db.repositories import Repos
from trapline.errors import Unavailable

#: Seconds the test lease lasts.
SECONDS = 30.0
#: A little more than the lease.
SECONDS_PAST = timedelta(seconds=SECONDS + 1)


class Row(Leased):
    """A lease on a row of ``duty_leases``, counting its renewals."""

    def __init__(self, name: str = "sweep", every: float | None = None) -> None:
        self.name = name
        self.seconds = SECONDS
        self._every = every
        self.renewals = 0

    @property
    def every(self) -> float:
        return self._every if self._every is not None else super().every

    def take(self, repos: Repos, holder: str, now: datetime, until: datetime) -> bool:
        return repos.core.duty_leases.acquire(self.name, holder, until, now)

    def renew(self, repos: Repos, holder: str, now: datetime, until: datetime) -> bool:
        self.renewals += 1
        return super().renew(repos, holder, now, until)

    def give_back(self, repos: Repos, holder: str, now: datetime) -> None:
        repos.core.duty_leases.release(self.name, holder)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def keepers(db: Database, clock: FakeClock) -> tuple[LeaseKeeper, LeaseKeeper]:
    return LeaseKeeper(db, holder="a", clock=clock), LeaseKeeper(db, holder="b", clock=clock)


def test_one_holder_at_a_time_until_the_lease_runs_out(app_db: Database, clock: FakeClock) -> None:
    a, b = keepers(app_db, clock)
    assert a.acquire(Row())
    assert not b.acquire(Row())
    assert a.acquire(Row())  # its holder takes it again: a renewal
    clock.advance(SECONDS - 1)
    assert not b.acquire(Row())  # counted from the renewal
    clock.advance(2)
    assert b.acquire(Row())
    assert not a.acquire(Row())


def test_the_lease_is_renewed_every_third_while_the_work_lasts(
    app_db: Database, clock: FakeClock
) -> None:
    a, b = keepers(app_db, clock)
    lease = Row()
    assert a.acquire(lease)
    with a.kept(lease) as lost:
        for _ in range(6):  # twice the lease's length, one third at a time
            clock.until_waiting(1)
            clock.advance(SECONDS / 3 + 0.01)
            clock.until_waiting(1)  # renewed, and waiting for the next turn
            assert not b.acquire(Row())
        assert not lost.is_set()
    assert lease.renewals == 6
    clock.advance(SECONDS + 1)  # no renewals after the work ended
    assert b.acquire(Row())


def test_a_holder_whose_lease_another_took_notices_at_its_next_renewal(
    app_db: Database, clock: FakeClock
) -> None:
    """Another holder took the lease (here one whose clock runs a lease ahead, so that it
    found the lease run out): the next renewal finds it with the other holder, ``lost`` is
    set, the callback called, and renewing stops."""
    a = LeaseKeeper(app_db, holder="a", clock=clock)
    b = LeaseKeeper(app_db, holder="b", clock=FakeClock(clock.now() + SECONDS_PAST))
    lease = Row()
    told = threading.Event()
    assert a.acquire(lease)
    with a.kept(lease, on_lost=told.set) as lost:
        assert b.acquire(Row())
        clock.until_waiting(1)
        clock.advance(SECONDS / 3 + 0.01)
        assert lost.wait(10)
        assert told.is_set()
    assert lease.renewals == 1
    assert not a.acquire(Row())


class Refused(Row):
    """A lease whose renewals the database refuses (``Unavailable``) the first ``times``."""

    def __init__(self, times: int) -> None:
        super().__init__()
        self.times = times

    def renew(self, repos: Repos, holder: str, now: datetime, until: datetime) -> bool:
        if self.times:
            self.times -= 1
            self.renewals += 1
            raise Unavailable("the database is away")
        return super().renew(repos, holder, now, until)


def settled(clock: FakeClock, lost: threading.Event) -> None:
    """Until the keeper waits for its next turn, or has stopped on losing the lease."""
    wait_until(lambda: lost.is_set() or clock.waiting() >= 1, "the keeper's turn")


def test_a_lease_not_renewed_before_it_runs_out_is_lost_and_the_work_stops(
    app_db: Database, clock: FakeClock
) -> None:
    """The database refuses every renewal: the keeper tries again, more often, while the
    lease lasts, and when it runs out sets ``lost`` (the work stops), for another holder may
    take it then."""
    a, b = keepers(app_db, clock)
    lease = Refused(times=1000)
    told = threading.Event()
    assert a.acquire(lease)
    start, steps = clock.now(), 0
    with a.kept(lease, on_lost=told.set) as lost:
        while not lost.is_set():  # the work, a step a second while it holds the lease
            assert clock.now() - start < timedelta(seconds=SECONDS), "it ran past its lease"
            assert not b.acquire(Row())
            steps += 1
            clock.advance(1)
            settled(clock, lost)
        assert clock.now() - start == timedelta(seconds=SECONDS)  # lost when it ran out
        assert told.is_set()
        clock.advance(1)
        assert b.acquire(Row())  # the other holder takes it; this work has stopped
    assert steps == SECONDS
    assert lease.renewals >= 4  # tried at a third of the lease, then more often


def test_a_renewal_refused_for_less_than_the_lease_is_no_loss(
    app_db: Database, clock: FakeClock
) -> None:
    a, b = keepers(app_db, clock)
    lease = Refused(times=3)
    assert a.acquire(lease)
    start = clock.now()
    with a.kept(lease) as lost:
        while clock.now() - start < timedelta(seconds=2 * SECONDS):
            clock.advance(1)
            settled(clock, lost)
            assert not lost.is_set(), "lost although a renewal went through in time"
            assert not b.acquire(Row())
    assert lease.times == 0  # three refused, then renewed


def test_a_released_lease_is_free_at_once(app_db: Database, clock: FakeClock) -> None:
    a, b = keepers(app_db, clock)
    assert a.acquire(Row())
    assert a.release(Row())
    assert b.acquire(Row())
    assert a.release(Row())  # not its to give back: nothing happens
    assert not a.acquire(Row())


def test_a_release_without_the_database_says_so_and_leaves_the_lease_to_expire(
    app_db: Database, clock: FakeClock
) -> None:
    class Away(Row):
        def give_back(self, repos: Repos, holder: str, now: datetime) -> None:
            raise Unavailable("the database is away")

    a, b = keepers(app_db, clock)
    assert a.acquire(Row())
    assert not a.release(Away())
    assert not b.acquire(Row())
    clock.advance(SECONDS + 1)
    assert b.acquire(Row())
