"""Time limits of runs: the run limit, read timeouts, and a slow source beside a quick one."""

from __future__ import annotations

import dataclasses
import threading
from datetime import timedelta

import pytest

from tests.support.slow_site import slow_site
from tests.support.waiting import wait_until
from trapline.clock import FakeClock
from trapline.db.engine import Database
from trapline.domain.core.records import User
from trapline.domain.sources.sources import RetryPolicy, RunStatus, SourceRun
from trapline.platform import Platform
from trapline.services.core import users
from trapline.services.photos import projects
from trapline.services.sources import sources

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture
def manager(app_db: Database) -> User:
    return users.create_user(app_db, None, "mia@example.org", "Mia", is_admin=False)


def new_source(platform: Platform, manager: User, url: str) -> int:
    project = projects.create_project(platform.db, manager, "p", "")
    return sources.create_source(
        platform.db, platform.sources.rules, manager, project.id,
        name="station", kind="http_directory", url=url,
    ).id  # fmt: skip


def limit(platform: Platform, **changes: object) -> None:
    runner = platform.sources
    runner.limits = dataclasses.replace(runner.limits, **changes)  # type: ignore[arg-type]


def test_a_run_stops_at_its_time_limit_and_the_next_goes_on(
    platform: Platform, manager: User, fake_clock: FakeClock
) -> None:
    with slow_site(8, taking=lambda: fake_clock.advance(0.3)) as site:
        source = new_source(platform, manager, site.url)
        limit(platform, run_limit=1.0, downloads=1)
        first = platform.sources.run_source(source)
        assert first is not None
        assert first.status is RunStatus.FAILED
        assert first.error is not None
        assert "run time limit" in first.error
        assert first.imported == 4  # 1.2 s of downloads: the fifth found the time up
        limit(platform, run_limit=60.0, downloads=4)
        second = platform.sources.run_source(source)
        assert second is not None
        assert second.status is RunStatus.SUCCEEDED
        assert first.imported + second.imported == 8


def test_a_server_that_does_not_answer_in_time_fails_the_file(
    platform: Platform, manager: User
) -> None:
    answered = threading.Event()  # set once the run is over: the download answers too late
    with slow_site(1, taking=lambda: answered.wait(30)) as site:
        source = new_source(platform, manager, site.url)
        limit(platform, timeout=0.3, retry=RetryPolicy(first_delay=timedelta(0)))
        try:
            run = platform.sources.run_source(source)
        finally:
            answered.set()
        assert run is not None
        assert run.failed == 1
        [failure] = sources.run_failures(platform.db, manager, source, run.id, limit=5, offset=0)[1]
        assert failure.error is not None
        assert "did not answer in time" in failure.error


def test_a_slow_source_does_not_hold_up_a_quick_one(platform: Platform, manager: User) -> None:
    released = threading.Event()
    with (
        slow_site(20, taking=lambda: released.wait(30)) as slow,
        slow_site(3) as quick,
    ):
        limit(platform, downloads=1)
        slow_id = new_source(platform, manager, slow.url)
        quick_id = new_source(platform, manager, quick.url)
        for source in (slow_id, quick_id):
            sources.request_run(platform.db, manager, source)
        assert platform.sources.submit(slow_id)
        assert platform.sources.submit(quick_id)

        def newest(source: int) -> SourceRun:
            with platform.db.read() as repos:
                _, [run] = repos.sources.sources.runs_page(source, limit=1, offset=0)
            return run

        quick_run = wait_until(
            lambda: (run := newest(quick_id)).status is RunStatus.SUCCEEDED and run,
            what="the quick source's run",
        )
        assert quick_run.imported == 3
        assert newest(slow_id).status is RunStatus.RUNNING  # held at its first download
        released.set()
        platform.sources.close()  # the slow run ends at its next file, interrupted
    with platform.db.read() as repos:
        _, [slow_run] = repos.sources.sources.runs_page(slow_id, limit=1, offset=0)
    assert slow_run.status is RunStatus.INTERRUPTED
