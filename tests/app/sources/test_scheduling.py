"""Scheduling on PostgreSQL: one source never runs on two replicas at once; a dead replica's
run is taken over once its lease runs out, and nothing is imported twice.

Two replicas here are two runners over two connection pools of one database, as two server
processes are (the SIGKILL of a real one is tests/system/e2e/test_pull_source_replicas.py).
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import pytest

from tests.support.slow_site import slow_site
from trapline.background.sources import SourceRunner, start_due_sources
from trapline.db.engine import Database
from trapline.db.types import utcnow
from trapline.domain.core.records import User
from trapline.domain.sources.sources import RunStatus, SourceRun
from trapline.platform import Platform, open_source_runner
from trapline.services.core import users
from trapline.services.photos import projects
from trapline.services.sources import sources
from trapline.settings import Settings

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.parametrize("database_url", ["postgres"], indirect=True),
]


@pytest.fixture
def manager(app_db: Database) -> User:
    return users.create_user(app_db, None, "mia@example.org", "Mia", is_admin=False)


@pytest.fixture
def other_replica(platform: Platform, settings: Settings) -> SourceRunner:
    db = Database.from_url(settings.db.resolved_url(settings.server.data_dir))
    runner = open_source_runner(
        settings, db, platform.store, platform.secret, platform.starter, platform.decode
    )
    yield runner  # type: ignore[misc]
    runner.close()
    db.dispose()


def new_source(platform: Platform, manager: User, url: str) -> int:
    project = projects.create_project(platform.db, manager, "p", "")
    return sources.create_source(
        platform.db, platform.sources.rules, manager, project.id,
        name="station", kind="http_directory", url=url,
    ).id  # fmt: skip


def image_count(platform: Platform, source: int) -> tuple[int, int]:
    from sqlalchemy import text

    with platform.db.engine.connect() as connection:
        images = connection.execute(text("SELECT count(*), count(DISTINCT sha256) FROM images"))
        return tuple(images.one())  # type: ignore[return-value]


def wait_for_runs(platform: Platform, source: int, runs: int, *replicas: SourceRunner) -> None:
    """Once the replicas' runs have ended: the source has had ``runs`` runs, none going."""
    for runner in replicas:
        assert runner.wait_idle(60), "a replica's source run went on past 60 s"
    with platform.db.read() as repos:
        total, _ = repos.sources.sources.runs_page(source, limit=1, offset=0)
        assert total == runs
        assert repos.sources.sources.open_run(source) is None


def test_two_replicas_never_run_one_source_at_once(
    platform: Platform, manager: User, other_replica: SourceRunner
) -> None:
    refused = threading.Event()  # the downloads wait until one replica has been turned away
    with slow_site(12, taking=lambda: refused.wait(30)) as site:
        source = new_source(platform, manager, site.url)
        ready = threading.Barrier(2)
        ended: list[SourceRun | None] = []

        def run(runner: SourceRunner) -> None:
            ready.wait()
            ended.append(runner.run_source(source))
            if ended[-1] is None:
                refused.set()

        threads = [
            threading.Thread(target=run, args=(r,)) for r in (platform.sources, other_replica)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        ran = [r for r in ended if r is not None]
        assert len(ended) == 2
        assert len(ran) == 1, ended
        assert ran[0].imported == 12
        # Both replicas' schedulers at once, later: one runs it, nothing is imported again.
        with platform.db.write() as repos:
            repos.sources.sources.update(source, next_run_at=utcnow() - timedelta(seconds=1))
        start_due_sources(platform.sources)
        start_due_sources(other_replica)
        wait_for_runs(platform, source, 2, platform.sources, other_replica)
        assert max(Counter(site.served).values()) == 1
    assert image_count(platform, source) == (12, 12)
    with platform.db.read() as repos:
        total, runs = repos.sources.sources.runs_page(source, limit=10, offset=0)
    assert total == 2
    assert runs[0].status is RunStatus.SUCCEEDED
    assert runs[0].trigger == "schedule"
    assert runs[0].new == 0


def test_a_dead_replicas_run_is_taken_over_when_its_lease_runs_out(
    platform: Platform, manager: User, other_replica: SourceRunner
) -> None:
    with slow_site(6) as site:
        source = new_source(platform, manager, site.url)
        now = utcnow()
        with platform.db.write() as repos:  # a replica took the source, then died
            assert repos.sources.sources.acquire(
                source, "dead-replica", now + timedelta(minutes=10), now
            )
            dead = repos.sources.sources.create_run(source, "schedule", now)
            repos.sources.sources.start_run(dead.id, "dead-replica", now)
        assert other_replica.run_source(source) is None  # its lease still holds
        with platform.db.read() as repos:
            assert repos.sources.sources.due(utcnow(), 10) == []
        with platform.db.write() as repos:  # ... and now it has run out
            repos.sources.sources.acquire(
                source, "dead-replica", utcnow() - timedelta(seconds=1), now
            )
        with platform.db.read() as repos:
            assert repos.sources.sources.due(utcnow(), 10) == [source]
        taken = other_replica.run_source(source)
        assert taken is not None
        assert taken.status is RunStatus.SUCCEEDED
        assert taken.imported == 6
    with platform.db.read() as repos:
        left = repos.sources.sources.get_run(dead.id)
        current = repos.sources.sources.get(source)
    assert left is not None
    assert left.status is RunStatus.INTERRUPTED
    assert current is not None
    assert current.next_run_at is not None
    assert current.next_run_at > utcnow()
