"""The detection scorer pages: a project's scorers and the form "Learn from our box reviews", a
scorer's page that follows it while it is fitted and then shows its held-out figures before and
after and its weights, the Promote button, too few reviews named beside the field, and another
project's scorer answered as a missing page; on the stained nights of
``tests/support/scorer_scene.py``."""

from __future__ import annotations

import html
from collections.abc import Callable

from tests.support.accounts import Account
from tests.support.protocol_client import Protocol
from tests.support.scorer_scene import scorer_scene
from tests.support.web import Browser, table

FIT_WAIT = 120


def _ask(browser: Browser, project_id: int, name: str) -> object:
    path = f"/projects/{project_id}/detection-scorers"
    return browser.post(path, {"name": name}, csrf_from=path)


def test_a_scorer_asked_on_the_form_shows_its_figures_and_is_promoted_by_a_person(
    sign_in: Callable[[Account], Browser], owner: Account, proto: Protocol
) -> None:
    scorer_scene(proto)
    browser = sign_in(owner)
    listing = browser.page(f"/projects/{proto.project_id}/detection-scorers")
    assert "No detection scorer yet." in listing
    assert f'href="/projects/{proto.project_id}/detection-scorers">Scorers</a>' in listing
    evaluation = browser.page(f"/projects/{proto.project_id}/evaluation")
    assert "Detection scorers: learn from our box reviews" in evaluation

    answer = _ask(browser, proto.project_id, "Stains")

    assert answer.status_code == 303, answer.text  # type: ignore[attr-defined]
    where = answer.headers["location"]  # type: ignore[attr-defined]
    assert where.startswith("/detection-scorers/")
    assert proto.platform.scorers.wait_idle(FIT_WAIT)
    page = browser.page(where)
    assert 'data-final="true"' in page
    summary = html.unescape(page[page.index('id="scorer-summary"') :][:400])
    assert "precision <strong>0.56</strong> → <strong>1.00</strong>" in summary
    rows = table(page, "scorer-figures")
    assert rows[0] == ["moth-blobs as it comes", "20", "16", "0", "0.56", "1.00"]
    assert rows[1][0] == "this scorer (learnt without the night)"
    assert rows[1][2] == "0"
    assert len(table(page, "scorer-folds")) == 4
    assert [r[0] for r in table(page, "scorer-weights")] == [
        "this scorer", "moth-blobs as it comes",
    ]  # fmt: skip
    assert 'id="scorer-not-used"' in page
    assert 'id="promote-scorer"' in page
    listed = table(browser.page(f"/projects/{proto.project_id}/detection-scorers"), "scorers")
    assert listed[0][:3] == ["Stains", "fitted", "0.56 → 1.00"]

    promoted = browser.post(f"{where}/promote", {}, csrf_from=where)

    assert promoted.status_code == 303, promoted.text  # type: ignore[attr-defined]
    assert promoted.headers["location"].startswith("/jobs/")  # type: ignore[attr-defined]
    after = browser.page(where)
    assert "promoted as <strong>moth-blobs-scorer v1</strong>" in after
    assert 'id="promote-scorer"' not in after


def test_too_few_reviews_and_a_name_taken_are_said_beside_the_field(
    sign_in: Callable[[Account], Browser], owner: Account, proto: Protocol
) -> None:
    scorer_scene(proto, 2, reviewed=False)
    browser = sign_in(owner)

    answer = _ask(browser, proto.project_id, "Too soon")

    assert answer.status_code == 400  # type: ignore[attr-defined]
    text = html.unescape(answer.text)  # type: ignore[attr-defined]
    error = text[text.index('id="name-error"') :][:600]
    assert "too few box reviews" in error
    assert "at least 10 confirmed or drawn boxes" in error
    assert 'value="Too soon"' in text


def test_a_foreign_scorer_is_a_missing_page(
    sign_in: Callable[[Account], Browser],
    owner: Account,
    proto: Protocol,
    make_account: Callable[..., Account],
) -> None:
    scorer_scene(proto, 2)
    browser = sign_in(owner)
    answer = _ask(browser, proto.project_id, "Ours")
    where = answer.headers["location"]  # type: ignore[attr-defined]
    assert proto.platform.scorers.wait_idle(FIT_WAIT)
    stranger = sign_in(make_account("eve"))
    stranger.page(where, status=404)
    stranger.page(f"/projects/{proto.project_id}/detection-scorers", status=404)
    stranger.page(f"{where}/progress", status=404)
