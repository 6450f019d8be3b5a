"""The lease keeper, once for every kind of leased work, on SQLite and PostgreSQL: acquire,
renew, loss noticed when another holder takes the expired lease, release.

The leased row here is a duty's (``duty_leases``); the keeper knows nothing of what it is.
Time is a fake clock the test moves, so no test waits for a lease to run out.
"""

from __future__ import annotations

import threading
from datetime import datetime

import pytest

from trapline.background.lease import Leased, LeaseKeeper
from trapline.clock import FakeClock
from trapline.db.engine import Database
from trapline.db.repositories import Repos

#: Seconds the test lease lasts.
SECONDS = 30.0


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
        return repos.duty_leases.acquire(self.name, holder, until, now)

    def renew(self, repos: Repos, holder: str, now: datetime, until: datetime) -> bool:
        self.renewals += 1
        return super().renew(repos, holder, now, until)

    def give_back(self, repos: Repos, holder: str, now: datetime) -> None:
        repos.duty_leases.release(self.name, holder)


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


def test_a_holder_that_renews_too_late_notices_that_another_took_its_lease(
    app_db: Database, clock: FakeClock
) -> None:
    """A stalled holder (here: one whose renewal comes after its lease ran out) finds the
    lease with another holder: ``lost`` is set, the callback called, and renewing stops."""
    a, b = keepers(app_db, clock)
    stalled = Row(every=2 * SECONDS)
    told = threading.Event()
    assert a.acquire(stalled)
    with a.kept(stalled, on_lost=told.set) as lost:
        clock.until_waiting(1)
        clock.advance(SECONDS + 1)
        assert b.acquire(Row())  # expired: the other holder takes it
        clock.advance(SECONDS)  # the stalled holder's renewal comes now
        assert lost.wait(10)
        assert told.is_set()
    assert stalled.renewals == 1
    assert not a.acquire(Row())


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
    from trapline.errors import Unavailable

    class Away(Row):
        def give_back(self, repos: Repos, holder: str, now: datetime) -> None:
            raise Unavailable("the database is away")

    a, b = keepers(app_db, clock)
    assert a.acquire(Row())
    assert not a.release(Away())
    assert not b.acquire(Row())
    clock.advance(SECONDS + 1)
    assert b.acquire(Row())
