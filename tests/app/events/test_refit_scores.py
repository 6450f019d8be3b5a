"""A fitted refit scored against an evaluation set beside the model whose features it reads
(issue "People teach the models"), through the API: the figures against a hand computation on
the nine nights of ``tests/support/refit_scene.py``, the boxes it was fitted on counted apart
from the held-out ones, and a refit not fitted yet or a set of another project refused.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from tests.support.accounts import Account
from tests.support.evaluation_scene import new_set, scores
from tests.support.protocol import PIPELINE_SLUG
from tests.support.protocol_client import Protocol, api_get, api_post
from tests.support.refit_scene import (
    NIGHT_TAXA,
    NIGHTS,
    ask_refit,
    fitted,
    identify_nights,
    night_scene,
    night_taxon,
    night_vector,
)
from tests.support.refusals import answered_as_missing, refused
from tests.support.scenes import API, find_taxon
from trapline.evaluation.heads import Head

#: The nights people identified before the refit: night 6's heron and night 8's little egret
#: are identified only after it, so it never learnt from them.
BEFORE = (0, 1, 2, 3, 4, 5, 7)


def _refit_scores(proto: Protocol, classifier: int, set_id: int) -> Any:
    return proto.client.get(
        f"{API}/classifiers/{classifier}/scores", params={"set": set_id}, headers=proto.headers
    )


def _fitted_refit(proto: Protocol, detections: list[int]) -> dict[str, Any]:
    for night in BEFORE:
        identify_nights(proto, detections, range(night, night + 1))
    made = ask_refit(proto)
    assert made.status_code == 202, made.text
    found = fitted(proto, made.json()["id"])
    assert found["status"] == "fitted", found
    return found


def test_a_refit_scored_on_a_set_matches_the_hand_computation_beside_its_model(
    proto: Protocol,
) -> None:
    """The set holds the nine nights' moths. The refit learnt from the seven of ``BEFORE``;
    night 0 is identified again after it (a later identification of a box it learnt from: still
    in the fit), nights 6 and 8 only after it (held out). Its head names each night's vector;
    the herons and great egrets are told apart, the little egret (a taxon it does not know) is
    named wrong: 8 of 9 right overall, 1 of the 2 held out. The model's own label ("moth")
    stands for no taxon: it names none right."""
    detections = night_scene(proto)
    refit = _fitted_refit(proto, detections)
    assert refit["size"] == 7
    identify_nights(proto, detections, range(6, 7))
    identify_nights(proto, detections, range(8, 9))
    identify_nights(proto, detections, range(0, 1))
    made = new_set(proto, "Nine nights")
    assert made["size"] == NIGHTS

    answer = _refit_scores(proto, refit["id"], made["id"])

    assert answer.status_code == 200, answer.text
    found = answer.json()
    with proto.platform.db.read() as repos:
        stored = repos.review.classifiers.parameters(refit["id"])
    assert stored is not None
    rng = np.random.default_rng(5)  # the scene's vectors, made again in its order
    vectors = np.array([night_vector(n, rng) for n in range(NIGHTS)], dtype=np.float32)
    predicted = Head.from_bytes(stored).predict(vectors).tolist()
    taxa = {name: find_taxon(proto, name) for name in NIGHT_TAXA}
    truth = [taxa[night_taxon(n)] for n in range(NIGHTS)]
    assert predicted[:8] == truth[:8]
    assert predicted[8] in (taxa["Ardea cinerea"], taxa["Ardea alba"])
    wrongly = next(name for name, t in taxa.items() if t == predicted[8])
    assert (found["pipeline"], found["version"]) == (PIPELINE_SLUG, 1)
    assert (found["size"], found["seen"], found["correct"]) == (9, 9, 8)
    assert found["accuracy"] == pytest.approx(8 / 9)
    assert found["top5_accuracy"] == pytest.approx(8 / 9)  # the head ranks only two taxa
    assert found["no_vector"] == 0
    assert (found["in_fit"], found["held_out"], found["held_out_seen"]) == (7, 2, 2)
    assert found["held_out_accuracy"] == pytest.approx(1 / 2)
    assert "7 of the set's 9 identified boxes were among the identifications" in found["note"]
    assert "flatter the refit" in found["note"]
    rows = {
        t["scientific_name"]: (t["support"], t["predicted"], t["correct"], t["precision"],
                               t["recall"])
        for t in found["taxa"]
    }  # fmt: skip
    expected = {
        "Ardea cinerea": (4, 4, 4, 1.0, 1.0),
        "Ardea alba": (4, 4, 4, 1.0, 1.0),
        "Egretta garzetta": (1, 0, 0, None, 0.0),
    }
    support, said, right, _, recall = expected[wrongly]
    expected[wrongly] = (support, said + 1, right, right / (said + 1), recall)
    assert rows == pytest.approx(expected)
    model = found["model"]
    own = scores(proto, made["id"], PIPELINE_SLUG, 1)
    assert (model["pipeline"], model["version"]) == (PIPELINE_SLUG, 1)
    assert (model["seen"], model["correct"], model["accuracy"]) == (9, 0, 0.0)
    assert model["accuracy"] == own["accuracy"]
    assert model["taxa"] == own["taxa"]


def test_a_refit_not_fitted_and_a_set_of_another_project_are_refused(
    proto: Protocol, make_account: Callable[..., Account]
) -> None:
    detections = night_scene(proto)
    refit = _fitted_refit(proto, detections)
    made = new_set(proto, "Nights")
    platform = proto.platform
    with platform.db.write() as repos:
        queued = repos.review.classifiers.create(
            proto.project_id, "Left queued", PIPELINE_SLUG, proto.account.id,
            platform.clock.now(),
        )  # fmt: skip
    refused(_refit_scores(proto, queued, made["id"]), 400, f"refit {queued} is queued, not fitted")
    other = proto.in_project(api_post(proto, "/projects", {"name": "Other"}, 201)["id"])
    elsewhere = new_set(other, "Elsewhere")
    foreign = _refit_scores(proto, refit["id"], elsewhere["id"])
    missing = _refit_scores(proto, refit["id"], 10**12)
    assert foreign.status_code == 404, foreign.text
    assert answered_as_missing(foreign, missing, elsewhere["id"], 10**12)
    stranger = proto.as_(make_account("eve"))
    hidden = _refit_scores(stranger, refit["id"], made["id"])
    absent = _refit_scores(stranger, 10**12, made["id"])
    assert hidden.status_code == 404, hidden.text
    assert answered_as_missing(hidden, absent, refit["id"], 10**12)
    assert api_get(proto, f"/classifiers/{refit['id']}")["status"] == "fitted"


def test_a_box_without_a_vector_of_the_refits_length_is_named_nothing(proto: Protocol) -> None:
    """Night 8's vector has five numbers, the others four: the refit, fitted on nights 0 to 7,
    reads none for night 8's box, so it names it nothing (not a heron or egret, as a vector of
    four numbers would be named): every taxon it names is named right."""
    detections = night_scene(proto, odd_length=True)
    identify_nights(proto, detections, range(8))
    made = ask_refit(proto)
    assert made.status_code == 202, made.text
    refit = fitted(proto, made.json()["id"])
    assert (refit["status"], refit["features_length"]) == ("fitted", 4)
    identify_nights(proto, detections, range(8, 9))
    nights = new_set(proto, "Nine nights")

    found = api_get(proto, f"/classifiers/{refit['id']}/scores", set=nights["id"])

    assert (found["no_vector"], found["seen"], found["correct"]) == (1, 9, 8)
    assert (found["in_fit"], found["held_out"], found["held_out_accuracy"]) == (8, 1, 0.0)
    rows = {t["scientific_name"]: (t["predicted"], t["precision"]) for t in found["taxa"]}
    assert rows == {
        "Ardea cinerea": (4, 1.0),
        "Ardea alba": (4, 1.0),
        "Egretta garzetta": (0, None),
    }
