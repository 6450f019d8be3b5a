"""Refitting a classifier head from people's identifications (issue "People teach the models"),
through the API: queued (202), fitted in the background, its cross-validated figures per
taxon; too few identifications, vectors of two lengths and an unknown pipeline refused (400)
saying what is wrong; another project's refit answered as a missing one.

The scene: ``tests/support/refit_scene.py`` (nine nights, eight herons and egrets whose
vectors tell them apart, and one little egret).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from tests.support.accounts import Account
from tests.support.protocol import PIPELINE_SLUG
from tests.support.protocol_client import Protocol, api_get
from tests.support.refit_scene import (
    NIGHTS,
    ask_refit,
    fitted,
    identify_nights,
    night_scene,
)
from tests.support.refusals import answered_as_missing, refused
from tests.support.scenes import API, find_taxon
from trapline.evaluation.heads import Head


def test_a_refit_is_fitted_in_the_background_with_its_figures_per_taxon(proto: Protocol) -> None:
    detections = night_scene(proto)
    identified = identify_nights(proto, detections, range(NIGHTS))

    made = ask_refit(proto)

    assert made.status_code == 202, made.text
    assert made.json()["status"] == "queued"
    found = fitted(proto, made.json()["id"])
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
    assert (found["stage"], found["progress"]) == (None, 1.0)
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
        stored = repos.review.classifiers.parameters(made.json()["id"])
    assert stored is not None
    head = Head.from_bytes(stored)
    cinerea, alba = find_taxon(proto, "Ardea cinerea"), find_taxon(proto, "Ardea alba")
    assert sorted(head.labels.tolist()) == sorted([cinerea, alba])
    probe = np.array([[0.9, 0.1, 0.0, 0.0], [0.1, 0.9, 0.0, 0.0]], dtype=np.float32)
    assert head.predict(probe).tolist() == [cinerea, alba]


def test_too_few_identifications_and_bad_sources_are_refused_saying_what(
    proto: Protocol,
) -> None:
    detections = night_scene(proto)
    identify_nights(proto, detections, range(3))  # two herons, one egret
    detail = refused(ask_refit(proto), 400, "at least 5 identified individuals of at least 2 taxa")
    assert "Ardea cinerea: 2 individuals in 2 events" in detail
    assert "Ardea alba: 1 individuals in 1 events" in detail
    refused(
        ask_refit(proto, features_from="nothing"), 400,
        "features_from: 'nothing' is not a pipeline of project", PIPELINE_SLUG,
    )  # fmt: skip
    refused(ask_refit(proto, features_from=f"{PIPELINE_SLUG}@7"), 400, "has no version 7")
    refused(ask_refit(proto, name="   "), 400, "name: required")
    with proto.platform.db.read() as repos:
        assert repos.review.classifiers.named(proto.project_id, "Herons") is False


def test_vectors_of_two_lengths_are_refused_naming_them(proto: Protocol) -> None:
    detections = night_scene(proto, odd_length=True)
    identify_nights(proto, detections, range(NIGHTS))
    refused(
        ask_refit(proto), 400, "not all of one length",
        "version 1: 4 numbers (8 detections), version 1: 5 numbers (1 detections)",
    )  # fmt: skip


def test_a_refit_queued_by_a_server_that_stopped_is_fitted_by_the_duty(proto: Protocol) -> None:
    detections = night_scene(proto)
    identify_nights(proto, detections, range(NIGHTS))
    platform = proto.platform
    with platform.db.write() as repos:
        queued = repos.review.classifiers.create(
            proto.project_id, "Left queued", PIPELINE_SLUG, proto.account.id,
            platform.clock.now(),
        )  # fmt: skip
    assert api_get(proto, f"/classifiers/{queued}")["status"] == "queued"

    platform.refits.resume()

    assert fitted(proto, queued)["status"] == "fitted"


def test_a_foreign_refit_answers_as_a_missing_one_and_viewers_may_not_refit(
    proto: Protocol, make_account: Callable[..., Account]
) -> None:
    detections = night_scene(proto)
    identify_nights(proto, detections, range(NIGHTS))
    made = ask_refit(proto)
    assert made.status_code == 202, made.text
    classifier = made.json()["id"]
    fitted(proto, classifier)
    stranger = proto.as_(make_account("eve"))
    foreign = stranger.client.get(f"{API}/classifiers/{classifier}", headers=stranger.headers)
    missing = stranger.client.get(f"{API}/classifiers/{10**12}", headers=stranger.headers)
    assert foreign.status_code == 404, foreign.text
    assert answered_as_missing(foreign, missing, classifier, 10**12)
    listed = api_get(proto, f"/projects/{proto.project_id}/classifiers")
    assert [(c["name"], c["status"]) for c in listed["results"]] == [("Herons", "fitted")]
    path = f"{API}/projects/{proto.project_id}/classifiers"
    assert stranger.client.get(path, headers=stranger.headers).status_code == 404
    assert ask_refit(stranger, "Mine").status_code == 404
    viewer = make_account("vic")
    proto.add_member(viewer, "viewer")
    assert api_get(proto.as_(viewer), f"/classifiers/{classifier}")["status"] == "fitted"
    refused(ask_refit(proto.as_(viewer), "Theirs"), 403, "needs the member role")
    again = ask_refit(proto)
    refused(again, 409, "has a classifier named 'Herons'")


def test_a_fitting_refit_says_its_stage_and_only_its_runner_may(proto: Protocol) -> None:
    """What the fit says of how far it has got (its stage, the share done) is kept for its
    page, by the server that holds it alone."""
    night_scene(proto)
    platform = proto.platform
    now = platform.clock.now()
    with platform.db.write() as repos:
        queued = repos.review.classifiers.create(
            proto.project_id, "Followed", PIPELINE_SLUG, proto.account.id, now
        )
        assert not repos.review.classifiers.progressed(queued, "here", "too early", 0.1)
        assert repos.review.classifiers.claim(queued, "here", now, now)
        assert repos.review.classifiers.progressed(
            queued, "here", "cross-validating: fold 2 of 4", 0.2
        )
        assert not repos.review.classifiers.progressed(queued, "elsewhere", "not mine", 0.9)
    found = api_get(proto, f"/classifiers/{queued}")
    assert (found["status"], found["stage"], found["progress"]) == (
        "fitting",
        "cross-validating: fold 2 of 4",
        0.2,
    )
