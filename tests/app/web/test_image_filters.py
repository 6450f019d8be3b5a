"""Image filters by what was found (detections, label, confidence) and by job: in the API's
listing, in the web app's grid and in the viewer's previous/next, on both databases."""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Callable

import pytest

from tests.support.accounts import Account
from tests.support.app_client import AppClient
from tests.support.exports import API, Seeded, seed_project
from tests.support.protocol import LABELS, pipeline_config
from tests.support.protocol_client import Protocol, run_boxes
from tests.support.web import Browser
from trapline.clock import FakeClock
from trapline.db.photo_findings import project_findings_due
from trapline.services.photos.findings import rebuild_findings
from trapline.services.review.reviews import SUGGESTIONS_TTL


@pytest.fixture
def seeded(
    client: AppClient, owner: Account, project_id: int, jpeg: Callable[..., bytes]
) -> Seeded:
    """Nine images: 0-5 with boxes (labels and scores in ``boxes``), 6-7 empty, 8 failed."""
    return seed_project(Protocol(client, owner, project_id, jpeg))


def _listed(seeded: Seeded, **params: object) -> set[int]:
    answer = seeded.client.get(
        f"{API}/projects/{seeded.project_id}/images",
        params={"limit": 100, **params},
        headers=seeded.proto.account.headers,
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["count"] == len(body["results"])
    return {r["id"] for r in body["results"]}


def test_the_listing_filters_by_results_and_job(seeded: Seeded) -> None:
    boxed = {b.image_id for b in seeded.boxes}
    everything = set(seeded.images)
    assert len(boxed) == 6
    assert _listed(seeded, has_detections=True) == boxed
    assert _listed(seeded, has_detections=False) == everything - boxed
    for label in LABELS:
        want = {b.image_id for b in seeded.boxes if b.label == label}
        assert want, label
        assert _listed(seeded, label=label) == want
    assert _listed(seeded, label="no such label") == set()
    sure = {b.image_id for b in seeded.boxes if b.score >= 0.875}
    assert 0 < len(sure) < len(boxed)
    assert _listed(seeded, min_confidence=0.875) == sure
    # Label and confidence hold of the same annotation.
    both = {b.image_id for b in seeded.boxes if b.label == LABELS[0] and b.score >= 0.875}
    assert _listed(seeded, label=LABELS[0], min_confidence=0.875) == both
    trap_b = seeded.deployments["Trap B"]
    in_b = {i for i, d in seeded.image_deployment.items() if d == trap_b}
    assert _listed(seeded, has_detections=True, deployment=trap_b) == boxed & in_b

    (later,) = seeded.proto.images(1)  # uploaded after the job: not among its images
    assert _listed(seeded, job=seeded.job_id) == everything
    assert later not in _listed(seeded, job=seeded.job_id)
    assert _listed(seeded, job=999_999) == set()


def test_a_foreign_job_filters_to_nothing(
    seeded: Seeded, make_account: Callable[..., Account], jpeg: Callable[..., bytes]
) -> None:
    stranger = make_account("stranger")
    made = seeded.client.post(f"{API}/projects/", json={"name": "Other"}, headers=stranger.headers)
    assert made.status_code == 201, made.text
    foreign = seed_project(Protocol(seeded.client, stranger, made.json()["id"], jpeg))
    assert _listed(seeded, job=foreign.job_id) == set()


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"min_confidence": 1.5}, "min_confidence"),
        ({"min_confidence": "nan"}, "min_confidence"),
        ({"has_detections": "maybe"}, "has_detections"),
        ({"label": "a\nb"}, "label"),
        ({"job": 0}, "job"),
    ],
)
def test_bad_filters_are_400s(seeded: Seeded, params: dict[str, object], words: str) -> None:
    answer = seeded.client.get(
        f"{API}/projects/{seeded.project_id}/images",
        params=params,
        headers=seeded.proto.account.headers,
    )
    assert answer.status_code == 400, answer.text
    assert words in answer.text


_IMAGE_LINK = re.compile(r'href="/images/(\d+)')


def test_the_grid_and_the_viewer_keep_the_filters(
    seeded: Seeded, sign_in: Callable[[Account], Browser]
) -> None:
    browser = sign_in(seeded.proto.account)
    grid = f"/projects/{seeded.project_id}/images"
    boxed = {b.image_id for b in seeded.boxes}
    html = browser.page(f"{grid}?detections=with")
    assert {int(i) for i in _IMAGE_LINK.findall(html)} == boxed
    assert 'value="with" selected' in html
    label = LABELS[1]
    html = browser.page(f"{grid}?label={label}&min_confidence=0.5&job={seeded.job_id}")
    want = {b.image_id for b in seeded.boxes if b.label == label and b.score >= 0.5}
    assert {int(i) for i in _IMAGE_LINK.findall(html)} == want
    assert f'<option value="{label}">' in html  # the labels the models gave, offered
    html = browser.page(f"{grid}?detections=without")
    assert {int(i) for i in _IMAGE_LINK.findall(html)} == set(seeded.images) - boxed
    assert "No image matches." in browser.page(f"{grid}?label=nothing-like-it")
    browser.page(f"{grid}?min_confidence=7", status=400)
    browser.page(f"{grid}?detections=some", status=400)

    # The viewer's previous/next stay among the filtered images.
    first = min(boxed)
    html = browser.page(f"/images/{first}?detections=with")
    neighbours = {int(i) for i in re.findall(r'href="/images/(\d+)\?[^"]*detections=with', html)}
    assert neighbours
    assert neighbours <= boxed


def test_the_grid_says_when_its_result_filters_are_catching_up(
    seeded: Seeded, sign_in: Callable[[Account], Browser]
) -> None:
    """While a project's findings are worked out again (after a pin, an unpin or an upgrade),
    a grid filtered by results says that it may be slow, and answers all the same."""
    browser = sign_in(seeded.proto.account)
    grid = f"/projects/{seeded.project_id}/images"
    boxed = {b.image_id for b in seeded.boxes}
    notice = 'id="filters-catching-up"'
    assert notice not in browser.page(f"{grid}?detections=with")
    db = seeded.proto.platform.db
    with db.write() as repos:
        project_findings_due(repos.session, seeded.project_id)
    html = browser.page(f"{grid}?detections=with")
    assert notice in html
    assert {int(i) for i in _IMAGE_LINK.findall(html)} == boxed
    assert notice not in browser.page(grid)  # no result filter: nothing to say
    rebuild_findings(db)
    assert notice not in browser.page(f"{grid}?detections=with")


def test_a_job_runs_over_the_images_a_filter_shows(
    seeded: Seeded, sign_in: Callable[[Account], Browser]
) -> None:
    proto = seeded.proto
    trap_c = proto.deployment("Trap C")
    fresh = set(proto.images(2, deployment_id=str(trap_c)))
    browser = sign_in(proto.account)
    grid = f"/projects/{seeded.project_id}/images?deployment={trap_c}&detections=without"
    html = browser.page(grid)
    assert 'id="run-filtered"' in html
    assert f'name="deployment" value="{trap_c}"' in html
    form = {
        "scope": "filter",
        "deployment": str(trap_c),
        "detections": "without",
        "pipeline": "moth-test",
        "name": "Trap C, not yet looked at",
    }
    started = browser.post(f"/projects/{seeded.project_id}/jobs", form, csrf_from=grid)
    assert started.status_code == 303, started.text  # type: ignore[attr-defined]
    job_id = int(started.headers["location"].rsplit("/", 1)[1])  # type: ignore[attr-defined]
    job = proto.wait(job_id, {"running"})
    assert job["selection"]["filter"]["deployment_id"] == trap_c
    tasks = proto.claim(job_id, 100)
    assert {int(t["image_id"]) for t in tasks} == fresh

    bad = browser.post(
        f"/projects/{seeded.project_id}/jobs",
        {**form, "min_confidence": "7"},
        csrf_from=grid,
    )
    assert bad.status_code == 400  # type: ignore[attr-defined]
    assert "min_confidence" in bad.text  # type: ignore[attr-defined]

    # A job the grid's form asks for that is refused (a threshold for a pipeline that declares
    # none) comes back on the jobs page with the error beside the field and the grid's filter
    # kept as the chosen images, not swapped for the whole project.
    refused = browser.post(
        f"/projects/{seeded.project_id}/jobs", {**form, "threshold": "0.4"}, csrf_from=grid
    )
    page = refused.text  # type: ignore[attr-defined]
    assert refused.status_code == 400, page  # type: ignore[attr-defined]
    assert 'id="threshold-error"' in page
    assert '<option value="filter" selected>the images the grid\'s filter showed</option>' in (
        html_lib.unescape(page)
    )
    assert f'<input type="hidden" name="deployment" value="{trap_c}">' in page
    assert '<input type="hidden" name="detections" value="without">' in page
    assert 'id="run-threshold"' in html


@pytest.mark.parametrize(
    "shown",
    [
        {"deployment": "Trap B", "detections": "without"},
        {"detections": "with", "label": LABELS[0]},
        {"min_confidence": "0.875"},
        {"filename": "2203"},
    ],
    ids=["without-detections", "label", "confidence", "file-name"],
)
def test_a_job_over_a_filter_takes_only_the_photos_the_grid_shows(
    seeded: Seeded, sign_in: Callable[[Account], Browser], shown: dict[str, str]
) -> None:
    proto = seeded.proto
    query = dict(shown)
    if "deployment" in query:
        query["deployment"] = str(seeded.deployments[query["deployment"]])
    grid = f"/projects/{seeded.project_id}/images?" + "&".join(f"{k}={v}" for k, v in query.items())
    browser = sign_in(proto.account)
    listed = {int(i) for i in _IMAGE_LINK.findall(browser.page(grid))}
    asked = {
        "deployment_id": query.get("deployment"),
        "has_detections": {"with": True, "without": False}.get(query.get("detections", "")),
        "label": query.get("label"),
        "min_confidence": query.get("min_confidence"),
        "filename": query.get("filename"),
    }
    assert listed == _listed(seeded, **{k: v for k, v in asked.items() if v is not None})
    assert listed, "the filter must take some photos"
    assert listed < set(seeded.images), "the filter must leave some photos out"

    form = {**query, "scope": "filter", "pipeline": "moth-test", "reprocess": "yes"}
    started = browser.post(f"/projects/{seeded.project_id}/jobs", form, csrf_from=grid)
    assert started.status_code == 303, started.text  # type: ignore[attr-defined]
    job_id = int(started.headers["location"].rsplit("/", 1)[1])  # type: ignore[attr-defined]
    job = proto.wait(job_id, {"running"})
    assert job["counts"]["total"] == len(listed)
    assert {int(t["image_id"]) for t in proto.claim(job_id, 100)} == listed


_SUGGESTIONS = re.compile(r'<datalist id="f-labels">(.*?)</datalist>', re.S)


def _suggested(browser: Browser, project_id: int) -> set[str]:
    (offered,) = _SUGGESTIONS.findall(browser.page(f"/projects/{project_id}/images"))
    return {html_lib.unescape(v) for v in re.findall(r'value="([^"]*)"', offered)}


def test_the_grids_label_suggestions_take_new_results_at_once_and_a_deletion_within_minutes(
    proto: Protocol, sign_in: Callable[[Account], Browser], fake_clock: FakeClock
) -> None:
    older, newer = proto.images(2)
    assert proto.register(pipeline_config()).status_code == 201
    run_boxes(proto, {older: [("fly", 0.9)], newer: [("moth", 0.8)]})
    browser = sign_in(proto.account)
    assert _suggested(browser, proto.project_id) == {"fly", "moth"}

    run_boxes(proto, {newer: [("beetle", 0.9)]})  # a newer annotation: offered at once
    assert _suggested(browser, proto.project_id) == {"fly", "moth", "beetle"}

    # The older photo's results go with it, but the project's newest annotation stays: the
    # suggestions are remembered until they are SUGGESTIONS_TTL seconds old.
    gone = proto.client.delete(f"{API}/images/{older}", headers=proto.headers)
    assert gone.status_code == 204, gone.text
    assert "fly" in _suggested(browser, proto.project_id)
    fake_clock.advance(SUGGESTIONS_TTL)
    assert _suggested(browser, proto.project_id) == {"moth", "beetle"}
