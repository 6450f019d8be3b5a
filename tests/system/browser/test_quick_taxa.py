"""Quick taxa in Chromium (1366 by 768) against a real ``trapline up --demo``: six individuals
on one photo of a project of their own; one identified with the taxon picker, the next with
one click on the button of the taxon just named, two more ticked on the event's page and
identified with one click too; the event's listing and the species page count all four."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.support.browser import App, sign_in
from tests.support.browser_scenes import SUGGESTION_MS, six

pytestmark = pytest.mark.slow


def _serious(page: Any) -> list[Any]:
    """What axe-core finds serious or critical on the page as it stands."""
    from axe_playwright_python.sync_playwright import Axe

    return [
        (v["id"], [n["target"] for n in v["nodes"]][:3])
        for v in Axe().run(page).response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def test_a_taxon_named_with_the_picker_names_the_next_in_one_click(
    page: Any, app: App, request: Any
) -> None:
    run = request.node.callspec.id
    page.set_viewport_size({"width": 1366, "height": 768})
    project, event, found = six(app, f"Quick herons {run}")
    first, second, *rest = found
    sign_in(page, app)
    # Nothing named in this project yet (whatever the admin named in others): no buttons.
    page.goto(f"{app.url}/occurrences/{first}")
    expect(page.locator(".quick-taxa")).to_have_count(0)
    picker = page.get_by_role("combobox", name=re.compile("Taxon"))
    picker.press_sequentially("ardea al", delay=30)
    option = page.get_by_role("option", name=re.compile(r"^Ardea alba \(species\)"))
    expect(option).to_be_visible(timeout=SUGGESTION_MS)
    option.click()
    expect(picker).to_have_value("Ardea alba (species)")
    page.get_by_role("button", name="Identify", exact=True).click()
    page.wait_for_url(re.compile(rf"/occurrences/{first}#identification$"))
    expect(page.locator("#determination")).to_contain_text("Ardea alba")

    # The next occurrence: one click on the taxon just named.
    page.goto(f"{app.url}/occurrences/{second}")
    quick = page.get_by_role("group", name=re.compile("in one click"))
    expect(quick.get_by_role("button")).to_have_text(["Ardea alba"])
    assert _serious(page) == []
    quick.get_by_role("button", name="Ardea alba").click()
    page.wait_for_url(re.compile(rf"/occurrences/{second}#identification$"))
    expect(page.locator("#determination")).to_contain_text("Ardea alba")
    expect(page.locator("#identifications li")).to_have_count(1)

    # Two ticked on the event's page, named with one click of its form's button.
    page.goto(f"{app.url}/events/{event}")
    for occurrence in rest[:2]:
        page.get_by_role("checkbox", name=f"tick occurrence {occurrence}", exact=True).check()
    page.get_by_role("group", name=re.compile("Or identify the ticked")).get_by_role(
        "button", name="Ardea alba"
    ).click()
    page.wait_for_url(re.compile(rf"/events/{event}\?identified=2#occurrences$"))
    expect(page.locator("#bulk-done")).to_have_text("2 occurrences identified.")
    rows = page.locator("#event-occurrences tbody tr")
    expect(rows).to_have_count(6)
    expect(rows.filter(has_text="Ardea alba")).to_have_count(4)

    page.goto(f"{app.url}/projects/{project}/species")
    row = page.locator("#species tbody tr").filter(has_text="Ardea alba")
    expect(row.locator("td.num").first).to_have_text("4")  # occurrences
