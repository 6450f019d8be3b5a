"""Regroupings run on the lease primitive: one whose runner went silent is taken over and
regroups every deployment of its scope, with its progress; a later one supersedes it."""

from __future__ import annotations

from datetime import UTC, timedelta

from tests.support.accounts import Account
from tests.support.grouping import T0, add_photos, grouping_project, groups_of
from trapline.background.events import STALE_AFTER, RegroupingRunner
from trapline.clock import FakeClock
from trapline.db.engine import Database
from trapline.domain.events import EventRule, Grouping, RegroupingStatus


def test_a_silent_runners_regrouping_is_taken_over_and_finished(
    app_db: Database, owner: Account, fake_clock: FakeClock
) -> None:
    project_id, deployment_id = grouping_project(app_db, owner, Grouping(EventRule.SEQUENCE, 60))
    ids = add_photos(app_db, project_id, deployment_id, T0, T0 + timedelta(hours=3))
    assert groups_of(app_db, deployment_id) == [[ids[0]], [ids[1]]]
    now = fake_clock.now()
    with app_db.write() as repos:
        repos.events.set_project_rule(project_id, Grouping(EventRule.NIGHT))
        regrouping = repos.regroupings.start(project_id, None, now)
        assert repos.regroupings.claim(regrouping.id, "gone", now, now - STALE_AFTER)
    runner = RegroupingRunner(app_db, name="here", clock=fake_clock)
    try:
        assert runner.run(regrouping.id) is False  # its runner may still be at it
        fake_clock.advance(STALE_AFTER.total_seconds() + 1)
        runner.resume()
        assert runner.wait_idle(30)
    finally:
        runner.close()
    with app_db.read() as repos:
        done = repos.regroupings.get(regrouping.id)
    assert done is not None
    assert done.status is RegroupingStatus.SUCCEEDED
    assert (done.deployments_done, done.deployments_total) == (1, 1)
    assert groups_of(app_db, deployment_id) == [ids]


def test_a_later_rule_change_supersedes_an_unfinished_regrouping(
    app_db: Database, owner: Account
) -> None:
    project_id, _ = grouping_project(app_db, owner, Grouping(EventRule.SEQUENCE))
    now = T0.replace(tzinfo=UTC)
    with app_db.write() as repos:
        first = repos.regroupings.start(project_id, None, now)
        second = repos.regroupings.start(project_id, None, now)
    with app_db.read() as repos:
        assert repos.regroupings.get(first.id).status is RegroupingStatus.SUPERSEDED  # type: ignore[union-attr]
        assert repos.regroupings.claimable(now) == [second.id]
