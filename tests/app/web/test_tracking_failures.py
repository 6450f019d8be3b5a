"""One event whose tracking fails stops no other: the failure is recorded on the event (API and
pages), the event waits out a backoff, every other event of every project is tracked
meanwhile; a tracking its server died in is not taken again at once on restart."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from alembic import command
from sqlalchemy import text

from tests.support.analysis_scene import LEFT
from tests.support.protocol_client import Protocol, api_get, api_post
from tests.support.scenes import (
    add_frames,
    event_of,
    heron,
    import_md,
    new_deployment,
    occurrences_of,
    track_all,
)
from trapline.db import migrate
from trapline.db.types import utcnow
from trapline.services.ecology.tracking import TRACKING_RETRY, track_due


def _plant_a_crossing_link(proto: Protocol, event: int) -> tuple[int, int, int]:
    """Link one detection of the event to an occurrence of another event (what regroupings
    left before their hand-over parted occurrences) and make the event due: its tracking then
    fails on the detection's one link. The detection, its occurrence and the other one."""
    db = proto.platform.db
    with db.write() as repos:
        session = repos.session
        detection, home = session.execute(
            text(
                "SELECT od.annotation_id, od.occurrence_id FROM occurrence_detections od"
                " JOIN occurrences o ON o.id = od.occurrence_id WHERE o.event_id = :event"
                " ORDER BY od.annotation_id LIMIT 1"
            ),
            {"event": event},
        ).one()
        elsewhere = session.execute(
            text(
                "SELECT id FROM occurrences WHERE event_id <> :event AND project_id ="
                " (SELECT project_id FROM events WHERE id = :event) LIMIT 1"
            ),
            {"event": event},
        ).scalar_one()
        session.execute(
            text("UPDATE occurrence_detections SET occurrence_id = :o WHERE annotation_id = :a"),
            {"o": elsewhere, "a": detection},
        )
        session.execute(
            text("UPDATE events SET tracking_version = tracking_version + 1 WHERE id = :e"),
            {"e": event},
        )
    return int(detection), int(home), int(elsewhere)


def _marsh(proto: Protocol) -> int:
    """A second deployment of the project, one frame with one box, tracked: another event
    (its id)."""
    marsh = new_deployment(proto, "Marsh")
    add_frames(proto, marsh, 1, timedelta(seconds=1), size=(640, 480), seed=8)
    import_md(proto, {"Marsh/frame-00.jpg": [{"category": "1", "conf": 0.9, "bbox": LEFT}]})
    assert track_all(proto) == 1
    return event_of(proto, marsh)


def test_a_failing_event_is_recorded_backed_off_and_stops_no_other_project(
    proto: Protocol, sign_in: Callable[..., Any]
) -> None:
    db, store = proto.platform.db, proto.platform.store
    _, failing = heron(proto)
    _marsh(proto)
    detection, home, _ = _plant_a_crossing_link(proto, failing)
    # Another project's results arrive meanwhile.
    other = api_post(proto, "/projects", {"name": "Other"}, 201)["id"]
    neighbour = proto.in_project(other)
    now = utcnow()
    # Its heron is tracked although the planted event, first in line, fails.
    _, tracked_elsewhere = heron(neighbour)  # tracks every event due (``track_all``)
    assert [o["detection_count"] for o in occurrences_of(neighbour, tracked_elsewhere)] == [10, 1]

    shown = api_get(proto, f"/events/{failing}")
    assert "IntegrityError" in shown["tracking_error"], shown
    assert shown["occurrences_pending"] is True
    assert shown["tracking_retry_at"] is not None
    # It keeps the occurrences of its last tracking meanwhile.
    assert sorted(o["detection_count"] for o in occurrences_of(proto, failing)) == [1, 10]

    # Backed off: not taken again before its time, and the run goes on without error.
    later = now + TRACKING_RETRY.delay(1) - timedelta(seconds=5)
    assert track_due(db, store, now=later) == 0
    with db.read() as repos:
        assert repos.ecology.tracking.due(100, later, later) == []
    # Taken again once it is due, failing again: the wait doubles.
    again = now + TRACKING_RETRY.delay(1) + timedelta(seconds=5)
    assert track_due(db, store, now=again) == 0
    with db.read() as repos:
        event = repos.ecology.events.get(failing)
    assert event is not None
    assert event.tracking_retry_at is not None
    assert event.tracking_retry_at - again == TRACKING_RETRY.delay(2)

    # The pages say so: the event's, and its deployment's list of events.
    browser = sign_in(proto.account)
    page = browser.page(f"/events/{failing}")
    assert 'id="tracking-error"' in page
    assert "Tracking this event failed: IntegrityError" in page
    deployment = api_get(proto, f"/events/{failing}")["deployment_id"]
    assert "(tracking failed; tried again later)" in browser.page(f"/deployments/{deployment}")

    # Mended (the link back where it belongs), it is tracked at its next try and the error goes.
    with db.write() as repos:
        repos.session.execute(
            text("UPDATE occurrence_detections SET occurrence_id = :o WHERE annotation_id = :a"),
            {"o": home, "a": detection},
        )
    mended = again + TRACKING_RETRY.delay(2) + timedelta(seconds=5)
    assert track_due(db, store, now=mended) == 1
    shown = api_get(proto, f"/events/{failing}")
    assert (shown["tracking_error"], shown["tracking_retry_at"]) == (None, None)
    assert shown["occurrences_pending"] is False
    assert sorted(o["detection_count"] for o in occurrences_of(proto, failing)) == [1, 10]


def test_events_that_failed_come_after_the_others(proto: Protocol) -> None:
    """A run takes the events tried least first: events that keep failing, however early
    their ids, never take every place of a run while others wait."""
    db, store = proto.platform.db, proto.platform.store
    _, failing = heron(proto)
    marsh = _marsh(proto)
    _plant_a_crossing_link(proto, failing)
    now = utcnow()
    assert track_due(db, store, now=now) == 0  # the planted event fails
    with db.write() as repos:  # both due, the failing one's backoff past
        repos.session.execute(
            text("UPDATE events SET tracking_version = tracking_version + 1 WHERE id = :e"),
            {"e": marsh},
        )
    later = now + TRACKING_RETRY.delay(1) + timedelta(seconds=5)
    assert failing < marsh
    with db.read() as repos:
        assert [e for e, _ in repos.ecology.tracking.due(1, later, later)] == [marsh]
    assert track_due(db, store, limit=1, now=later) == 1


def test_a_tracking_its_server_died_in_is_not_taken_again_at_once(proto: Protocol) -> None:
    """The backoff is written before a tracking begins: a server that died in it (and so
    never recorded a failure) leaves the event waiting out the backoff after its restart,
    instead of taking it again at once and dying again."""
    db, store = proto.platform.db, proto.platform.store
    _, event = heron(proto)
    with db.write() as repos:
        repos.session.execute(
            text("UPDATE events SET tracking_version = tracking_version + 1 WHERE id = :e"),
            {"e": event},
        )
    now = utcnow()
    with db.write() as repos:  # what the server that died did before it died
        repos.ecology.tracking.begin(event, now, TRACKING_RETRY)
    assert track_due(db, store, now=now + timedelta(seconds=1)) == 0  # the restarted server
    shown = api_get(proto, f"/events/{event}")
    assert shown["tracking_error"] is None  # nothing was said: it died
    assert shown["tracking_retry_at"] is not None
    assert track_due(db, store, now=now + TRACKING_RETRY.delay(1) + timedelta(seconds=1)) == 1
    assert api_get(proto, f"/events/{event}")["tracking_retry_at"] is None


def test_the_upgrade_mends_the_links_earlier_regroupings_left(proto: Protocol) -> None:
    """A database whose regroupings left an occurrence linked to a detection of another event
    (before 0037): the upgrade removes the crossing link and makes both events due, and both
    are tracked without error."""
    db, store = proto.platform.db, proto.platform.store
    _, event = heron(proto)
    _marsh(proto)
    config, connection = migrate.alembic_config(db.engine)
    try:
        command.downgrade(config, "0036")
    finally:
        connection.close()  # type: ignore[attr-defined]
    detection, _, elsewhere = _plant_a_crossing_link(proto, event)
    with db.write() as repos:  # only the stray link's events are due after the upgrade
        repos.session.execute(text("UPDATE events SET tracked_version = tracking_version"))
    migrate.upgrade(db.engine)

    with db.read() as repos:
        held = repos.session.execute(
            text("SELECT occurrence_id FROM occurrence_detections WHERE annotation_id = :a"),
            {"a": detection},
        ).all()
        marsh = repos.session.execute(
            text("SELECT event_id FROM occurrences WHERE id = :o"), {"o": elsewhere}
        ).scalar_one()
        due = repos.ecology.tracking.due(100, utcnow(), utcnow())
    assert held == []
    assert sorted(e for e, _ in due) == sorted([event, marsh])
    assert track_due(db, store) == 2
    assert api_get(proto, f"/events/{event}")["tracking_error"] is None
    assert sorted(o["detection_count"] for o in occurrences_of(proto, event)) == [1, 10]
