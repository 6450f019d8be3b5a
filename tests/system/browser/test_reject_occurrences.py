"""Rejecting occurrences whole in Chromium against a real ``trapline up --demo``, at a
1366 x 768 window: on a camera trap's event page two ticked occurrences rejected as "not an
animal" in one submission, left out of the species counts, then counted again by the undo
beside the notice; on the identify page of a light trap one ticked and rejected as "not an
insect"; on an occurrence's own page one rejected as "nothing there", the page then saying so
with its undo."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.support.browser import App, ok_json, sign_in
from tests.support.browser_scenes import six

pytestmark = pytest.mark.slow

WINDOW = {"width": 1366, "height": 768}


def _counted(app: App, project: int) -> int:
    """The occurrences the species view counts."""
    rows = ok_json(app.api("GET", f"/projects/{project}/species"))["results"]
    return sum(r["occurrences"] for r in rows)


def test_ticked_occurrences_are_rejected_on_the_event_page_and_the_undo_counts_them_again(
    page: Any, app: App, request: Any
) -> None:
    run = request.node.callspec.id
    project, event, _ = six(app, f"Camera rejects {run}", kind="camera_trap")
    page.set_viewport_size(WINDOW)
    sign_in(page, app)
    page.goto(f"{app.url}/events/{event}")
    rows = page.locator("#event-occurrences tbody tr")
    expect(rows).to_have_count(6)
    # A camera trap is offered "not an animal" and "nothing there", never "not an insect".
    form = page.locator("#occurrence-actions")
    expect(form.get_by_role("button", name="Not an animal")).to_be_visible()
    expect(form.get_by_role("button", name="Not an insect")).to_have_count(0)
    rows.nth(0).get_by_role("checkbox").check()
    rows.nth(1).get_by_role("checkbox").check()
    form.get_by_role("button", name="Not an animal").click()
    page.wait_for_url(re.compile(rf"/events/{event}\?rejected=2&undo=\d+,\d+#occurrences$"))
    expect(page.locator("#rejected-done")).to_contain_text("2 occurrences rejected")
    expect(page.locator("#rejected-count")).to_contain_text("2 of them rejected")
    expect(rows.filter(has_text="rejected")).to_have_count(2)
    assert _counted(app, project) == 4

    page.get_by_role("button", name="Undo: count them again").click()
    page.wait_for_url(re.compile(rf"/events/{event}\?undone=2#occurrences$"))
    expect(page.locator("#undone")).to_contain_text("2 identifications withdrawn")
    expect(rows.filter(has_text="rejected")).to_have_count(0)
    assert _counted(app, project) == 6


def test_one_is_rejected_from_the_identify_page_and_one_on_its_own_page(
    page: Any, app: App, request: Any
) -> None:
    run = request.node.callspec.id
    project, _, found = six(app, f"Moth rejects {run}", kind="light_trap")
    page.set_viewport_size(WINDOW)
    sign_in(page, app)
    page.goto(f"{app.url}/projects/{project}/identify")
    boxes = page.locator("#identify-queue input.tick")
    expect(boxes).to_have_count(6)
    expect(page.get_by_role("button", name="Not an animal")).to_have_count(0)
    first = int(boxes.nth(0).get_attribute("value") or 0)
    boxes.nth(0).check()
    page.get_by_role("button", name="Not an insect").click()
    page.wait_for_url(re.compile(rf"/projects/{project}/identify\?rejected=1&undo=\d+$"))
    expect(page.locator("#rejected-done")).to_contain_text("1 occurrence rejected: it counts")
    expect(page.locator("#identify-queue input.tick")).to_have_count(5)
    assert _counted(app, project) == 5

    # Its own page says it is rejected, with the undo; another is rejected there.
    page.goto(f"{app.url}/occurrences/{first}")
    expect(page.locator("#rejected")).to_contain_text("Not an insect")
    other = next(o for o in found if o != first)
    page.goto(f"{app.url}/occurrences/{other}")
    page.fill("#identify-comment", "a reflection on the sheet")
    page.get_by_role("button", name="Nothing there").click()
    page.wait_for_url(re.compile(rf"/occurrences/{other}#identification$"))
    expect(page.locator("#rejected")).to_contain_text("Nothing there")
    expect(page.locator("#identifications")).to_contain_text("rejected it: nothing there")
    expect(page.locator("#identifications")).to_contain_text("a reflection on the sheet")
    assert _counted(app, project) == 4
    page.get_by_role("button", name="Undo: count it again").click()
    page.wait_for_url(re.compile(rf"/occurrences/{other}#identification$"))
    expect(page.locator("#rejected")).to_have_count(0)
    expect(page.locator("#identifications li.withdrawn")).to_have_count(1)
    assert _counted(app, project) == 5
