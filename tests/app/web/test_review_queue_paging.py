"""The review queue a page at a time: each page walks the project's detections down an index,
surest first, from where the previous page stopped, and stops after a bounded number of
entries; a cursor that is not the queue's own is refused by its name."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from tests.support.accounts import Account
from tests.support.app_client import AppClient
from tests.support.protocol import detection, pipeline_config, success
from tests.support.protocol_client import Protocol
from tests.support.web import Browser
from trapline.db.repositories.review import review_queue
from trapline.web.routes import review as review_route

#: One box a photo, its classification's score as sure as the models are (threshold 0.5).
SURE = [0.3, 0.9, 0.2, 0.6, 0.75]

Queue = tuple[Browser, int, int]


@pytest.fixture
def queue(
    sign_in: Callable[[Account], Browser],
    client: AppClient,
    owner: Account,
    project_id: int,
    jpeg: Callable[..., bytes],
) -> Queue:
    """Five detections of a job, none reviewed; the owner signed in; and the job's id."""
    proto = Protocol(client, owner, project_id, jpeg)
    assert proto.register(pipeline_config(default_threshold=0.5)).status_code == 201
    proto.images(len(SURE))
    job = proto.job_that_runs()
    tasks = proto.claim(job["id"], 10)
    proto.post(
        job["id"],
        *[
            success(t, detection(t, scores=[top, (1 - top) / 2, (1 - top) / 2]))
            for t, top in zip(tasks, SURE, strict=True)
        ],
    )
    proto.wait(job["id"], {"succeeded"})
    return sign_in(owner), project_id, job["id"]


def _shown(html: str) -> list[tuple[float, bool]]:
    """(confidence, marked under the threshold) of each row of a queue page."""
    rows = re.findall(r'<tr( class="under-threshold")?>\s*<td><img class="crop"', html)
    confidences = [float(c) for c in re.findall(r'<td class="num">(\d\.\d\d)', html)]
    return list(zip(confidences, [bool(r) for r in rows], strict=True))


def _further(html: str) -> str | None:
    found = re.search(r'href="([^"]+)" rel="next">Further down', html)
    return found.group(1).replace("&amp;", "&") if found else None


def test_the_queue_pages_from_where_the_last_page_stopped(
    queue: Queue, monkeypatch: pytest.MonkeyPatch
) -> None:
    browser, p, _ = queue
    monkeypatch.setattr(review_route, "QUEUE_LENGTH", 2)
    first = browser.page(f"/projects/{p}/review")
    assert _shown(first) == [(0.9, False), (0.75, False)]
    second = browser.page(_further(first) or "no link")
    # Those that count come first within a page.
    assert _shown(second) == [(0.6, False), (0.3, True)]
    assert f'href="/projects/{p}/review">' in second  # back to the top
    third = browser.page(_further(second) or "no link")
    assert _shown(third) == [(0.2, True)]
    assert _further(third) is None
    beyond = browser.page(f"/projects/{p}/review?cursor=0.1:1")
    assert "Nothing further down the queue" in beyond
    # A reviewed detection leaves the queue: the next page starts after it.
    surest = re.search(r"#a(\d+)", first)
    assert surest
    reviewed = browser.client.post(
        f"/api/v2/annotations/{surest.group(1)}/reviews",
        json={"verdict": "confirm"},
        headers=browser.account.headers,
    )
    assert reviewed.status_code == 201, reviewed.text
    assert _shown(browser.page(f"/projects/{p}/review")) == [(0.75, False), (0.6, False)]


def test_a_pages_walk_is_bounded_and_goes_on_from_where_it_stopped(
    queue: Queue, monkeypatch: pytest.MonkeyPatch
) -> None:
    browser, p, _ = queue
    # Each detection is two entries of the walk: its classification (scored) and its box
    # (unscored, passed over: the classification stands for it).
    monkeypatch.setattr(review_queue, "WALK_LIMIT", 3)
    pages, path = [], f"/projects/{p}/review"
    for _ in range(6):
        html = browser.page(path)
        pages.append(_shown(html))
        following = _further(html)
        if following is None:
            break
        path = following
    assert pages == [
        [(0.9, False), (0.75, False), (0.6, False)],
        [(0.3, True), (0.2, True)],
        [],
        [],
    ]
    assert "None of the detections looked at for this page" in browser.page(
        f"/projects/{p}/review?cursor=none:{2**62}"
    )


@pytest.mark.parametrize(
    "cursor",
    ["abc", "0.5", "0.5:0", "nan:3", "inf:3", "1e999:3", "0.5:-3", f"0.5:{10**19}", "x" * 61],
)
def test_a_cursor_that_is_not_the_queues_is_refused_by_name(queue: Queue, cursor: str) -> None:
    browser, p, _ = queue
    refused = browser.page(f"/projects/{p}/review?cursor={cursor}", status=400)
    assert "cursor" in refused


def test_a_jobs_queue_is_one_page(queue: Queue) -> None:
    browser, p, job = queue
    page = browser.page(f"/projects/{p}/review?job={job}")
    assert [c for c, _ in _shown(page)] == [0.9, 0.75, 0.6, 0.3, 0.2]
    assert _further(page) is None
    refused = browser.page(f"/projects/{p}/review?job={job}&cursor=0.5:3", status=400)
    assert "cursor" in refused
