"""Grouping photos into events: the night and sequence rules at their edges (noon, the night
the clocks change, a gap of exactly the limit), whether photos arrive one by one, in any
order, or many at once, and the same answer from a whole regrouping."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

import pytest
from sqlalchemy import text

from tests.support.accounts import Account
from tests.support.grouping import T0, add_photos, grouping_project, groups_of
from trapline.db.engine import Database
from trapline.domain.core.event_rules import EventRule, Grouping
from trapline.services.ecology import events

LONDON = "Europe/London"


def _regrouped(db: Database, deployment_id: int) -> list[list[int]]:
    with db.write() as repos:
        repos.ecology.events.regroup(deployment_id)
    return groups_of(db, deployment_id)


def test_a_gap_of_exactly_the_limit_stays_in_the_event(app_db: Database, owner: Account) -> None:
    project_id, deployment_id = grouping_project(app_db, owner, Grouping(EventRule.SEQUENCE, 60))
    a, b, c, d = add_photos(
        app_db,
        project_id,
        deployment_id,
        T0,
        T0 + timedelta(seconds=60),
        T0 + timedelta(seconds=120, milliseconds=1),
        T0 + timedelta(seconds=180, milliseconds=1),
    )
    assert groups_of(app_db, deployment_id) == [[a, b], [c, d]]
    assert _regrouped(app_db, deployment_id) == [[a, b], [c, d]]


def test_night_runs_from_local_noon_to_noon(app_db: Database, owner: Account) -> None:
    project_id, deployment_id = grouping_project(app_db, owner, Grouping(EventRule.NIGHT))
    noon = datetime(2024, 6, 21, 12, 0, 0)
    a, b, c, d = add_photos(
        app_db,
        project_id,
        deployment_id,
        noon - timedelta(microseconds=1),
        noon,
        noon + timedelta(hours=23, minutes=59),
        noon + timedelta(hours=24),
    )
    assert groups_of(app_db, deployment_id) == [[a], [b, c], [d]]
    assert _regrouped(app_db, deployment_id) == [[a], [b, c], [d]]


def test_the_night_the_clocks_go_forward_is_one_event(app_db: Database, owner: Account) -> None:
    """Europe/London skips 01:00-02:00 on 31 March 2024: the night is 23 hours long."""
    project_id, deployment_id = grouping_project(app_db, owner, Grouping(EventRule.NIGHT), LONDON)
    times = [datetime(2024, 3, 30, 20), datetime(2024, 3, 31, 0, 30), datetime(2024, 3, 31, 3)]
    times.append(datetime(2024, 3, 31, 11, 59))
    times.append(datetime(2024, 3, 31, 12, 0))
    ids = add_photos(app_db, project_id, deployment_id, *times, zone=LONDON)
    assert groups_of(app_db, deployment_id) == [ids[:4], ids[4:]]
    assert _regrouped(app_db, deployment_id) == [ids[:4], ids[4:]]


def test_sequence_gaps_are_between_instants_across_a_clock_change(
    app_db: Database, owner: Account
) -> None:
    """00:59:30 GMT and 02:00:10 BST are 40 s apart: one sequence."""
    project_id, deployment_id = grouping_project(
        app_db, owner, Grouping(EventRule.SEQUENCE, 60), LONDON
    )
    times = (datetime(2024, 3, 31, 0, 59, 30), datetime(2024, 3, 31, 2, 0, 10))
    ids = add_photos(app_db, project_id, deployment_id, *times, zone=LONDON)
    assert groups_of(app_db, deployment_id) == [ids]
    assert _regrouped(app_db, deployment_id) == [ids]


def test_photos_in_any_order_join_split_and_merge_events(app_db: Database, owner: Account) -> None:
    project_id, deployment_id = grouping_project(app_db, owner, Grouping(EventRule.SEQUENCE, 10))
    late, early = add_photos(app_db, project_id, deployment_id, T0 + timedelta(seconds=20), T0)
    assert groups_of(app_db, deployment_id) == [[early], [late]]
    (middle,) = add_photos(app_db, project_id, deployment_id, T0 + timedelta(seconds=10))
    assert groups_of(app_db, deployment_id) == [[early, middle, late]]
    (before,) = add_photos(app_db, project_id, deployment_id, T0 - timedelta(seconds=5))
    (after,) = add_photos(app_db, project_id, deployment_id, T0 + timedelta(seconds=100))
    assert groups_of(app_db, deployment_id) == [[before, early, middle, late], [after]]


def test_photos_without_a_time_or_a_deployment_belong_to_no_event(
    app_db: Database, owner: Account
) -> None:
    project_id, deployment_id = grouping_project(app_db, owner, Grouping(EventRule.SEQUENCE))
    (loose,) = add_photos(app_db, project_id, None, T0)
    with app_db.write() as repos:
        undated = repos.photos.images.insert(
            project_id=project_id,
            deployment_id=deployment_id,
            storage_key="k",
            filename="x",
            sha256="0" * 64,
            size_bytes=1,
            width=1,
            height=1,
            content_type="image/jpeg",
            captured_at=None,
        )
        assert undated is not None
        events.photos_added(repos, [undated.id])
    with app_db.read() as repos:
        assert repos.core.images.get(loose) is not None
        assert repos.core.images.get(loose).event_id is None  # type: ignore[union-attr]
        assert repos.core.images.get(undated.id).event_id is None  # type: ignore[union-attr]
    assert groups_of(app_db, deployment_id) == []


@pytest.mark.parametrize("count", [3, events.WHOLE_AFTER + 1])
def test_many_photos_at_once_group_like_one_by_one(
    app_db: Database, owner: Account, count: int
) -> None:
    project_id, deployment_id = grouping_project(app_db, owner, Grouping(EventRule.SEQUENCE, 30))
    times = [T0 + timedelta(seconds=20 * i + (100 if i >= count // 2 else 0)) for i in range(count)]
    with app_db.write() as repos:
        ids = []
        for i, moment in enumerate(times):
            sha = hashlib.sha256(f"{i}".encode()).hexdigest()
            image = repos.photos.images.insert(
                project_id=project_id,
                deployment_id=deployment_id,
                storage_key=sha,
                filename="x",
                sha256=sha,
                size_bytes=1,
                width=1,
                height=1,
                content_type="image/jpeg",
                captured_at=moment,
                captured_offset_minutes=0,
            )
            assert image is not None
            ids.append(image.id)
        events.photos_added(repos, ids)
    assert groups_of(app_db, deployment_id) == [ids[: count // 2], ids[count // 2 :]]


def _links(db: Database) -> list[tuple[int, int]]:
    """Every row of ``image_events``: (photo, event)."""
    with db.read() as repos:
        rows = repos.session.execute(
            text("SELECT image_id, event_id FROM image_events ORDER BY image_id")
        )
        return [(int(i), int(e)) for i, e in rows]


def test_deleting_photos_and_projects_leaves_no_event_link_behind(
    app_db: Database, owner: Account
) -> None:
    """A photo's link to its event has no key to the photo (decision 045): the delete takes
    it, and a project's delete takes its links with its events."""
    project_id, deployment_id = grouping_project(app_db, owner, Grouping(EventRule.SEQUENCE, 10))
    first, second, apart = add_photos(
        app_db, project_id, deployment_id, T0, T0 + timedelta(seconds=5), T0 + timedelta(hours=1)
    )
    assert [i for i, _ in _links(app_db)] == [first, second, apart]
    with app_db.write() as repos:
        image = repos.core.images.get(second)
        assert image is not None
        spans = events.photos_leaving(repos, [second])
        repos.photos.images.delete(image)
        # Gone with the photo, before its event is regrouped.
        gone = text("SELECT count(*) FROM image_events WHERE image_id = :i")
        assert repos.session.scalar(gone, {"i": second}) == 0
        events.photos_left(repos, spans)
    assert [i for i, _ in _links(app_db)] == [first, apart]
    assert groups_of(app_db, deployment_id) == [[first], [apart]]
    other_project, other_deployment = grouping_project(
        app_db, owner, Grouping(EventRule.SEQUENCE, 10)
    )
    (kept,) = add_photos(app_db, other_project, other_deployment, T0)
    with app_db.write() as repos:
        repos.core.projects.delete(project_id)
    assert [i for i, _ in _links(app_db)] == [kept]
