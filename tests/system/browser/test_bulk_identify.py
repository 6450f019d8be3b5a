"""Bulk identification in Chromium against a real ``trapline up --demo``: six individuals on
one photo of a project of their own; five ticked on the identify page (the fourth by a
shift-click's range), named with the taxon picker and identified at once, then seen on the
event's page and counted on the species page; and a whole label group confirmed in one action
on the identify page grouped by the models' label."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.support.browser import App, ok_json, sign_in
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


def test_five_ticked_one_by_a_shift_click_range_are_identified_at_once(
    page: Any, app: App, request: Any
) -> None:
    run = request.node.callspec.id
    project, event, _ = six(app, f"Bulk herons {run}")
    # A script the Content-Security-Policy refused, or one that failed, says so here.
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    sign_in(page, app)
    page.goto(f"{app.url}/projects/{project}/identify")
    boxes = page.locator("#identify-queue input.tick")
    expect(boxes).to_have_count(6)
    assert _serious(page) == []
    count = page.locator("output[data-ticked-count]")
    # "Tick all on this page" ticks and unticks without a reload.
    tick_all = page.get_by_role("button", name="Tick all on this page")
    tick_all.click()
    expect(count).to_have_text("6 ticked")
    page.get_by_role("button", name="Untick all on this page").click()
    expect(count).to_have_text("")
    boxes.nth(0).click()
    boxes.nth(1).click()
    boxes.nth(2).click()
    boxes.nth(4).click(modifiers=["Shift"])  # ticks the fourth too
    expect(count).to_have_text("5 ticked")
    ticked = [int(boxes.nth(n).get_attribute("value") or 0) for n in range(6)
              if boxes.nth(n).is_checked()]  # fmt: skip
    assert len(ticked) == 5
    assert not boxes.nth(5).is_checked()
    picker = page.get_by_role("combobox", name=re.compile("Taxon for all the ticked"))
    picker.press_sequentially("ardea c", delay=30)
    option = page.get_by_role("option", name=re.compile(r"^Ardea cinerea \(species\)"))
    expect(page.get_by_role("option")).to_have_count(1, timeout=SUGGESTION_MS)
    option.click()
    expect(picker).to_have_value("Ardea cinerea (species)")
    page.fill("#bulk-identify-comment", "five herons in a row")
    page.get_by_role("button", name="Identify the ticked").click()
    page.wait_for_url(re.compile(rf"/projects/{project}/identify\?identified=5$"))
    expect(page.locator("#bulk-done")).to_have_text("5 occurrences identified.")
    expect(page.locator("#identify-queue input.tick")).to_have_count(1)

    # The event's page shows the five as identified by a person.
    page.goto(f"{app.url}/events/{event}")
    rows = page.locator("#event-occurrences tbody tr")
    expect(rows).to_have_count(6)
    named = rows.filter(has_text="Ardea cinerea")
    expect(named).to_have_count(5)
    assert _serious(page) == []
    for n in range(5):
        expect(named.nth(n).locator("td").nth(3)).not_to_have_text("model")
    for occurrence in ticked:
        history = ok_json(app.api("GET", f"/occurrences/{occurrence}/identifications"))
        assert [(i["taxon"]["scientific_name"], i["comment"]) for i in history] == [
            ("Ardea cinerea", "five herons in a row")
        ]
    page.goto(f"{app.url}/projects/{project}/species")
    row = page.locator("#species tbody tr").first
    expect(row.locator("td").nth(1)).to_have_text("Ardea cinerea")
    assert row.locator("td.num").all_inner_texts()[0] == "5"  # occurrences
    assert problems == []


def test_a_label_group_is_confirmed_in_one_action(page: Any, app: App, request: Any) -> None:
    run = request.node.callspec.id
    project, event, _ = six(app, f"Bulk groups {run}")
    search = ok_json(app.api("GET", f"/projects/{project}/taxa/search", params={"q": "Aves"}))
    (aves,) = [t["id"] for t in search if t["scientific_name"] == "Aves"]
    ok_json(
        app.api("POST", f"/projects/{project}/labels", json={"label": "animal", "taxon_id": aves})
    )
    sign_in(page, app)
    page.goto(f"{app.url}/projects/{project}/identify")
    page.get_by_role("link", name="By the model's label").click()
    groups = page.locator("section.label-group")
    expect(groups).to_have_count(2)
    animals = groups.filter(has_text="“animal”")
    expect(animals.locator("h2")).to_contain_text("4 occurrences")
    expect(animals.locator("img.thumb")).to_have_count(4)
    expect(groups.filter(has_text="“person”").get_by_role("button")).to_have_count(0)
    assert _serious(page) == []
    animals.get_by_role("button", name="Confirm all 4 as Aves").click()
    page.wait_for_url(re.compile(rf"/projects/{project}/identify\?by=label&identified=4$"))
    expect(page.locator("#bulk-done")).to_have_text("4 occurrences identified.")
    expect(groups).to_have_count(1)
    expect(groups.first.locator("h2")).to_contain_text("“person”")
    species = ok_json(app.api("GET", f"/projects/{project}/species"))["results"]
    assert [(r["taxon"]["scientific_name"] if r["taxon"] else None, r["occurrences"])
            for r in species] == [("Aves", 4), (None, 2)]  # fmt: skip
    occurrences = ok_json(app.api("GET", f"/events/{event}/occurrences"))["results"]
    assert sorted(o["determination"]["by"] for o in occurrences) == ["model"] * 2 + ["person"] * 4
