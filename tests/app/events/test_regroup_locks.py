"""A regrouping and a tracking of the same event take turns on PostgreSQL, never deadlock: both
hold the event's row before they write its occurrences."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import delete, text

from tests.support.protocol_client import Protocol
from tests.support.scenes import heron
from tests.support.waiting import wait_until
from trapline.db.tables import OccurrenceRow
from trapline.domain.events import EventRule, Grouping


def test_a_regrouping_waits_for_a_tracking_of_the_event_it_replaces(proto: Protocol) -> None:
    db = proto.platform.db
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite lets one writer in at a time: nothing to interleave")
    pond, event = heron(proto)
    # Every frame its own event: the heron's event is replaced, its occurrences handed over.
    with db.write() as repos:
        repos.events.set_project_rule(proto.project_id, Grouping(EventRule.SEQUENCE, 0))
    failed: list[BaseException] = []

    def regroup() -> None:
        try:
            with db.write() as repos:
                repos.events.regroup(pond)
        except BaseException as error:  # reported by the test's thread
            failed.append(error)

    regrouping = threading.Thread(target=regroup)
    with db.write() as repos:
        # A tracking of the event holds it, then rewrites its occurrences
        # (``OccurrenceRepo.replace``) while the regrouping waits.
        assert repos.occurrences.hold(event)
        regrouping.start()
        with db.engine.connect() as look:
            wait_until(
                lambda: look.scalar(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                        "AND datname = current_database()"
                    )
                ),
                "the regrouping waiting on a lock",
            )
        repos.session.execute(delete(OccurrenceRow).where(OccurrenceRow.event_id == event))
    regrouping.join(60)
    assert not regrouping.is_alive()
    assert failed == []
    events = proto.client.get(f"/api/v2/deployments/{pond}/events", headers=proto.headers)
    assert events.json()["count"] == 10
