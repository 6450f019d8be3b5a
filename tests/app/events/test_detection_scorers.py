"""Detection scorers (issue "People teach the models", decision 073): moth-blobs' insect score
refitted from a project's box reviews in the background, its held-out figures before and after,
and promotion, the only way it reaches a run: a version of ``moth-blobs-scorer`` made when a
person asks, whose job the platform runs over the project's photos, counting nowhere until
chosen.

The scene (``tests/support/scorer_scene.py``): four nights of one trap, one photo a night, five
moths and four pale stains on each; people confirmed the moths, rejected the stains and drew the
moth the test pipeline missed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from tests.support.accounts import Account
from tests.support.protocol import PIPELINE_SLUG
from tests.support.protocol_client import Protocol, api_get
from tests.support.refusals import answered_as_missing, refused
from tests.support.scenes import API, species_rows, track_all
from tests.support.scorer_scene import MOTHS, scorer_scene
from trapline.background.refit_jobs import run_refit_jobs
from trapline.evaluation.metrics import iou
from trapline.services.review.crop_features import Photos

SCORER = "moth-blobs-scorer"
#: Seconds a scorer of the scene may take.
FIT_WAIT = 120


def _ask(proto: Protocol, name: str = "Stains") -> Any:
    return proto.client.post(
        f"{API}/projects/{proto.project_id}/detection-scorers",
        json={"name": name},
        headers=proto.headers,
    )


def _fitted(proto: Protocol, scorer: int) -> dict[str, Any]:
    assert proto.platform.scorers.wait_idle(FIT_WAIT), f"scorer {scorer} went on"
    return dict(api_get(proto, f"/detection-scorers/{scorer}"))


def _scorer(proto: Protocol) -> int:
    made = _ask(proto)
    assert made.status_code == 202, made.text
    assert made.json()["status"] == "queued"
    return int(made.json()["id"])


def _promote(proto: Protocol, scorer: int) -> Any:
    return proto.client.post(f"{API}/detection-scorers/{scorer}/promote", headers=proto.headers)


def test_a_scorer_learns_from_box_reviews_and_is_scored_on_nights_it_never_saw(
    proto: Protocol,
) -> None:
    scorer_scene(proto)

    found = _fitted(proto, _scorer(proto))

    assert found["status"] == "fitted", found
    assert (found["photos"], found["whole_photos"], found["unreadable_photos"]) == (4, 4, 0)
    assert (found["insects"], found["others"]) == (4 * MOTHS, 16)
    assert len(found["folds"]) == 4
    assert all((f["nights"], f["photos"]) == (1, 1) for f in found["folds"])
    # As moth-blobs comes, it counts the 16 stains as insects; the scorer, fitted without the
    # night it is scored on, counts none of them and keeps the moths.
    before, after = found["before"], found["after"]
    assert (before["true_positives"], before["false_positives"]) == (20, 16)
    assert before["precision"] == round(20 / 36, 4)
    assert after["false_positives"] == 0
    assert after["recall"] >= 0.9
    assert found["weights"]["bias"] < found["default_weights"]["bias"]
    assert found["latest_review_id"] is not None
    assert found["progress"] == 1.0
    listed = api_get(proto, f"/projects/{proto.project_id}/detection-scorers")
    assert [(s["name"], s["status"]) for s in listed["results"]] == [("Stains", "fitted")]


def test_too_few_reviews_are_refused_saying_what_is_missing(proto: Protocol) -> None:
    scorer_scene(proto, 2, reviewed=False)

    detail = refused(_ask(proto), 400, "too few box reviews", "at least 10 confirmed or drawn")

    assert "people confirmed or drew 0 boxes on photos of 0 nights, and rejected 0" in detail
    refused(_ask(proto, "   "), 400, "name: required")
    with proto.platform.db.read() as repos:
        assert repos.review.detection_scorers.of_project(proto.project_id, 10) == []


def test_a_foreign_scorer_answers_as_a_missing_one_and_viewers_may_not_ask(
    proto: Protocol, make_account: Callable[..., Account]
) -> None:
    scorer_scene(proto, 2)
    scorer = _scorer(proto)
    _fitted(proto, scorer)
    stranger = proto.as_(make_account("eve"))
    foreign = stranger.client.get(f"{API}/detection-scorers/{scorer}", headers=stranger.headers)
    missing = stranger.client.get(f"{API}/detection-scorers/{10**12}", headers=stranger.headers)
    assert foreign.status_code == 404, foreign.text
    assert answered_as_missing(foreign, missing, scorer, 10**12)
    path = f"{API}/projects/{proto.project_id}/detection-scorers"
    assert stranger.client.get(path, headers=stranger.headers).status_code == 404
    assert _ask(stranger, "Mine").status_code == 404
    foreign_promotion = _promote(stranger, scorer)
    assert answered_as_missing(foreign_promotion, _promote(stranger, 10**12), scorer, 10**12)
    viewer = make_account("vic")
    proto.add_member(viewer, "viewer")
    assert api_get(proto.as_(viewer), f"/detection-scorers/{scorer}")["name"] == "Stains"
    refused(_ask(proto.as_(viewer), "Theirs"), 403, "needs the member role")
    refused(_promote(proto.as_(viewer), scorer), 403, "needs the member role")
    refused(_ask(proto), 409, "has a detection scorer named 'Stains'")


def _run(proto: Protocol, job_id: int) -> dict[str, Any]:
    """The platform's duty run until the job ends (four photos a run)."""
    platform = proto.platform
    for _ in range(10):
        photos = Photos(platform.store, platform.decode)
        run_refit_jobs(platform.db, platform.queue, platform.results, photos)
        job = proto.job(job_id)
        if job["status"] not in ("created", "queued", "running"):
            return job
    raise AssertionError(f"job {job_id} did not end: {proto.job(job_id)}")


def _versions(proto: Protocol) -> list[int]:
    with proto.platform.db.read() as repos:
        return repos.pipelines.pipelines.versions(proto.project_id, SCORER)


def test_promotion_makes_a_version_only_when_asked_and_counts_move_only_through_its_job(
    proto: Protocol,
) -> None:
    scene = scorer_scene(proto)
    scorer = _scorer(proto)
    assert _fitted(proto, scorer)["status"] == "fitted"
    track_all(proto)
    before = species_rows(proto)
    assert _versions(proto) == []  # fitted is not promoted

    made = _promote(proto, scorer)

    assert made.status_code == 201, made.text
    job = made.json()
    assert (job["pipeline_slug"], job["pipeline_version"], job["dispatch_mode"]) == (
        SCORER, 1, "internal",
    )  # fmt: skip
    assert _versions(proto) == [1]
    # Promoted, nothing of it has run: no photo has a result of it yet.
    assert all(
        a["pipeline_slug"] != SCORER for p in scene.photos for a in proto.image(p)["analyses"]
    )
    proto.wait(job["id"], {"running"})
    ended = _run(proto, job["id"])
    assert ended["status"] == "succeeded", ended
    assert ended["counts"]["succeeded"] == len(scene.photos)
    for photo in scene.photos:
        (run,) = [a for a in proto.image(photo)["analyses"] if a["pipeline_slug"] == SCORER]
        boxes = [
            a for a in run["annotations"]
            if a["type"] == "bounding_box" and (a["confidence"] or 0) >= 0.5
        ]  # fmt: skip
        rects = [
            (b["bbox"]["x1"], b["bbox"]["y1"], b["bbox"]["x2"], b["bbox"]["y2"]) for b in boxes
        ]
        # The moths are counted, each once; the stains, not.
        assert len(rects) == MOTHS
        assert all(any(iou(r, m) >= 0.5 for r in rects) for m in scene.moths[photo])
        assert not any(iou(r, s) >= 0.3 for r in rects for s in scene.stains[photo])
    # Its run counts nowhere until a person chooses it.
    track_all(proto)
    assert api_get(proto, f"/projects/{proto.project_id}/counting")["pipeline"] == PIPELINE_SLUG
    assert species_rows(proto) == before
    again = _promote(proto, scorer)
    refused(again, 409, f"scorer {scorer} is promoted already, as {SCORER} v1")
    by_hand = proto.create_job(pipeline=SCORER, pipeline_version=1)
    refused(by_hand, 400, "is a promoted refit, which runs when a person promotes it")


def test_only_a_fitted_scorer_is_promoted(proto: Protocol) -> None:
    with proto.platform.db.write() as repos:
        queued = repos.review.detection_scorers.create(
            proto.project_id, "Later", proto.account.id, datetime.now(UTC)
        )
    refused(_promote(proto, queued), 400, "the scorer is queued: only a fitted scorer")
    assert _versions(proto) == []


def test_a_scorer_left_queued_by_a_server_that_stopped_is_fitted_by_the_duty(
    proto: Protocol,
) -> None:
    scorer_scene(proto, 2)
    platform = proto.platform
    with platform.db.write() as repos:
        queued = repos.review.detection_scorers.create(
            proto.project_id, "Left queued", proto.account.id, platform.clock.now()
        )
    assert api_get(proto, f"/detection-scorers/{queued}")["status"] == "queued"

    platform.scorers.resume()

    assert _fitted(proto, queued)["status"] == "fitted"


def test_a_fitting_scorer_says_its_stage_and_only_its_runner_may(proto: Protocol) -> None:
    platform = proto.platform
    now = platform.clock.now()
    with platform.db.write() as repos:
        queued = repos.review.detection_scorers.create(
            proto.project_id, "Followed", proto.account.id, now
        )
        assert not repos.review.detection_scorers.progressed(queued, "here", "too early", 0.1)
        assert repos.review.detection_scorers.claim(queued, "here", now, now)
        assert repos.review.detection_scorers.progressed(queued, "here", "fold 2 of 4", 0.6)
        assert not repos.review.detection_scorers.progressed(queued, "elsewhere", "not mine", 0.9)
    found = api_get(proto, f"/detection-scorers/{queued}")
    assert (found["status"], found["stage"], found["progress"]) == ("fitting", "fold 2 of 4", 0.6)


def test_a_photo_gone_from_storage_is_left_out_and_counted(proto: Protocol) -> None:
    scene = scorer_scene(proto)
    platform = proto.platform
    with platform.db.read() as repos:
        (key,) = repos.review.detection_scorers.photo_files([scene.photos[0]]).values()
    platform.store.delete(key)

    found = _fitted(proto, _scorer(proto))

    assert found["status"] == "fitted", found
    assert (found["photos"], found["unreadable_photos"]) == (3, 1)
    assert len(found["folds"]) == 3
