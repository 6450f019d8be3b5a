"""The grid's result filters read what each photo's current results found, kept as results
arrive (``photo_findings``, ``photo_labels``): they answer exactly as reading the current results
themselves does, through re-runs, a newer version, a pin and its removal, a move and a delete;
a project whose findings are being worked out again reads the results meanwhile; and the kept
filters' statements read no analysis or annotation (EXPLAIN, both databases)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from tests.support.protocol import LABELS, pipeline_config
from tests.support.protocol_client import Protocol, api_get, run_boxes
from tests.support.statements import plan_of
from trapline.cli import app
from trapline.db.image_filters import filtered
from trapline.db.photo_findings import (
    findings_kept,
    project_findings_due,
    projects_rebuilding,
    rebuild_step,
)
from trapline.db.tables import PhotoFindingRow, PhotoLabelRow
from trapline.domain.core import paging
from trapline.domain.core.paging import Cursor, ImageOrder
from trapline.domain.core.records import ImageFilter
from trapline.services.photos import findings
from trapline.services.photos.findings import rebuild_findings

API = "/api/v2"
ORDER = ImageOrder.CAPTURED_DESC


def _filters(deployments: list[int]) -> dict[str, ImageFilter]:
    base = {
        "with": ImageFilter(has_detections=True),
        "without": ImageFilter(has_detections=False),
        "sure": ImageFilter(min_confidence=0.8),
        "sure without": ImageFilter(min_confidence=0.8, has_detections=False),
        **{label: ImageFilter(label=label) for label in LABELS},
        "sure moth": ImageFilter(label="moth", min_confidence=0.8),
        "moth without": ImageFilter(label="moth", has_detections=False),
        "named": ImageFilter(label="moth", filename_contains="3"),
    }
    narrowed = {
        f"{name} in {d}": replace(flt, deployment_id=d)
        for name, flt in base.items()
        for d in deployments
    }
    return base | narrowed


def _answers(proto: Protocol, filters: dict[str, ImageFilter]) -> dict[str, Any]:
    """Each filter's count, its photos in the grid's order, and the walk back from the last."""
    pid = proto.project_id
    answers: dict[str, Any] = {}
    with proto.platform.db.read() as repos:
        for name, flt in filters.items():
            page, _ = repos.photos.images.page(pid, flt, order=ORDER, limit=100)
            ids = [i.id for i in page]
            back: list[int] = []
            if page:
                last = page[-1]
                cursor = Cursor(last.captured_at, last.id, backwards=True)
                before, _ = repos.photos.images.page(
                    pid, flt, order=ORDER, limit=100, cursor=cursor
                )
                back = [i.id for i in before]
            answers[name] = (repos.photos.images.count(pid, flt), ids, back)
    return answers


def _kept(proto: Protocol) -> bool:
    with proto.platform.db.read() as repos:
        return findings_kept(repos.session, proto.project_id)


def _read_live(proto: Protocol, filters: dict[str, ImageFilter]) -> dict[str, Any]:
    """The answers read from the current results themselves (the project marked for its
    findings to be worked out again), then worked out again."""
    with proto.platform.db.write() as repos:
        project_findings_due(repos.session, proto.project_id)
    assert not _kept(proto)
    live = _answers(proto, filters)
    assert rebuild_findings(proto.platform.db) == [proto.project_id]
    assert _kept(proto)
    return live


def test_kept_findings_answer_as_the_results_do(proto: Protocol) -> None:
    trap_a, trap_b = proto.deployment("Trap A"), proto.deployment("Trap B")
    a = proto.images(4, deployment_id=str(trap_a))
    b = proto.images(4, deployment_id=str(trap_b))
    filters = _filters([trap_a, trap_b])
    assert proto.register(pipeline_config(version=1)).status_code in (200, 201)
    run_boxes(
        proto,
        {
            a[0]: [("moth", 0.9), ("fly", 0.6)],
            a[1]: [("moth", 0.5)],
            a[2]: [],
            a[3]: [],
            b[0]: [("beetle", 0.95)],
            b[1]: [("moth", 0.85), ("moth", 0.4)],
        },
    )
    first = _answers(proto, filters)
    assert first["with"][0] == 4
    assert first["without"][0] == 4
    assert set(first["moth"][1]) == {a[0], a[1], b[1]}
    assert set(first["sure moth"][1]) == {a[0], b[1]}
    assert first[f"without in {trap_b}"][0] == 2
    assert first == _read_live(proto, filters)

    # A newer version on some photos: theirs are current there, the old run's elsewhere.
    assert proto.register(pipeline_config(version=2)).status_code in (200, 201)
    run_boxes(proto, {a[0]: [], b[2]: [("fly", 0.99)], b[3]: [("moth", 0.7)]})
    newer = _answers(proto, filters)
    assert a[0] not in newer["with"][1]
    assert a[0] in newer["without"][1]
    assert set(newer["moth"][1]) == {a[1], b[1], b[3]}
    assert set(newer["fly"][1]) == {b[2]}
    assert newer == _read_live(proto, filters)

    # Pinning the first version marks the project; its filters read the results meanwhile.
    pins = f"{API}/projects/{proto.project_id}/pinned-pipelines/{pipeline_config()['slug']}"
    put = proto.client.put(pins, json={"version": 1}, headers=proto.headers)
    assert put.status_code == 204, put.text
    assert not _kept(proto)
    pinned = _answers(proto, filters)
    assert set(pinned["fly"][1]) == {a[0]}
    assert rebuild_findings(proto.platform.db) == [proto.project_id]
    assert _answers(proto, filters) == pinned
    assert proto.client.delete(pins, headers=proto.headers).status_code == 204
    assert rebuild_findings(proto.platform.db) == [proto.project_id]
    assert _answers(proto, filters) == newer

    # A photo moved to the other trap is found there; a deleted one nowhere.
    moved = proto.client.post(
        f"{API}/projects/{proto.project_id}/images/move",
        json={"image_ids": [b[1]], "deployment_id": trap_a},
        headers=proto.headers,
    )
    assert moved.status_code == 200, moved.text
    after_move = _answers(proto, filters)
    assert b[1] in after_move[f"moth in {trap_a}"][1]
    assert b[1] not in after_move[f"moth in {trap_b}"][1]
    assert after_move == _read_live(proto, filters)
    gone = proto.client.delete(f"{API}/images/{b[1]}", headers=proto.headers)
    assert gone.status_code == 204, gone.text
    with proto.platform.db.read() as repos:
        for table in (PhotoFindingRow, PhotoLabelRow):
            assert repos.session.scalars(select(table).where(table.image_id == b[1])).all() == []
    assert _answers(proto, filters) == _read_live(proto, filters)
    # A deleted deployment's photos stay, in none.
    dropped = proto.client.delete(f"{API}/deployments/{trap_a}", headers=proto.headers)
    assert dropped.status_code == 204, dropped.text
    with proto.platform.db.read() as repos:
        for table in (PhotoFindingRow, PhotoLabelRow):
            held = select(table).where(table.deployment_id == trap_a)
            assert repos.session.scalars(held).all() == []
    assert _answers(proto, filters) == _read_live(proto, filters)


def test_a_rebuild_goes_on_from_where_it_stopped_and_starts_over_when_marked_again(
    proto: Protocol,
) -> None:
    photos = proto.images(5)
    assert proto.register(pipeline_config()).status_code in (200, 201)
    run_boxes(proto, {i: [("moth", 0.9)] for i in photos})
    with proto.platform.db.write() as repos:
        project_findings_due(repos.session, proto.project_id)
    with proto.platform.db.write() as repos:
        reached = rebuild_step(repos.session, proto.project_id, 0, limit=2)
    assert reached == sorted(photos)[1]
    with proto.platform.db.read() as repos:
        assert projects_rebuilding(repos.session) == [(proto.project_id, reached)]
    # Marked again midway (a pin): a step from the old place changes nothing and says so.
    with proto.platform.db.write() as repos:
        project_findings_due(repos.session, proto.project_id)
    with proto.platform.db.write() as repos:
        assert rebuild_step(repos.session, proto.project_id, reached, limit=2) == 0
    # The server's findings duty finishes it.
    assert "findings" in proto.platform.duties.run_once()
    assert _kept(proto)
    assert _answers(proto, {"moth": ImageFilter(label="moth")})["moth"][0] == 5


def test_the_admin_command_works_findings_out_with_progress(
    proto: Protocol, database_url: str, tmp_path: Path
) -> None:
    photos = proto.images(3)
    assert proto.register(pipeline_config()).status_code in (200, 201)
    run_boxes(proto, {i: [("fly", 0.7)] for i in photos})
    with proto.platform.db.write() as repos:
        project_findings_due(repos.session, proto.project_id)
    args = ["admin", "rebuild-findings", "--database-url", database_url]
    data = ["--data-dir", str(tmp_path / "data")]
    printed = CliRunner().invoke(app, [*args, *data, "--project", str(proto.project_id)])
    assert printed.exit_code == 0, printed.output
    assert f"project {proto.project_id}: done" in printed.stderr
    assert f"findings worked out again for projects {proto.project_id}" in printed.stdout
    assert _kept(proto)
    assert _answers(proto, {"fly": ImageFilter(label="fly")})["fly"][0] == 3
    again = CliRunner().invoke(app, [*args, *data])
    assert again.exit_code == 0, again.output
    assert "no project needed its findings worked out again" in again.stdout


def _plan(proto: Protocol, flt: ImageFilter) -> str:
    """The database's plan of the filter's page statement."""
    with proto.platform.db.read() as repos:
        images = repos.photos.images
        walked = images._walk(proto.project_id, flt)
        query = filtered(select(func.count()), proto.project_id, flt, None, walked)
        return plan_of(repos.session, query)


@pytest.mark.parametrize(
    "flt",
    [
        ImageFilter(has_detections=True),
        ImageFilter(has_detections=False),
        ImageFilter(label="moth"),
        ImageFilter(label="moth", min_confidence=0.5, deployment_id=1),
        ImageFilter(min_confidence=0.5),
    ],
    ids=["with", "without", "label", "label-sure-deployment", "sure"],
)
def test_kept_filters_read_no_analysis_or_annotation(proto: Protocol, flt: ImageFilter) -> None:
    photos = proto.images(2)
    assert proto.register(pipeline_config()).status_code in (200, 201)
    run_boxes(proto, {photos[0]: [("moth", 0.9)]})
    assert _kept(proto)
    plan = _plan(proto, flt)
    assert "analyses" not in plan, plan
    assert "annotations" not in plan, plan
    assert "photo_" in plan, plan
    with proto.platform.db.write() as repos:
        project_findings_due(repos.session, proto.project_id)
    assert "annotations" in _plan(proto, flt)  # meanwhile the results themselves are read


def test_one_projects_failing_rebuild_holds_up_no_other(
    proto: Protocol, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    proto.images(2)
    made = proto.client.post(f"{API}/projects/", json={"name": "Other"}, headers=proto.headers)
    assert made.status_code == 201, made.text
    other = int(made.json()["id"])
    with proto.platform.db.write() as repos:
        for project in (proto.project_id, other):
            project_findings_due(repos.session, project)
    real = findings.rebuild_step

    def failing(session: Any, project_id: int, after: int, limit: int = 500) -> int | None:
        if project_id == min(proto.project_id, other):
            raise RuntimeError("disk full")
        return real(session, project_id, after, limit)

    monkeypatch.setattr(findings, "rebuild_step", failing)
    assert rebuild_findings(proto.platform.db) == [max(proto.project_id, other)]
    assert "a batch after photo 0 failed" in caplog.text
    monkeypatch.setattr(findings, "rebuild_step", real)
    assert rebuild_findings(proto.platform.db) == [min(proto.project_id, other)]


def test_the_api_counts_a_filters_matches_as_far_as_its_cap(
    proto: Protocol, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An API image listing filtered by results counts its matches only as far as the cap (a
    project holds millions of photos): past it ``count`` is null, and the cursors still walk
    every match; the unfiltered listing reads the project's counter, exact at any size."""
    photos = proto.images(5, names=[f"pond-{n}.jpg" for n in range(4)] + ["lake.jpg"])
    assert proto.register(pipeline_config(version=1)).status_code in (200, 201)
    run_boxes(proto, {p: [("moth", 0.9)] for p in photos[:4]} | {photos[4]: []})
    monkeypatch.setattr(paging, "COUNTED_UP_TO", 3)
    listing = f"/projects/{proto.project_id}/images"

    def walked(**params: Any) -> tuple[int | None, list[int]]:
        page = api_get(proto, listing, limit=2, **params)
        count, seen = page["count"], [i["id"] for i in page["results"]]
        while page["next"]:
            page = proto.client.get(page["next"], headers=proto.headers).json()
            assert page["count"] == count
            seen += [i["id"] for i in page["results"]]
        return count, seen

    # Counted alone from the kept findings, and with the photos (a file name).
    for params in ({"has_detections": "true"}, {"label": "moth", "filename": "pond"}):
        count, seen = walked(**params)
        assert count is None, params
        assert sorted(seen) == sorted(photos[:4]), params
    assert walked(has_detections="false") == (1, [photos[4]])
    assert walked(label="moth", filename="pond-1")[0] == 1
    assert walked()[0] == 5
    monkeypatch.setattr(paging, "COUNTED_UP_TO", 4)
    assert walked(has_detections="true")[0] == 4
