"""Annotations of every type, valid and invalid; artifacts; transitions; limits; reading."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest

from tests.support.accounts import Account
from tests.support.app_client import AppClient
from tests.support.callbacks import Pipeline, box, create_analysis, fresh_timestamp, png
from trapline.app import create_app
from trapline.db.types import utcnow
from trapline.platform import Platform
from trapline.protocol.callbacks import BulkIn
from trapline.services.callbacks.stuck_analyses import fail_stuck_analyses


def bulk(pipeline: Pipeline, aid: int, items: list[Any], mode: str = "append") -> Any:
    return pipeline.call(
        "POST",
        f"/analyses/{aid}/annotations:bulk",
        {"annotations": items, "mode": mode},
        timestamp=fresh_timestamp(),
    )


def uploaded(pipeline: Pipeline, client: AppClient, aid: int, kind: str = "heatmap") -> str:
    link = pipeline.call(
        "POST",
        f"/analyses/{aid}/artifacts/presign",
        {"artifact_type": kind, "filename": f"{kind}.png"},
        timestamp=fresh_timestamp(),
    ).json()
    put = client.put(link["upload_url"], content=png(), headers={"Content-Type": "image/png"})
    assert put.status_code == 201, put.text
    return str(link["storage_path"])


def valid_items(heat: str, mask: str) -> list[dict[str, Any]]:
    return [
        box(),
        {"annotation_type": "classification", "data": {"topk": [
            {"class": "Arctiidae", "confidence": 0.7}, {"class": "Noctuidae", "confidence": 0.2}]}},
        {"annotation_type": "classification", "class_name": "moth", "data": {"score": 0.4}},
        {"annotation_type": "heatmap", "storage_path": heat,
         "data": {"width": 32, "height": 24, "color_map": "jet"}},
        {"annotation_type": "segmentation", "class_name": "moth", "confidence": 0.6,
         "data": {"format": "rle", "counts": [0, 6, 2], "bbox": [1, 1, 4, 2], "area": 6,
                  "size": [2, 4]}},
        {"annotation_type": "mask", "storage_path": mask, "data": {"width": 32, "height": 24}},
        {"annotation_type": "keypoint", "class_name": "moth", "data": {
            "keypoints": [{"name": "head", "x": 10, "y": 10, "confidence": 0.9},
                          {"name": "tail", "x": 20, "y": 12}],
            "skeleton": [[0, 1]]}},
        {"annotation_type": "custom", "data": {"anything": [1, {"nested": True}]}},
    ]  # fmt: skip


def test_every_type_is_stored_and_listed_by_type_class_confidence_and_model(
    client: AppClient, owner: Account, project_id: int, analysis: int, pipeline: Pipeline
) -> None:
    items = valid_items(
        uploaded(pipeline, client, analysis), uploaded(pipeline, client, analysis, "mask")
    )
    answer = bulk(pipeline, analysis, items)
    assert answer.status_code == 200, answer.text
    stored = answer.json()["annotations"]
    assert [a["annotation_type"] for a in stored] == [i["annotation_type"] for i in items]
    assert stored[1]["class_name"] == "Arctiidae"
    assert stored[1]["confidence"] == 0.7
    assert stored[0]["data"]["x_max"] == 50

    def listed(**query: Any) -> list[dict[str, Any]]:
        page = client.get(
            f"/api/v2/projects/{project_id}/annotations", params=query, headers=owner.headers
        )
        assert page.status_code == 200, page.text
        return list(page.json()["results"])

    for kind in ("heatmap", "mask", "keypoint", "custom", "segmentation"):
        (found,) = listed(type=kind)
        assert found["type"] == kind
    assert len(listed(label="moth")) == 4
    assert len(listed(min_confidence=0.65)) == 2
    assert len(listed(model="moth-detector")) == len(items)
    assert listed(model="another") == []


BAD: list[tuple[dict[str, Any], str]] = [
    (box(x2=400), "annotations[0].data.x_max"),
    (box(x1=-1), "annotations[0].data.x_min"),
    (box(x1=60, x2=50), "annotations[0].data.x_min"),
    ({**box(), "confidence": 1.5}, "annotations[0].confidence"),
    ({"annotation_type": "bounding_box", "data": {"x_min": 1}}, "annotations[0].data.y_min"),
    ({"annotation_type": "classification", "data": {}}, "annotations[0].data"),
    ({"annotation_type": "classification", "data": {"topk": [{"class": "a", "confidence": 2}]}},
     "annotations[0].data.topk.0.confidence"),
    ({"annotation_type": "heatmap", "data": {"width": 1, "height": 1, "color_map": "x"}},
     "annotations[0].storage_path"),
    ({"annotation_type": "segmentation",
      "data": {"format": "polygon", "counts": "x", "bbox": [0, 0, 1, 1], "area": 1}},
     "annotations[0].data.format"),
    ({"annotation_type": "segmentation",
      "data": {"format": "rle", "counts": [1], "bbox": [0, 0, 999, 1], "area": 1}},
     "annotations[0].data.bbox"),
    # One count written in 300,000 continued groups: a huge number, slow to build (refused).
    ({"annotation_type": "segmentation",
      "data": {"format": "rle", "counts": "o" * 300_000 + "0", "bbox": [0, 0, 1, 1], "area": 1}},
     "annotations[0].data.counts: a count of the RLE string is longer than 8 groups"),
    ({"annotation_type": "segmentation",
      "data": {"format": "rle", "counts": "0" * 1_000_001, "bbox": [0, 0, 1, 1], "area": 1}},
     "annotations[0].data.counts"),
    # More pixels than the image (no size given: the image's own grid) or than its size.
    ({"annotation_type": "segmentation",
      "data": {"format": "rle", "counts": [0, 10**9], "bbox": [0, 0, 1, 1], "area": 1}},
     "annotations[0].data.counts: the runs add up to 1000000000 pixels"),
    ({"annotation_type": "segmentation",
      "data": {"format": "rle", "counts": "0e1", "bbox": [0, 0, 1, 1], "area": 1,
               "size": [2, 4]}},
     "annotations[0].data.counts: the runs add up to"),
    ({"annotation_type": "mask", "storage_path": "artifacts/1/1/mask/x.png",
      "data": {"width": 0, "height": 1}},
     "annotations[0].data.width"),
    ({"annotation_type": "keypoint",
      "data": {"keypoints": [{"name": "a", "x": 1, "y": 1}], "skeleton": [[0, 3]]}},
     "annotations[0].data"),
    ({"annotation_type": "keypoint", "data": {"keypoints": [{"name": "a", "x": 1000, "y": 1}]}},
     "annotations[0].data.keypoints[0]"),
    ({"annotation_type": "custom", "data": [1, 2]}, "annotations[0].data"),
    ({"annotation_type": "polygon", "data": {}}, "annotations[0].annotation_type"),
    ({"data": {}}, "annotations[0].annotation_type"),
]  # fmt: skip


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_bad_item_is_named_by_index_and_field(
    client: AppClient, analysis: int, pipeline: Pipeline
) -> None:
    for item, where in BAD:
        answer = bulk(pipeline, analysis, [box(1, 1, 2, 2), item])
        where = where.replace("annotations[0]", "annotations[1]")
        assert answer.status_code == 400, (item, answer.text)
        assert answer.json()["detail"].startswith(where), (where, answer.json()["detail"])
    # Nothing of a refused post is stored.
    assert bulk(pipeline, analysis, [box(1, 1, 2, 2)]).json()["total"] == 1


def test_storage_paths_must_be_uploaded_artifacts_of_the_same_analysis(
    client: AppClient, owner: Account, image_id: int, analysis: int, pipeline: Pipeline
) -> None:
    heat = {"width": 32, "height": 24, "color_map": "jet"}
    link = pipeline.call(
        "POST", f"/analyses/{analysis}/artifacts/presign",
        {"artifact_type": "heatmap", "filename": "h.png"}, timestamp=fresh_timestamp(),
    ).json()  # fmt: skip
    not_uploaded = bulk(
        pipeline,
        analysis,
        [{"annotation_type": "heatmap", "storage_path": link["storage_path"], "data": heat}],
    )
    assert not_uploaded.status_code == 400
    assert "nothing was uploaded there yet" in not_uploaded.json()["detail"]
    other = create_analysis(client, owner, image_id).json()["id"]
    theirs = uploaded(pipeline, client, other)
    foreign = bulk(
        pipeline, analysis, [{"annotation_type": "heatmap", "storage_path": theirs, "data": heat}]
    )
    assert foreign.status_code == 400
    assert foreign.json()["detail"].startswith(
        "annotations[0].storage_path: is not an artifact of analysis"
    )
    # An upload link writes once, with its content type only.
    again = client.put(link["upload_url"], content=b"x", headers={"Content-Type": "text/plain"})
    assert again.status_code == 415
    first = client.put(link["upload_url"], content=png(), headers={"Content-Type": "image/png"})
    assert first.status_code == 201
    second = client.put(link["upload_url"], content=png(), headers={"Content-Type": "image/png"})
    assert second.status_code == 409


def test_every_illegal_transition_is_409(
    client: AppClient, owner: Account, image_id: int, pipeline: Pipeline
) -> None:
    def fresh(status_path: list[str]) -> int:
        aid = int(create_analysis(client, owner, image_id).json()["id"])
        for status in status_path:
            moved = pipeline.call(
                "PATCH", f"/analyses/{aid}/status", {"status": status}, timestamp=fresh_timestamp()
            )
            assert moved.status_code == 200, moved.text
        return aid

    illegal = [
        (["processing"], "queued"),
        (["completed"], "processing"),
        (["completed"], "failed"),
        (["completed"], "queued"),
        (["failed"], "completed"),
        (["failed"], "processing"),
        (["processing", "completed"], "failed"),
    ]
    for path, wanted in illegal:
        aid = fresh(path)
        answer = pipeline.call(
            "PATCH", f"/analyses/{aid}/status", {"status": wanted}, timestamp=fresh_timestamp()
        )
        assert answer.status_code == 409, (path, wanted, answer.text)
        assert answer.json()["code"] == "illegal_transition"
    # Finalize: the fast path from queued, a no-op when repeated, 409 the other way.
    aid = fresh([])
    done = pipeline.call(
        "POST", f"/analyses/{aid}/finalize", {"status": "completed"}, timestamp=fresh_timestamp()
    )
    assert done.status_code == 200
    assert (
        pipeline.call(
            "POST",
            f"/analyses/{aid}/finalize",
            {"status": "completed"},
            timestamp=fresh_timestamp(),
        ).status_code
        == 200
    )
    assert (
        pipeline.call(
            "POST",
            f"/analyses/{aid}/finalize",
            {"status": "failed", "error_message": "x"},
            timestamp=fresh_timestamp(),
        ).status_code
        == 409
    )
    assert bulk(pipeline, aid, [box()]).status_code == 409
    failed = pipeline.call(
        "POST",
        f"/analyses/{fresh([])}/finalize",
        {"status": "failed", "error_message": "GPU fell over"},
        timestamp=fresh_timestamp(),
    )
    assert failed.json()["status"] == "failed"
    assert failed.json()["error_message"] == "GPU fell over"


def test_limits_models_and_access(
    client: AppClient,
    owner: Account,
    image_id: int,
    platform: Platform,
    make_account,
    project_id: int,
) -> None:
    strict = platform.settings.updated(
        ml_allowed_models=["moth-detector"],
        ml_max_analyses_per_image=2,
        ml_max_bulk_annotations=3,
    )
    limited = Platform.from_settings(strict, db=platform.db)
    try:
        with AppClient(create_app(limited)) as server:
            other = create_analysis(server, owner, image_id, model_name="other-model")
            assert other.status_code == 400
            assert "allowed models: moth-detector" in other.json()["detail"]
            first = create_analysis(server, owner, image_id)
            assert create_analysis(server, owner, image_id).status_code == 201
            over = create_analysis(server, owner, image_id)
            assert over.status_code == 429, over.text
            pipe = Pipeline(server)
            too_many = bulk(pipe, first.json()["id"], [box(1, 1, 2, 2 + n) for n in range(4)])
            assert too_many.status_code == 413
            assert "at most 3 annotations per request" in too_many.json()["detail"]
    finally:
        limited.close()
    stranger = make_account("stranger")
    foreign = client.post(
        f"/api/images/{image_id}/analyses", json={"model_name": "m"}, headers=stranger.headers
    )
    missing = client.post(
        "/api/images/999999/analyses", json={"model_name": "m"}, headers=stranger.headers
    )
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json()["detail"] == f"image {image_id} not found"
    viewer = make_account("viewer")
    added = client.post(
        f"/api/v2/projects/{project_id}/members",
        json={"email": viewer.email, "role": "viewer"},
        headers=owner.headers,
    )
    assert added.status_code in (200, 201), added.text
    assert (
        client.post(
            f"/api/images/{image_id}/analyses", json={"model_name": "m"}, headers=viewer.headers
        ).status_code
        == 403
    )
    listed = client.get(f"/api/images/{image_id}/analyses", headers=viewer.headers)
    assert listed.status_code == 200
    assert len(listed.json()) == 2


def test_replace_mode_and_concurrent_identical_posts_store_one_copy(
    client: AppClient, analysis: int, pipeline: Pipeline, platform: Platform
) -> None:
    items = [box(1, 1, 2 + n, 3) for n in range(50)]
    with platform.db.read() as repos:
        target = repos.processing.analyses.get(analysis)
    assert target is not None
    body = BulkIn(annotations=items)
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def post() -> None:
        try:
            barrier.wait(timeout=30)
            platform.callbacks.bulk(target, body)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=post) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    with platform.db.read() as repos:
        assert repos.processing.analyses.count_annotations(analysis) == 50
    replaced = bulk(pipeline, analysis, [box()], mode="replace")
    assert replaced.json()["total"] == 1


def test_stuck_analyses_are_failed_with_a_reason(
    client: AppClient, owner: Account, image_id: int, platform: Platform, pipeline: Pipeline
) -> None:
    old = int(create_analysis(client, owner, image_id).json()["id"])
    moving = int(create_analysis(client, owner, image_id).json()["id"])
    pipeline.call(
        "PATCH", f"/analyses/{moving}/status", {"status": "processing"}, timestamp=fresh_timestamp()
    )
    done = int(create_analysis(client, owner, image_id).json()["id"])
    pipeline.call(
        "POST", f"/analyses/{done}/finalize", {"status": "completed"}, timestamp=fresh_timestamp()
    )
    settings = platform.settings.updated(ml_stuck_analysis_seconds=3600)
    with platform.db.write() as repos:
        from sqlalchemy import update

        from trapline.db.tables import AnalysisRow

        repos.session.execute(update(AnalysisRow).values(updated_at=utcnow() - timedelta(hours=2)))
    fail_stuck_analyses(platform.db, settings.callbacks, platform.clock)
    read = {
        aid: client.get(f"/api/analyses/{aid}", headers=owner.headers).json()
        for aid in (old, moving, done)
    }
    assert read[old]["status"] == read[moving]["status"] == "failed"
    assert "no word from the pipeline" in read[old]["error_message"]
    assert read[done]["status"] == "completed"
