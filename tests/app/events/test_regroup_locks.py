"""Writers of a deployment's events take turns on PostgreSQL, never deadlock: a regrouping and a
tracking of the same event both hold the event's row before they write its occurrences; a
rule change and a regrouping's step both hold the project's row first."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import delete, update

from tests.support.databases import wait_for_a_lock_wait
from tests.support.protocol_client import Protocol
from tests.support.scenes import heron
from trapline.db.tables import OccurrenceRow, RegroupingRow
from trapline.db.types import utcnow
from trapline.domain.core.event_rules import EventRule, Grouping
from trapline.services.ecology import events

#: SQLite lets one writer in at a time: nothing to interleave.
pytestmark = pytest.mark.backend("postgres")


def test_a_regrouping_waits_for_a_tracking_of_the_event_it_replaces(proto: Protocol) -> None:
    db = proto.platform.db
    pond, event = heron(proto)
    # Every frame its own event: the heron's event is replaced, its occurrences handed over.
    with db.write() as repos:
        repos.ecology.events.set_project_rule(proto.project_id, Grouping(EventRule.SEQUENCE, 0))
    failed: list[BaseException] = []

    def regroup() -> None:
        try:
            with db.write() as repos:
                repos.ecology.events.regroup(pond)
        except BaseException as error:  # reported by the test's thread
            failed.append(error)

    regrouping = threading.Thread(target=regroup)
    with db.write() as repos:
        # A tracking of the event holds it, then rewrites its occurrences
        # (``OccurrenceRepo.replace``) while the regrouping waits.
        assert repos.ecology.occurrences.hold(event)
        regrouping.start()
        wait_for_a_lock_wait(db.engine, "the regrouping waiting on a lock")
        repos.session.execute(delete(OccurrenceRow).where(OccurrenceRow.event_id == event))
    regrouping.join(60)
    assert not regrouping.is_alive()
    assert failed == []
    events = proto.client.get(f"/api/v2/deployments/{pond}/events", headers=proto.headers)
    assert events.json()["count"] == 10


def test_a_deployments_rule_change_waits_for_a_regrouping_step(proto: Protocol) -> None:
    """A regrouping's step holds the project's row, its run's row, then the deployment's (to
    regroup it); a rule change that held the deployment's row first and then waited for the
    run's (to supersede it) deadlocked with it, and answered 503."""
    db = proto.platform.db
    pond, _ = heron(proto)
    with db.write() as repos:
        run = repos.ecology.regroupings.start(proto.project_id, pond, utcnow())
    failed: list[BaseException] = []

    def change_rule() -> None:
        assert owner is not None
        try:
            events.set_deployment_rule(db, owner, pond, Grouping(EventRule.SEQUENCE, 5))
        except BaseException as error:  # reported by the test's thread
            failed.append(error)

    with db.read() as repos:
        owner = repos.core.users.get(proto.account.id)
    changing = threading.Thread(target=change_rule)
    with db.write() as repos:
        # The step's order (``RegroupingRepo.step``): the project's row, then its run's.
        repos.core.projects.lock(proto.project_id)
        repos.session.execute(
            update(RegroupingRow).where(RegroupingRow.id == run.id).values(heartbeat_at=utcnow())
        )
        changing.start()
        wait_for_a_lock_wait(db.engine, "the rule change waiting on a lock")
        # Then the deployment's row, as regrouping it holds it.
        repos.ecology.events.grouping_of(pond, lock=True)
    changing.join(60)
    assert not changing.is_alive()
    assert failed == []
    with db.read() as repos:
        assert repos.ecology.events.grouping_of(pond) == Grouping(EventRule.SEQUENCE, 5)
