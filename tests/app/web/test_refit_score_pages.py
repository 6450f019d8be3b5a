"""A refit's page scoring it against an evaluation set: the set chosen in a small form, the
refit's accuracy beside its features' model, how many of the set it was fitted on and its
accuracy on the others, and a per-taxon table side by side; a set of another project named
beside the form as a missing one; on the nine nights of ``tests/support/refit_scene.py``."""

from __future__ import annotations

import html
from collections.abc import Callable

from tests.support.accounts import Account
from tests.support.evaluation_scene import new_set
from tests.support.protocol import PIPELINE_SLUG
from tests.support.protocol_client import Protocol, api_get, api_post
from tests.support.refit_scene import NIGHTS, ask_refit, fitted, identify_nights, night_scene
from tests.support.web import Browser, table


def _figure(x: float | None) -> str:
    return "\N{EN DASH}" if x is None else f"{x:.2f}"


def test_a_refit_is_scored_on_a_chosen_set_beside_its_model(
    sign_in: Callable[[Account], Browser], owner: Account, proto: Protocol
) -> None:
    detections = night_scene(proto)
    identify_nights(proto, detections, range(NIGHTS))
    made = ask_refit(proto)
    assert made.status_code == 202, made.text
    refit = fitted(proto, made.json()["id"])["id"]
    browser = sign_in(owner)
    before = browser.page(f"/classifiers/{refit}")
    assert 'id="no-sets"' in before
    assert 'id="refit-score-form"' not in before
    new_set(proto, "Older")
    nights = new_set(proto, "Nine nights")

    page = browser.page(f"/classifiers/{refit}")
    assert '<form method="get" action="/classifiers/' in page
    assert f'<option value="{nights["id"]}">Nine nights (9 identified boxes)</option>' in page
    assert 'id="refit-vs-model"' not in page

    page = browser.page(f"/classifiers/{refit}?set={nights['id']}")

    assert f'<option value="{nights["id"]}" selected>Nine nights' in page
    model = f"{PIPELINE_SLUG}@1"
    assert table(page, "refit-vs-model") == [
        ["Identified boxes on photos it ran on", "9 of 9", "9 of 9"],
        ["Accuracy (top-1)", "0.89", "0.00"],  # 8 of 9: the little egret it does not know
        ["Accuracy (top-5)", "0.89", "0.00"],  # its three labels name no taxon here
        ["Accuracy on boxes it was not fitted on", "0.00", ""],
    ]
    assert f">{model}</th>" in page
    in_fit = html.unescape(page[page.index('id="refit-in-fit"') :][:700])
    assert "<strong>8</strong> of the set's 9 identified boxes were fitted on; 1 were not" in in_fit
    assert "figures over them flatter the refit" in in_fit
    scores = api_get(proto, f"/classifiers/{refit}/scores", set=nights["id"])
    model_taxa = {t["scientific_name"]: t for t in scores["model"]["taxa"]}
    expected = [
        [t["scientific_name"], str(t["support"]), _figure(t["precision"]), _figure(t["recall"]),
         _figure(model_taxa[t["scientific_name"]]["precision"]),
         _figure(model_taxa[t["scientific_name"]]["recall"])]
        for t in scores["taxa"]
    ]  # fmt: skip
    assert table(page, "refit-score-taxa") == expected
    assert sorted(row[:2] for row in expected) == [
        ["Ardea alba", "4"],
        ["Ardea cinerea", "4"],
        ["Egretta garzetta", "1"],
    ]
    assert sorted(row[2] for row in expected) == ["0.80", "1.00", "\N{EN DASH}"]
    assert [row[4:] for row in expected] == [["\N{EN DASH}", "0.00"]] * 3


def test_a_set_of_another_project_is_named_beside_the_form_as_a_missing_one(
    sign_in: Callable[[Account], Browser], owner: Account, proto: Protocol
) -> None:
    detections = night_scene(proto)
    identify_nights(proto, detections, range(NIGHTS))
    refit = fitted(proto, ask_refit(proto).json()["id"])["id"]
    new_set(proto, "Nine nights")
    other = proto.in_project(api_post(proto, "/projects", {"name": "Other"}, 201)["id"])
    elsewhere = new_set(other, "Elsewhere")["id"]
    browser = sign_in(owner)
    for chosen in (elsewhere, 10**12):
        page = browser.page(f"/classifiers/{refit}?set={chosen}", status=404)
        error = html.unescape(page[page.index('id="set-error"') :][:300])
        assert f"evaluation set {chosen} not found: choose one of the project's sets" in error
        assert 'aria-describedby="set-error" aria-invalid="true"' in page
        assert 'id="refit-vs-model"' not in page
    browser.page(f"/classifiers/{refit}?set=abc", status=400)
