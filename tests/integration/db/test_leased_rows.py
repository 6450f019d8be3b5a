"""Leased rows (``db/leased_rows.py``) through the four repositories on them, on SQLite and
PostgreSQL: a row has one holder at a time; a run is taken over once its runner fell silent,
a run lease once it ran out; only the holder renews, hands back or fails it.

Runs: exports, regroupings of events, re-readings of capture times. A lease alone: a pull
source's run lease.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from trapline.db.engine import Database
from trapline.db.repositories import Repos
from trapline.db.tables import PullSourceRow
from trapline.db.types import in_utc
from trapline.domain.exports.exports import ExportFilters, ExportFormat
from trapline.services.core import users
from trapline.services.photos import projects

T = datetime(2026, 1, 1, tzinfo=UTC)
#: A runner silent this long is taken over.
STALE = timedelta(seconds=60)


def at(seconds: float) -> datetime:
    return T + timedelta(seconds=seconds)


@dataclass(frozen=True)
class Runs:
    """One kind of run, as its repository offers it."""

    start: Callable[[Repos, int], int]
    repo: Callable[[Repos], Any]
    status: Callable[[Repos, int], str]
    #: Whether a runner's claim of its own running row takes it again.
    claimed_again: bool = True
    #: The claim's extra arguments (an export's most attempts).
    extra: tuple[int, ...] = ()

    def claim(self, db: Database, run_id: int, holder: str, now: datetime) -> bool:
        with db.write() as repos:
            return bool(self.repo(repos).claim(run_id, holder, now, now - STALE, *self.extra))

    def heartbeat(self, db: Database, run_id: int, holder: str, now: datetime) -> bool:
        with db.write() as repos:
            return bool(self.repo(repos).heartbeat(run_id, holder, now))

    def release(self, db: Database, run_id: int, holder: str) -> None:
        with db.write() as repos:
            self.repo(repos).release(run_id, holder)

    def claimable(self, db: Database, now: datetime) -> list[int]:
        with db.read() as repos:
            return list(self.repo(repos).claimable(now - STALE))

    def state(self, db: Database, run_id: int) -> str:
        with db.read() as repos:
            return self.status(repos, run_id)


def _fail(kind: str, repos: Repos, run_id: int, holder: str, reason: str, now: datetime) -> None:
    if kind == "export":
        repos.exports.exports.fail(run_id, holder, now, reason)
    elif kind == "regroupings":
        repos.ecology.regroupings.fail(run_id, holder, reason, now)
    else:
        repos.photos.capture_times.fail(run_id, holder, reason, now)


KINDS = {
    "export": Runs(
        start=lambda r, p: r.exports.exports.create(p, ExportFormat.CSV, ExportFilters(), None).id,
        repo=lambda r: r.exports.exports,
        status=lambda r, i: r.exports.exports.get(i).status.value,  # type: ignore[union-attr]
        claimed_again=False,
        extra=(3,),
    ),
    "regroupings": Runs(
        start=lambda r, p: r.ecology.regroupings.start(p, None, T).id,
        repo=lambda r: r.ecology.regroupings,
        status=lambda r, i: r.ecology.regroupings.get(i).status.value,  # type: ignore[union-attr]
    ),
    "capture_times": Runs(
        start=lambda r, p: r.photos.capture_times.start(p, None, "UTC", T).id,
        repo=lambda r: r.photos.capture_times,
        status=lambda r, i: r.photos.capture_times.get(i).status.value,  # type: ignore[union-attr]
    ),
}


@pytest.fixture
def project_id(app_db: Database) -> int:
    owner = users.create_user(app_db, None, "lee@example.org", "Lee", is_admin=False)
    return projects.create_project(app_db, owner, "Leases", "").id


@pytest.fixture(params=sorted(KINDS))
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _start(app_db: Database, kind: str, project_id: int) -> int:
    with app_db.write() as repos:
        return KINDS[kind].start(repos, project_id)


def test_a_run_has_one_runner_until_it_falls_silent(
    app_db: Database, kind: str, project_id: int
) -> None:
    runs, run = KINDS[kind], _start(app_db, kind, project_id)
    assert runs.claimable(app_db, T) == [run]
    assert runs.claim(app_db, run, "a", T)
    assert runs.state(app_db, run) == "running"
    assert runs.claimable(app_db, at(10)) == []
    assert not runs.claim(app_db, run, "b", at(10))
    assert runs.claim(app_db, run, "a", at(20)) is runs.claimed_again
    assert runs.heartbeat(app_db, run, "a", at(50))
    assert not runs.heartbeat(app_db, run, "b", at(50))
    assert not runs.claim(app_db, run, "b", at(50) + STALE)  # silent for exactly STALE
    assert runs.claimable(app_db, at(51) + STALE) == [run]
    assert runs.claim(app_db, run, "b", at(51) + STALE)  # taken over
    assert not runs.heartbeat(app_db, run, "a", at(52) + STALE)  # the old runner learns so
    runs.release(app_db, run, "a")  # not its own: nothing happens
    assert runs.state(app_db, run) == "running"
    assert runs.heartbeat(app_db, run, "b", at(53) + STALE)


def test_a_run_handed_back_is_queued_for_any_runner(
    app_db: Database, kind: str, project_id: int
) -> None:
    runs, run = KINDS[kind], _start(app_db, kind, project_id)
    assert runs.claim(app_db, run, "a", T)
    runs.release(app_db, run, "a")
    assert runs.state(app_db, run) == "queued"
    assert runs.claimable(app_db, at(1)) == [run]
    assert not runs.heartbeat(app_db, run, "a", at(1))
    assert runs.claim(app_db, run, "b", at(1))


def test_only_its_runner_fails_a_run_and_a_failed_run_is_done(
    app_db: Database, kind: str, project_id: int
) -> None:
    runs, run = KINDS[kind], _start(app_db, kind, project_id)
    assert runs.claim(app_db, run, "a", T)
    with app_db.write() as repos:
        _fail(kind, repos, run, "b", "not mine to fail", at(1))
    assert runs.state(app_db, run) == "running"
    with app_db.write() as repos:
        _fail(kind, repos, run, "a", "the disk is full", at(2))
    assert runs.state(app_db, run) == "failed"
    assert runs.claimable(app_db, at(100) + STALE) == []
    assert not runs.claim(app_db, run, "b", at(100) + STALE)
    assert not runs.heartbeat(app_db, run, "a", at(3))


def test_an_export_is_claimed_three_times_at_most(app_db: Database, project_id: int) -> None:
    runs, run = KINDS["export"], _start(app_db, "export", project_id)
    for n, holder in enumerate("abc"):
        assert runs.claim(app_db, run, holder, at(n * 100))  # each runner died in turn
    assert not runs.claim(app_db, run, "d", at(300))


def test_a_source_run_lease_has_one_holder_until_it_runs_out(
    app_db: Database, project_id: int
) -> None:
    with app_db.write() as repos:
        source = repos.sources.sources.create(
            project_id=project_id,
            name="trap",
            kind="http",
            url="https://example.org/photos/",
            include=["*.jpg"],
            exclude=[],
            depth=0,
            schedule="manual",
            max_files=10,
            enabled=False,
            created_at=T,
            updated_at=T,
        ).id

    def acquire(holder: str, now: float, until: float) -> bool:
        with app_db.write() as repos:
            return repos.sources.sources.acquire(source, holder, at(until), at(now))

    def renew(holder: str, until: float) -> bool:
        with app_db.write() as repos:
            return repos.sources.sources.renew(source, holder, at(until))

    def holder() -> tuple[str | None, datetime | None]:
        with app_db.read() as repos:
            row = repos.session.get(PullSourceRow, source)
            assert row is not None
            return row.lease_holder, row.lease_expires_at and in_utc(row.lease_expires_at)

    assert acquire("a", 0, 30)
    assert not acquire("b", 10, 40)
    assert acquire("a", 20, 50)  # its holder takes it again
    assert renew("a", 60)
    assert not renew("b", 70)
    assert not acquire("b", 60, 90)  # runs out at 60: not yet
    assert acquire("b", 61, 91)
    assert not renew("a", 100)
    with app_db.write() as repos:
        repos.sources.sources.release(source, "a", at(500))  # not its own: nothing happens
    assert holder() == ("b", at(91))
    with app_db.write() as repos:
        repos.sources.sources.release(source, "b", at(500))
        assert repos.sources.sources.get(source).next_run_at == at(500)  # type: ignore[union-attr]
    assert holder() == (None, None)
    assert acquire("c", 62, 92)


#: One step of a run advanced step by step, by its repository.
STEPS: dict[str, Callable[[Repos, int, str, datetime], bool | None]] = {
    "regroupings": lambda r, i, holder, now: r.ecology.regroupings.step(i, holder, now),
    "capture_times": lambda r, i, holder, now: r.photos.capture_times.step(i, holder, now, 100),
}


@pytest.mark.parametrize("stepped", sorted(STEPS))
def test_only_its_runner_steps_a_run_and_its_last_step_ends_it(
    app_db: Database, project_id: int, stepped: str
) -> None:
    runs, run = KINDS[stepped], _start(app_db, stepped, project_id)

    def step(holder: str, now: datetime) -> bool | None:
        with app_db.write() as repos:
            return STEPS[stepped](repos, run, holder, now)

    assert step("a", T) is None  # queued: nobody's to step
    assert runs.claim(app_db, run, "a", T)
    assert step("b", at(1)) is None  # not its runner
    assert runs.claim(app_db, run, "b", at(2) + STALE)  # a fell silent: taken over
    assert step("a", at(3) + STALE) is None  # the old runner learns so, and changes nothing
    assert runs.state(app_db, run) == "running"
    assert step("b", at(4) + STALE) is True  # nothing to do in an empty project: done
    assert runs.state(app_db, run) == "succeeded"
    assert not runs.heartbeat(app_db, run, "b", at(5) + STALE)  # nobody holds it now
    assert runs.claimable(app_db, at(100) + STALE) == []
