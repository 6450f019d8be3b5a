"""Regroupings run on the lease primitive: one whose runner went silent is taken over and
regroups every deployment of its scope, with its progress; a later one supersedes it."""

from __future__ import annotations

from datetime import UTC, timedelta

from sqlalchemy import text

from tests.support.accounts import Account
from tests.support.grouping import T0, add_photos, grouping_project, groups_of
from trapline.background.events import STALE_AFTER, RegroupingRunner
from trapline.clock import FakeClock
from trapline.db.engine import Database
from trapline.domain.core.event_rules import EventRule, Grouping
from trapline.domain.ecology.events import RegroupingStatus

#: A time before every heartbeat of these tests: nothing is stale since then.
T0_UTC = T0.replace(tzinfo=UTC)


def test_a_silent_runners_regrouping_is_taken_over_and_finished(
    app_db: Database, owner: Account, fake_clock: FakeClock
) -> None:
    project_id, deployment_id = grouping_project(app_db, owner, Grouping(EventRule.SEQUENCE, 60))
    ids = add_photos(app_db, project_id, deployment_id, T0, T0 + timedelta(hours=3))
    assert groups_of(app_db, deployment_id) == [[ids[0]], [ids[1]]]
    now = fake_clock.now()
    with app_db.write() as repos:
        repos.ecology.events.set_project_rule(project_id, Grouping(EventRule.NIGHT))
        regrouping = repos.ecology.regroupings.start(project_id, None, now)
        assert repos.ecology.regroupings.claim(regrouping.id, "gone", now, now - STALE_AFTER)
    runner = RegroupingRunner(app_db, name="here", clock=fake_clock)
    try:
        assert runner.run(regrouping.id) is False  # its runner may still be at it
        fake_clock.advance(STALE_AFTER.total_seconds() + 1)
        runner.resume()
        assert runner.wait_idle(30)
    finally:
        runner.close()
    with app_db.read() as repos:
        done = repos.ecology.regroupings.get(regrouping.id)
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
        first = repos.ecology.regroupings.start(project_id, None, now)
        second = repos.ecology.regroupings.start(project_id, None, now)
    with app_db.read() as repos:
        assert repos.ecology.regroupings.get(first.id).status is RegroupingStatus.SUPERSEDED  # type: ignore[union-attr]
        assert repos.ecology.regroupings.claimable(now) == [second.id]


def _fail_new_events_of(db: Database, deployment_id: int) -> None:
    """A trigger in the database refuses new events of the deployment: its regrouping fails
    there, as a deployment whose data trips a fault would."""
    with db.write() as repos:
        session = repos.session
        if session.get_bind().dialect.name == "sqlite":
            session.execute(
                text(
                    "CREATE TRIGGER planted BEFORE INSERT ON events"
                    f" WHEN NEW.deployment_id = {deployment_id}"
                    " BEGIN SELECT RAISE(ABORT, 'planted fault'); END"
                )
            )
            return
        session.execute(
            text(
                "CREATE FUNCTION planted() RETURNS trigger AS $$ BEGIN"
                f" IF NEW.deployment_id = {deployment_id} THEN RAISE EXCEPTION 'planted fault';"
                " END IF; RETURN NEW; END $$ LANGUAGE plpgsql"
            )
        )
        session.execute(
            text(
                "CREATE TRIGGER planted BEFORE INSERT ON events"
                " FOR EACH ROW EXECUTE FUNCTION planted()"
            )
        )


def test_a_deployment_that_cannot_be_regrouped_stops_no_other(
    app_db: Database, owner: Account, fake_clock: FakeClock
) -> None:
    """A project's rule changes; its first deployment cannot be regrouped: it keeps its events,
    the regrouping names it and why, goes on with the second, and ends failed."""
    project_id, first = grouping_project(app_db, owner, Grouping(EventRule.SEQUENCE, 60))
    with app_db.write() as repos:
        second = repos.core.deployments.create(project_id, name="Second", time_zone="UTC").id
    day = timedelta(days=1)
    ids = {
        d: add_photos(app_db, project_id, d, T0 + n * day, T0 + n * day + timedelta(hours=3))
        for n, d in enumerate((first, second))
    }
    assert groups_of(app_db, first) == [[ids[first][0]], [ids[first][1]]]
    _fail_new_events_of(app_db, first)
    with app_db.write() as repos:
        repos.ecology.events.set_project_rule(project_id, Grouping(EventRule.NIGHT))
        regrouping = repos.ecology.regroupings.start(project_id, None, fake_clock.now())
    runner = RegroupingRunner(app_db, name="here", clock=fake_clock)
    try:
        runner.submit(regrouping.id)
        assert runner.wait_idle(30)
    finally:
        runner.close()
    with app_db.read() as repos:
        done = repos.ecology.regroupings.get(regrouping.id)
    assert done is not None
    assert done.status is RegroupingStatus.FAILED
    assert (done.deployments_done, done.deployments_failed, done.deployments_total) == (1, 1, 2)
    assert done.error is not None
    assert done.error.startswith(f"deployment {first}: ")
    assert "planted fault" in done.error
    assert groups_of(app_db, first) == [[ids[first][0]], [ids[first][1]]]  # as it was
    assert groups_of(app_db, second) == [ids[second]]  # one night now


def test_a_regrouping_its_servers_died_in_three_times_fails_instead_of_looping(
    app_db: Database, owner: Account, fake_clock: FakeClock
) -> None:
    """Each claim counts; a server that hands its run back as it stops takes no try. After a
    third server died in it, the regrouping fails, saying so, rather than kill a fourth."""
    project_id, _ = grouping_project(app_db, owner, Grouping(EventRule.SEQUENCE, 60))
    stale = STALE_AFTER.total_seconds() + 1
    with app_db.write() as repos:
        regrouping = repos.ecology.regroupings.start(project_id, None, fake_clock.now())
    with app_db.write() as repos:  # a server stopping hands it back: no try
        assert repos.ecology.regroupings.claim(regrouping.id, "stopping", fake_clock.now(), T0_UTC)
        repos.ecology.regroupings.release(regrouping.id, "stopping")
    for n in range(3):  # three servers die in it
        now = fake_clock.now()
        with app_db.write() as repos:
            assert repos.ecology.regroupings.claim(
                regrouping.id, f"dies-{n}", now, now - STALE_AFTER
            )
        fake_clock.advance(stale)
    runner = RegroupingRunner(app_db, name="here", clock=fake_clock)
    try:
        runner.resume()
        assert runner.wait_idle(30)
    finally:
        runner.close()
    with app_db.read() as repos:
        done = repos.ecology.regroupings.get(regrouping.id)
        assert repos.ecology.regroupings.claimable(fake_clock.now()) == []
    assert done is not None
    assert done.status is RegroupingStatus.FAILED
    assert (
        done.error
        == "the server running this regrouping stopped 3 times in it; the server log says why"
    )
