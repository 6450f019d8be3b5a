"""Promoting a refit (issue "People teach the models"): a person promotes a fitted refit, which
becomes the next version of the project's ``<features>-refit`` pipeline and runs at once over
the current boxes of the pipeline whose features it reads, run by the platform itself (no new
detection, no photo read). Its run counts nowhere until a person chooses it, and then people's
identifications still name what they named. Promotion is the only way a refit reaches a run.

The scene: ``tests/support/refit_scene.py`` (nine nights, eight herons and egrets whose vectors
tell them apart, and one little egret, too few to learn).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from tests.support.accounts import Account
from tests.support.protocol import PIPELINE_SLUG
from tests.support.protocol_client import Protocol, api_get
from tests.support.refit_scene import (
    NIGHTS,
    ask_refit,
    fitted,
    identify_nights,
    night_scene,
    night_taxon,
)
from tests.support.refusals import answered_as_missing, refused
from tests.support.scenes import API, species_rows, track_all
from trapline.background.refit_jobs import run_refit_jobs
from trapline.db.tables import ClassifierRow
from trapline.services.review.crop_features import Photos

REFIT = f"{PIPELINE_SLUG}-refit"


def _fitted_refit(proto: Protocol) -> tuple[list[int], int]:
    detections = night_scene(proto)
    identify_nights(proto, detections, range(NIGHTS))
    made = ask_refit(proto)
    assert made.status_code == 202, made.text
    assert fitted(proto, made.json()["id"])["status"] == "fitted"
    return detections, int(made.json()["id"])


def _promote(proto: Protocol, classifier_id: int) -> Any:
    return proto.client.post(f"{API}/classifiers/{classifier_id}/promote", headers=proto.headers)


def _run(proto: Protocol, job_id: int) -> dict[str, Any]:
    """The refits' duty run until the job ends (it classifies 200 tasks a run)."""
    platform = proto.platform
    for _ in range(10):
        run_refit_jobs(platform.db, platform.queue, platform.results, _photos(proto))
        job = proto.job(job_id)
        if job["status"] not in ("created", "queued", "running"):
            return job
    raise AssertionError(f"job {job_id} did not end: {proto.job(job_id)}")


def _photos(proto: Protocol) -> Photos:
    return Photos(proto.platform.store, proto.platform.decode)


def _photo_of(proto: Protocol, box: int) -> int:
    listed = api_get(
        proto, f"/projects/{proto.project_id}/annotations", type="bounding_box", limit=100
    )["results"]
    return next(int(b["image_id"]) for b in listed if b["id"] == box)


def _refit_run(proto: Protocol, box: int) -> list[dict[str, Any]]:
    """The annotations of the refit's run of the photo holding the test pipeline's ``box``."""
    (run,) = [
        a for a in proto.image(_photo_of(proto, box))["analyses"] if a["pipeline_slug"] == REFIT
    ]
    return list(run["annotations"])


def _refit_labels(proto: Protocol, detections: list[int]) -> list[str | None]:
    """What the refit's run named each night's moth."""
    named = []
    for box in detections:
        labels = [a["label"] for a in _refit_run(proto, box) if a["type"] == "classification"]
        named.append(labels[0] if labels else None)
    return named


def test_a_promoted_refit_runs_over_the_boxes_and_counts_only_when_chosen(
    proto: Protocol,
) -> None:
    detections, refit = _fitted_refit(proto)
    before = species_rows(proto)

    made = _promote(proto, refit)

    assert made.status_code == 201, made.text
    job = made.json()
    assert (job["pipeline_slug"], job["pipeline_version"]) == (REFIT, 1)
    assert job["dispatch_mode"] == "internal"
    assert job["params"]["boxes_from"] == PIPELINE_SLUG
    proto.wait(job["id"], {"running"})
    ended = _run(proto, job["id"])
    assert ended["status"] == "succeeded", ended
    assert ended["counts"]["succeeded"] == NIGHTS
    # Each night's box, as the test pipeline drew it, named by the refit from its vector.
    assert _refit_labels(proto, detections)[:8] == [night_taxon(n) for n in range(8)]
    (box,) = [a for a in _refit_run(proto, detections[0]) if a["type"] == "bounding_box"]
    assert box["bbox"] == {"x1": 10.0, "y1": 12.0, "x2": 60.0, "y2": 70.0}
    # Nothing counts it until a person chooses it; chosen, people's names still rule.
    track_all(proto)
    counting = api_get(proto, f"/projects/{proto.project_id}/counting")
    assert counting["pipeline"] == PIPELINE_SLUG
    assert species_rows(proto) == before
    (trap,) = api_get(proto, f"/projects/{proto.project_id}/deployments")["results"]
    chosen = proto.client.put(
        f"{API}/deployments/{trap['id']}/counting",
        json={"pipeline": REFIT},
        headers=proto.headers,
    )
    assert chosen.status_code == 200, chosen.text
    assert chosen.json()["counting_not_carried"] == []
    track_all(proto)
    assert api_get(proto, f"/deployments/{trap['id']}")["counting_pipeline"] == REFIT
    assert species_rows(proto) == before


def test_a_refit_is_promoted_once_and_only_when_fitted(proto: Protocol) -> None:
    _, refit = _fitted_refit(proto)
    assert _promote(proto, refit).status_code == 201
    again = _promote(proto, refit)
    assert again.status_code == 409
    assert f"refit {refit} is promoted already, as {REFIT} v1" in again.text
    with proto.platform.db.write() as repos:  # a refit no server has fitted yet
        queued = repos.review.classifiers.create(
            proto.project_id, "Later", PIPELINE_SLUG, proto.account.id, datetime.now(UTC)
        )
    early = _promote(proto, queued)
    assert early.status_code == 400
    assert "the refit is queued: only a fitted refit can be promoted" in early.text


def test_a_promoted_refits_job_is_the_platforms_alone(proto: Protocol) -> None:
    _, refit = _fitted_refit(proto)
    job = _promote(proto, refit).json()
    proto.wait(job["id"], {"running"})
    pulled = proto.claim_response(job["id"], {"batch_size": 5})
    assert pulled.status_code == 400
    assert "run by the platform" in pulled.text
    by_hand = proto.create_job(pipeline=REFIT, pipeline_version=1)
    assert by_hand.status_code == 400
    assert "is a promoted refit, which runs when a person promotes it" in by_hand.text
    internal = proto.create_job(dispatch_mode="internal")
    assert internal.status_code == 400
    assert "dispatch_mode" in internal.text


def test_others_may_not_promote(proto: Protocol, make_account: Callable[..., Account]) -> None:
    _, refit = _fitted_refit(proto)
    stranger = proto.as_(make_account("eve"))
    foreign = _promote(stranger, refit)
    missing = _promote(stranger, 10**12)
    assert foreign.status_code == 404, foreign.text
    assert answered_as_missing(foreign, missing, refit, 10**12)
    viewer = make_account("vic")
    proto.add_member(viewer, "viewer")
    refused(_promote(proto.as_(viewer), refit), 403, "needs the member role")
    # Neither made a job: the project's one is the test pipeline's, from the scene.
    assert api_get(proto, "/jobs", project_id=proto.project_id)["count"] == 1


def test_a_refit_job_that_cannot_be_worked_fails_its_tasks_and_the_others_go_on(
    proto: Protocol,
) -> None:
    """One promoted refit whose stored head cannot be read: its tasks fail with the reason
    (on the job's page, tried again after the queue's backoff), and another refit's job is
    classified in the same run of the duty."""
    _, broken = _fitted_refit(proto)
    again = ask_refit(proto, name="Herons again")
    assert again.status_code == 202, again.text
    sound = int(again.json()["id"])
    assert fitted(proto, sound)["status"] == "fitted"
    first = _promote(proto, broken).json()
    second = _promote(proto, sound).json()
    with proto.platform.db.write() as repos:
        row = repos.session.get(ClassifierRow, broken)
        assert row is not None
        row.parameters = b"not a head"
    proto.wait(first["id"], {"running"})
    proto.wait(second["id"], {"running"})

    platform = proto.platform
    run_refit_jobs(platform.db, platform.queue, platform.results, _photos(proto))

    failed = proto.tasks(first["id"])["results"]
    assert failed
    assert all("the refit could not name this photo's boxes" in t["last_error"] for t in failed)
    assert proto.job(second["id"])["counts"]["succeeded"] == NIGHTS
