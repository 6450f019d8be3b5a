"""The refit pages for a refit on trapline's crop descriptors (decision 074): the form offers
each pipeline's boxes described by trapline, the refit's page says plainly that it read
trapline's descriptors of the crops, not a model's features, and shows its cross-validated
figures like any refit's; its promotion and its scores against a set say the same; on the
colour nights of ``tests/support/refit_scene.py`` (``crops``)."""

from __future__ import annotations

import html
from collections.abc import Callable

from tests.support.accounts import Account
from tests.support.evaluation_scene import new_set
from tests.support.protocol import PIPELINE_SLUG
from tests.support.protocol_client import Protocol
from tests.support.refit_scene import NIGHTS, fitted, identify_nights, night_scene
from tests.support.web import Browser, table

CROPS = f"crops:{PIPELINE_SLUG}"


def _ask(browser: Browser, project_id: int, **fields: str) -> object:
    path = f"/projects/{project_id}/classifiers"
    return browser.post(path, {"name": "", "features_from": CROPS, **fields}, csrf_from=path)


def test_a_refit_on_crops_asked_on_the_form_says_what_it_read(
    sign_in: Callable[[Account], Browser], owner: Account, proto: Protocol
) -> None:
    detections = night_scene(proto, crops=True)
    identify_nights(proto, detections, range(NIGHTS))
    browser = sign_in(owner)
    listing = html.unescape(browser.page(f"/projects/{proto.project_id}/classifiers"))
    assert f'<option value="{CROPS}">{PIPELINE_SLUG}\'s boxes, described by trapline' in listing

    answer = _ask(browser, proto.project_id, name="Herons by colour")

    assert answer.status_code == 303, answer.text  # type: ignore[attr-defined]
    where = answer.headers["location"]  # type: ignore[attr-defined]
    fitted(proto, int(where.rsplit("/", 1)[1]))
    page = html.unescape(browser.page(where))
    said = page[page.index('id="refit-crops"') :][:700]
    assert f"trapline's own crop descriptors</strong> of the boxes of {PIPELINE_SLUG}" in said
    assert "version 1 (71 numbers a detection)" in said
    assert "not a model's features" in said
    assert "usually lower" in said
    summary = page[page.index('id="refit-summary"') :][:300]
    assert "Cross-validated accuracy <strong>1.00</strong> over 4 folds" in summary
    assert table(page, "refit-taxa") == [
        ["Ardea cinerea", "4", "4", "1.00", "1.00"],
        ["Ardea alba", "4", "4", "1.00", "1.00"],
    ]
    hint = page[page.index('id="promote-hint"') :][:500]
    assert f"<strong>{PIPELINE_SLUG}-crops-refit</strong>" in hint
    assert "from the descriptor of its crop, read from its photo" in hint
    listed = table(browser.page(f"/projects/{proto.project_id}/classifiers"), "refits")
    assert listed[0][:5] == [
        "Herons by colour", "fitted", "1.00", "8",
        f"crops of {PIPELINE_SLUG}@1 (trapline's descriptors)",
    ]  # fmt: skip
    # Scored against a set: the boxes of the model it describes, named from their crops.
    made = new_set(proto, "Nine nights")
    scored = html.unescape(browser.page(f"{where}?set={made['id']}"))
    assert f"beside {PIPELINE_SLUG}</h2>" in scored
    assert "from their crops' descriptors" in scored
    promoted = browser.post(f"{where}/promote", {}, csrf_from=where)
    assert promoted.status_code == 303, promoted.text  # type: ignore[attr-defined]
    page = browser.page(where)
    assert f"promoted as <strong>{PIPELINE_SLUG}-crops-refit v1</strong>" in page


def test_the_form_names_a_bad_crop_source_beside_the_field(
    sign_in: Callable[[Account], Browser], owner: Account, proto: Protocol
) -> None:
    detections = night_scene(proto, crops=True)
    identify_nights(proto, detections, range(3))
    browser = sign_in(owner)
    for typed, words in (
        ("crops:nothing", "'nothing' is not a pipeline"),
        ("crops:", "write a pipeline's slug"),
        (CROPS, "at least 5 identified individuals"),
    ):
        answer = _ask(browser, proto.project_id, name="Colours", features_from=typed)
        assert answer.status_code == 400, typed  # type: ignore[attr-defined]
        text = html.unescape(answer.text)  # type: ignore[attr-defined]
        assert words in text[text.index('id="features_from-error"') :][:600], typed
