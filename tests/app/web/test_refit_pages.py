"""The refit pages: a project's refits and the form "Learn from our identifications", a refit's
page that follows it while it is fitted and then shows its cross-validated figures per taxon,
the form's mistakes named beside their fields, a failed refit's error, and another project's
refit answered as a missing page; on the nine nights of ``tests/support/refit_scene.py``."""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import timedelta

from tests.support.accounts import Account
from tests.support.protocol import PIPELINE_SLUG
from tests.support.protocol_client import Protocol
from tests.support.refit_scene import NIGHTS, fitted, identify_nights, night_scene
from tests.support.web import Browser, table


def _ask(browser: Browser, project_id: int, **fields: str) -> object:
    path = f"/projects/{project_id}/classifiers"
    data = {"name": "", "features_from": PIPELINE_SLUG, **fields}
    return browser.post(path, data, csrf_from=path)


def _queued(proto: Protocol, name: str) -> int:
    """A refit left queued (nothing was asked to fit it)."""
    platform = proto.platform
    with platform.db.write() as repos:
        return repos.review.classifiers.create(
            proto.project_id, name, PIPELINE_SLUG, proto.account.id, platform.clock.now()
        )


def _error(text: str, field: str) -> str:
    return html.unescape(text[text.index(f'id="{field}-error"') :][:600])


def test_a_refit_asked_on_the_form_is_followed_then_shows_its_figures(
    sign_in: Callable[[Account], Browser], owner: Account, proto: Protocol
) -> None:
    detections = night_scene(proto)
    identify_nights(proto, detections, range(NIGHTS))
    browser = sign_in(owner)
    listing = browser.page(f"/projects/{proto.project_id}/classifiers")
    assert "No refit yet." in listing
    assert f'<option value="{PIPELINE_SLUG}">{PIPELINE_SLUG}</option>' in listing
    assert f'href="/projects/{proto.project_id}/classifiers">Refits</a>' in listing  # the menu
    evaluation = browser.page(f"/projects/{proto.project_id}/evaluation")
    assert f'<a href="/projects/{proto.project_id}/classifiers">Refits: learn from' in evaluation

    answer = _ask(browser, proto.project_id, name="Herons and egrets")

    assert answer.status_code == 303, answer.text  # type: ignore[attr-defined]
    where = answer.headers["location"]  # type: ignore[attr-defined]
    assert where.startswith("/classifiers/")
    fitted(proto, int(where.rsplit("/", 1)[1]))
    page = browser.page(where)
    assert 'data-final="true"' in page
    assert "/static/progress.js" not in page
    summary = html.unescape(page[page.index('id="refit-summary"') :][:400])
    assert "Cross-validated accuracy <strong>1.00</strong> over 4 folds" in summary
    assert "fitted on 8 identified individuals (8 detections, 8 identifications)" in summary
    assert table(page, "refit-taxa") == [
        ["Ardea cinerea", "4", "4", "1.00", "1.00"],
        ["Ardea alba", "4", "4", "1.00", "1.00"],
    ]
    assert table(page, "refit-too-few") == [["Egretta garzetta", "1", "1", "1"]]
    assert f"{PIPELINE_SLUG}, version 1 (4 numbers a detection)" in page
    assert "so the figure estimates how it would do on new nights" in page.lower()
    assert "counts nowhere until a person promotes it and then chooses it" in page
    listed = table(browser.page(f"/projects/{proto.project_id}/classifiers"), "refits")
    assert listed[0][:4] == ["Herons and egrets", "fitted", "1.00", "8"]
    # Promoted from its page: the job that runs it; a second press is told it was.
    promoted = browser.post(f"{where}/promote", {}, csrf_from=where)
    assert promoted.status_code == 303, promoted.text  # type: ignore[attr-defined]
    assert promoted.headers["location"].startswith("/jobs/")  # type: ignore[attr-defined]
    page = browser.page(where)
    assert f"promoted as <strong>{PIPELINE_SLUG}-refit v1</strong>" in page
    assert 'id="promote-refit"' not in page
    again = browser.post(f"{where}/promote", {}, csrf_from=f"/projects/{proto.project_id}/jobs")
    assert again.status_code == 409  # type: ignore[attr-defined]
    said = _error(again.text, "promote")  # type: ignore[attr-defined]
    assert f"is promoted already, as {PIPELINE_SLUG}-refit v1" in said
    processing = browser.page(f"/projects/{proto.project_id}/processing")
    assert "trapline-refits: promoted refits: the server runs them itself" in processing
    assert "trapline-refits: offline" not in processing


def test_a_queued_refit_is_followed_by_its_page(
    sign_in: Callable[[Account], Browser], owner: Account, proto: Protocol
) -> None:
    night_scene(proto)
    queued = _queued(proto, "Left queued")
    browser = sign_in(owner)
    page = browser.page(f"/classifiers/{queued}")
    assert f'data-url="/classifiers/{queued}/progress" data-final="false"' in page
    assert '<span class="status status-queued">queued</span>' in page
    assert "/static/progress.js" in page
    assert 'id="refit-taxa"' not in page
    progress = browser.client.get(f"/classifiers/{queued}/progress")
    assert progress.json() == {"status": "queued", "final": False, "percent": 0}
    assert 'id="refit-progress" max="100" value="0"' in page
    listed = table(browser.page(f"/projects/{proto.project_id}/classifiers"), "refits")
    assert listed[0][:4] == ["Left queued", "queued", "\N{EN DASH}", ""]


def test_the_form_says_what_is_wrong_beside_the_field(
    sign_in: Callable[[Account], Browser], owner: Account, proto: Protocol
) -> None:
    detections = night_scene(proto)
    identify_nights(proto, detections, range(3))  # two herons, one egret
    _queued(proto, "Taken")
    browser = sign_in(owner)
    cases = [
        ({"name": "Too few"}, "features_from", "at least 5 identified individuals of at least 2"),
        ({"name": "x", "features_from": "nothing"}, "features_from", "'nothing' is not a pipeline"),
        ({"name": "x", "features_from": f"{PIPELINE_SLUG}@7"}, "features_from", "no version 7"),
        ({"name": "   "}, "name", "name is required"),
        ({"name": "Taken"}, "name", "has a classifier named 'Taken'"),
    ]
    for fields, field, words in cases:
        answer = _ask(browser, proto.project_id, **fields)
        assert answer.status_code == 400, fields  # type: ignore[attr-defined]
        text = answer.text  # type: ignore[attr-defined]
        assert words in _error(text, field), (fields, _error(text, field))
        assert f'aria-describedby="{field}-error" aria-invalid="true"' in text
    too_few = _error(_ask(browser, proto.project_id, name="Too few").text, "features_from")  # type: ignore[attr-defined]
    assert "Ardea cinerea: 2 individuals in 2 events" in too_few
    kept = _ask(browser, proto.project_id, name="Kept name", features_from="nothing")
    assert 'value="Kept name"' in kept.text  # type: ignore[attr-defined]
    listing = browser.page(f"/projects/{proto.project_id}/classifiers")
    assert table(listing, "refits")[0][0] == "Taken"  # nothing else was made


def test_a_failed_refit_shows_its_error(
    sign_in: Callable[[Account], Browser], owner: Account, proto: Protocol
) -> None:
    night_scene(proto)
    made = _queued(proto, "Doomed")
    platform = proto.platform
    now = platform.clock.now()
    with platform.db.write() as repos:
        assert repos.review.classifiers.claim(made, "a server", now, now - timedelta(minutes=5))
        repos.review.classifiers.fail(made, "a server", "the vectors could not be read", now)
    page = sign_in(owner).page(f"/classifiers/{made}")
    assert '<span class="status status-failed">failed</span>' in page
    assert 'id="refit-error">the vectors could not be read</dd>' in page
    assert 'data-final="true"' in page


def test_viewers_see_refits_without_the_form_and_strangers_a_missing_page(
    sign_in: Callable[[Account], Browser],
    make_account: Callable[..., Account],
    proto: Protocol,
) -> None:
    night_scene(proto)
    made = _queued(proto, "Herons")
    viewer = make_account("vic")
    proto.add_member(viewer, "viewer")
    seen = sign_in(viewer)
    listing = seen.page(f"/projects/{proto.project_id}/classifiers")
    assert table(listing, "refits")[0][0] == "Herons"
    assert 'id="new-refit"' not in listing
    seen.page(f"/classifiers/{made}")
    refused = _ask(seen, proto.project_id, name="Theirs")
    assert refused.status_code == 403  # type: ignore[attr-defined]
    stranger = sign_in(make_account("eve"))
    for path in (
        f"/classifiers/{made}",
        f"/classifiers/{made}/progress",
        f"/projects/{proto.project_id}/classifiers",
        f"/classifiers/{10**12}",
    ):
        stranger.page(path, status=404)
