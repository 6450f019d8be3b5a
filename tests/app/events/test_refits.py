"""Refitting a classifier head from people's identifications (issue "People teach the models"),
through the API: queued (202), fitted in the background, its cross-validated figures per
taxon; too few identifications, vectors of two lengths and an unknown pipeline refused (400)
saying what is wrong; another project's refit answered as a missing one.

The scene: eight nights of one trap, one moth a night; the test pipeline posts a vector of
four numbers with each classification, near (1, 0, 0, 0) for the four grey herons and near
(0, 1, 0, 0) for the four great egrets (the herons' list stands in for moths), so a head tells
them apart on nights it never saw. A ninth night's individual is a little egret, the only one.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import numpy as np
import pytest

from tests.support.accounts import Account
from tests.support.evaluation_scene import POND_TAXA
from tests.support.protocol import PIPELINE_SLUG, detection, pipeline_config, success
from tests.support.protocol_client import Protocol, api_get, api_post
from tests.support.refusals import answered_as_missing, refused
from tests.support.scenes import API, add_frames, find_taxon, import_taxa, new_deployment, track_all
from trapline.evaluation.heads import Head

#: Seconds a refit of the scene may take.
FIT_WAIT = 60
NIGHTS = 9


def _night_scene(proto: Protocol, *, odd_length: bool = False) -> dict[str, Any]:
    """The nine nights, one detection each with a vector, tracked; the detections by night
    (the last night's vector one number longer with ``odd_length``)."""
    assert import_taxa(proto, POND_TAXA).status_code == 200
    trap = new_deployment(proto, "Sheet", "UTC")
    photos = add_frames(proto, trap, NIGHTS, timedelta(days=1), size=(160, 120))
    assert proto.register(pipeline_config()).status_code in (200, 201)
    job = proto.job_that_runs(params={"max_attempts": 1})
    tasks = {int(t["image_id"]): t for t in proto.claim(job["id"], 100)}
    rng = np.random.default_rng(5)
    items = []
    for night, image_id in enumerate(photos):
        found = detection(tasks[image_id], bbox=(10, 12, 60, 70))
        vector = [0.0, 0.0, 0.0, 0.0] + ([0.0] if odd_length and night == NIGHTS - 1 else [])
        vector[night % 2 if night < 8 else 2] = 1.0
        found["classifications"][0]["features"] = [
            round(v + float(rng.normal(0, 0.1)), 4) for v in vector
        ]
        items.append(success(tasks[image_id], found))
    assert {a["status"] for a in proto.post(job["id"], *items)} == {"saved"}
    track_all(proto)
    boxes = api_get(
        proto, f"/projects/{proto.project_id}/annotations", type="bounding_box", limit=100
    )["results"]
    by_photo = {int(b["image_id"]): int(b["id"]) for b in boxes}
    return {"detections": [by_photo[p] for p in photos]}


def _identify(proto: Protocol, detections: list[int], nights: range) -> list[int]:
    """Night n's moth identified: a grey heron on even nights, a great egret on odd ones,
    a little egret on the ninth; the identifications' ids."""
    taxa = [find_taxon(proto, n) for n in ("Ardea cinerea", "Ardea alba", "Egretta garzetta")]
    made = []
    for night in nights:
        taxon = taxa[night % 2 if night < 8 else 2]
        body = {"taxon_id": taxon}
        made.append(
            int(
                api_post(proto, f"/annotations/{detections[night]}/identifications", body, 201)[
                    "id"
                ]
            )
        )
    return made


def _refit(proto: Protocol, name: str = "Herons", features_from: str = PIPELINE_SLUG) -> Any:
    return proto.client.post(
        f"{API}/projects/{proto.project_id}/classifiers",
        json={"name": name, "features_from": features_from},
        headers=proto.headers,
    )


def _fitted(proto: Protocol, classifier_id: int) -> dict[str, Any]:
    assert proto.platform.refits.wait_idle(FIT_WAIT), f"refit {classifier_id} went on"
    return dict(api_get(proto, f"/classifiers/{classifier_id}"))


def test_a_refit_is_fitted_in_the_background_with_its_figures_per_taxon(proto: Protocol) -> None:
    scene = _night_scene(proto)
    identified = _identify(proto, scene["detections"], range(NIGHTS))

    made = _refit(proto)

    assert made.status_code == 202, made.text
    assert made.json()["status"] == "queued"
    found = _fitted(proto, made.json()["id"])
    assert found["status"] == "fitted", found
    assert found["error"] is None
    assert (found["features_from"], found["features_version"], found["features_length"]) == (
        PIPELINE_SLUG,
        1,
        4,
    )
    assert (found["size"], found["detections"], found["identifications"]) == (8, 8, 8)
    assert found["latest_identification_id"] == max(identified[:8])
    assert found["cv_accuracy"] == pytest.approx(1.0)
    assert found["folds"] == 4  # as many as the detections of each taxon
    rows = {
        t["scientific_name"]: (t["individuals"], t["support"], t["predicted"], t["correct"],
                               t["precision"], t["recall"])
        for t in found["taxa"]
    }  # fmt: skip
    assert rows == {
        "Ardea cinerea": (4, 4, 4, 4, 1.0, 1.0),
        "Ardea alba": (4, 4, 4, 4, 1.0, 1.0),
    }
    assert [(t["scientific_name"], t["individuals"], t["events"]) for t in found["too_few"]] == [
        ("Egretta garzetta", 1, 1)
    ]
    with proto.platform.db.read() as repos:
        stored = repos.classifiers.parameters(made.json()["id"])
    assert stored is not None
    head = Head.from_bytes(stored)
    cinerea, alba = find_taxon(proto, "Ardea cinerea"), find_taxon(proto, "Ardea alba")
    assert sorted(head.labels.tolist()) == sorted([cinerea, alba])
    probe = np.array([[0.9, 0.1, 0.0, 0.0], [0.1, 0.9, 0.0, 0.0]], dtype=np.float32)
    assert head.predict(probe).tolist() == [cinerea, alba]


def test_too_few_identifications_and_bad_sources_are_refused_saying_what(
    proto: Protocol,
) -> None:
    scene = _night_scene(proto)
    _identify(proto, scene["detections"], range(3))  # two herons, one egret
    detail = refused(_refit(proto), 400, "at least 5 identified individuals of at least 2 taxa")
    assert "Ardea cinerea: 2 individuals in 2 events" in detail
    assert "Ardea alba: 1 individuals in 1 events" in detail
    refused(
        _refit(proto, features_from="nothing"), 400,
        "features_from: 'nothing' is not a pipeline of project", PIPELINE_SLUG,
    )  # fmt: skip
    refused(_refit(proto, features_from=f"{PIPELINE_SLUG}@7"), 400, "has no version 7")
    refused(_refit(proto, name="   "), 400, "name: required")
    with proto.platform.db.read() as repos:
        assert repos.classifiers.named(proto.project_id, "Herons") is False


def test_vectors_of_two_lengths_are_refused_naming_them(proto: Protocol) -> None:
    scene = _night_scene(proto, odd_length=True)
    _identify(proto, scene["detections"], range(NIGHTS))
    refused(
        _refit(proto), 400, "not all of one length",
        "version 1: 4 numbers (8 detections), version 1: 5 numbers (1 detections)",
    )  # fmt: skip


def test_a_refit_queued_by_a_server_that_stopped_is_fitted_by_the_duty(proto: Protocol) -> None:
    scene = _night_scene(proto)
    _identify(proto, scene["detections"], range(NIGHTS))
    platform = proto.platform
    with platform.db.write() as repos:
        queued = repos.classifiers.create(
            proto.project_id, "Left queued", PIPELINE_SLUG, proto.account.id,
            platform.clock.now(),
        )  # fmt: skip
    assert api_get(proto, f"/classifiers/{queued}")["status"] == "queued"

    platform.refits.resume()

    assert _fitted(proto, queued)["status"] == "fitted"


def test_a_foreign_refit_answers_as_a_missing_one_and_viewers_may_not_refit(
    proto: Protocol, make_account: Callable[..., Account]
) -> None:
    scene = _night_scene(proto)
    _identify(proto, scene["detections"], range(NIGHTS))
    made = _refit(proto)
    assert made.status_code == 202, made.text
    classifier = made.json()["id"]
    _fitted(proto, classifier)
    stranger = proto.as_(make_account("eve"))
    foreign = stranger.client.get(f"{API}/classifiers/{classifier}", headers=stranger.headers)
    missing = stranger.client.get(f"{API}/classifiers/{10**12}", headers=stranger.headers)
    assert foreign.status_code == 404, foreign.text
    assert answered_as_missing(foreign, missing, classifier, 10**12)
    assert _refit(stranger, "Mine").status_code == 404
    viewer = make_account("vic")
    proto.add_member(viewer, "viewer")
    assert api_get(proto.as_(viewer), f"/classifiers/{classifier}")["status"] == "fitted"
    refused(_refit(proto.as_(viewer), "Theirs"), 403, "needs the member role")
    again = _refit(proto)
    refused(again, 409, "has a classifier named 'Herons'")
