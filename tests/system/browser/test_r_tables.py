"""The tables for R in Chromium at 1366x768, on the camtrapR scene of
tests/support/camtrap_scene.py made on the running server: a person exports camtrapR's record
table and a detection history from the export form (its settings filled with camtrapR's
defaults), reads the taxa by night table from the species view and a deployment's page and
downloads its CSV, and pastes a species list on the taxa page. Each file is checked against
the API's answer to the same settings."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.accounts import Account
from tests.support.browser import TRACKING_TIMEOUT, App, sign_in
from tests.support.camtrap_scene import PHOTOS, CamtrapScene, build_camtrap_scene
from tests.support.protocol_client import Protocol
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow

#: Milliseconds a table export may take on a loaded machine.
EXPORT_TIMEOUT_MS = 90_000
#: Milliseconds a picker's suggestions may take to come on a loaded machine.
SUGGESTION_MS = 10_000


@pytest.fixture(scope="module")
def scene(app: App) -> Iterator[tuple[Protocol, CamtrapScene]]:
    """The scene in a camera-trap project of its own, tracked by the server's duty."""
    with httpx.Client(base_url=app.url, timeout=60) as client:
        auth = {"Authorization": f"Token {app.token}"}
        made = client.post(
            "/api/v2/projects/", json={"name": "R tables", "kind": "camera_trap"}, headers=auth
        )
        assert made.status_code == 201, made.text
        proto = Protocol(client, Account(0, "admin@localhost", app.token), made.json()["id"],
                         jpeg=lambda *_: b"")  # type: ignore[arg-type]  # fmt: skip

        def tracked(proto: Protocol) -> None:
            def all_there() -> bool:
                found = client.get(
                    f"/api/v2/projects/{proto.project_id}/occurrences", headers=auth
                ).json()
                return bool(found["count"] == len(PHOTOS))

            wait_until(all_there, "the scene's tracking", timeout=TRACKING_TIMEOUT)

        yield proto, build_camtrap_scene(proto, tracked)


def _api_csv(app: App, project: int, path: str, **params: Any) -> bytes:
    answer = app.api("GET", f"/projects/{project}/{path}", params={**params, "format": "csv"})
    assert answer.status_code == 200, answer.text
    return answer.content


def _wide_enough(page: Any) -> None:
    """The page does not scroll sideways at 1366 px."""
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366


def _downloaded(page: Any, link: Any) -> bytes:
    with page.expect_download() as made:
        link.click()
    return Path(made.value.path()).read_bytes()


def test_a_person_exports_camtrapr_tables_from_the_form(
    page: Any, app: App, scene: tuple[Protocol, CamtrapScene]
) -> None:
    proto, found = scene
    p = proto.project_id
    page.set_viewport_size({"width": 1366, "height": 768})
    sign_in(page, app)
    exports = f"{app.url}/projects/{p}/exports"
    page.goto(exports)

    page.select_option("#e-format", "record-table")
    # Only the record table's settings show, filled with camtrapR's defaults.
    assert page.is_visible("#e-records")
    assert not page.is_visible("#e-results")
    assert not page.is_visible("#e-history")
    assert page.input_value("#e-delta") == "0"
    assert page.input_value("#e-compared") == "lastRecord"
    assert page.input_value("#e-duplicates") == "true"
    _wide_enough(page)
    page.fill("#e-delta", "30")
    page.select_option("#e-compared", "lastIndependentRecord")
    page.click("#start-export button[type=submit]")
    page.wait_for_url(exports)
    row = page.locator("tr.export-item").first
    assert "min delta minutes 30" in row.inner_text()
    link = row.locator("a.download")
    link.wait_for(state="visible", timeout=EXPORT_TIMEOUT_MS)
    table = page.request.get(app.url + link.get_attribute("href"))
    assert table.ok, table.status
    expected = _api_csv(app, p, "record-table", min_delta_minutes=30,
                        delta_compared_to="lastIndependentRecord")  # fmt: skip
    assert table.body() == expected
    assert len(expected.decode().splitlines()) == 1 + 7

    # A detection history: its taxon by the picker, occasions of two days. A mistake first.
    page.select_option("#e-format", "detection-hist")
    assert page.is_visible("#e-history")
    assert page.is_visible("#e-days")
    assert page.input_value("#e-setup") == "half"
    picker = page.get_by_role("combobox", name=re.compile("Taxon"))
    picker.press_sequentially("ardea al", delay=30)
    option = page.get_by_role("option", name=re.compile(r"^Ardea alba \(species\)"))
    option.wait_for(timeout=SUGGESTION_MS)
    option.click()
    page.fill("#e-occasion", "2")
    page.fill("#e-active", "3")
    page.click("#start-export button[type=submit]")
    error = page.locator("#min_active_days-error")
    assert "from 1 to occasion_length (2)" in error.inner_text()
    assert page.input_value("#e-format") == "detection-hist"
    assert page.input_value("#e-occasion") == "2"
    assert picker.input_value() == "Ardea alba (species)"
    page.fill("#e-active", "")
    page.check("input[name=include_effort]")
    page.click("#start-export button[type=submit]")
    page.wait_for_url(exports)
    row = page.locator("tr.export-item").first
    assert "taxon Ardea alba" in row.inner_text()
    link = row.locator("a.download")
    link.wait_for(state="visible", timeout=EXPORT_TIMEOUT_MS)
    history = page.request.get(app.url + link.get_attribute("href"))
    assert history.body() == _api_csv(
        app, p, "detection-history", taxon=found.taxa["Ardea alba"], occasion_length=2,
        include_effort="true",
    )  # fmt: skip
    assert b"A,%d,2024-03-01,1,1,1.5,0.5" % found.a in history.body()


def test_a_person_reads_the_counts_by_night_and_downloads_them(
    page: Any, app: App, scene: tuple[Protocol, CamtrapScene]
) -> None:
    proto, found = scene
    p = proto.project_id
    page.set_viewport_size({"width": 1366, "height": 768})
    sign_in(page, app)
    page.goto(f"{app.url}/projects/{p}/species")
    page.click("#counts-by-night")
    page.wait_for_url(f"{app.url}/projects/{p}/counts")
    rows = page.locator("#counts tbody tr")
    assert rows.nth(0).inner_text().split() == ["Ardea", "cinerea", "species", "5", "1", "6"]
    assert rows.nth(1).inner_text().split() == ["Ardea", "alba", "species", "1", "3", "1", "5"]
    _wide_enough(page)
    shown = _downloaded(page, page.get_by_role("link", name="as shown, a column per night"))
    assert list(csv.reader(io.StringIO(shown.decode()))) == [
        ["taxon_id", "scientific_name", "rank", "label", "2024-03-01", "2024-03-02", "2024-03-03"],
        [str(found.taxa["Ardea cinerea"]), "Ardea cinerea", "species", "", "5", "0", "1"],
        [str(found.taxa["Ardea alba"]), "Ardea alba", "species", "", "1", "3", "1"],
    ]
    # From station B's page: its counts only, as rows for R.
    page.goto(f"{app.url}/deployments/{found.b}")
    page.click("#counts-by-night")
    page.wait_for_url(re.compile(rf"/projects/{p}/counts\?deployment={found.b}$"))
    assert page.locator("h1").inner_text() == "Counts by night: B"
    page.select_option("#f-rank", "genus")
    page.click("#filters button[type=submit]")
    assert page.locator("#counts tbody tr").first.inner_text().split() == [
        "Ardea", "genus", "3", "1", "4",
    ]  # fmt: skip
    as_rows = _downloaded(page, page.get_by_role("link", name="a row per taxon and night"))
    assert as_rows == _api_csv(app, p, "counts", by="night", deployment=found.b, rank="genus")
    # A mistake in the filters is told beside its field.
    page.fill("#f-since", "2024-03-04")
    page.fill("#f-until", "2024-03-01")
    page.click("#filters button[type=submit]")
    assert "comes after the last" in page.locator("#since-error").inner_text()


def test_a_person_pastes_a_species_list(
    page: Any, app: App, scene: tuple[Protocol, CamtrapScene]
) -> None:
    proto, _ = scene
    p = proto.project_id
    page.set_viewport_size({"width": 1366, "height": 768})
    sign_in(page, app)
    page.goto(f"{app.url}/projects/{p}/taxa")
    assert page.input_value("#t-rank") == "species"
    # One line refused: nothing added, the list kept to be mended.
    page.fill("#t-names", "Ardea alba\nArdea purpurea\n=SUM(A1)\n")
    page.click("#type-names button[type=submit]")
    assert "Nothing added" in page.locator("#import-outcomes").inner_text()
    refused = page.locator("#outcomes tr.outcome-error")
    assert "formula" in refused.inner_text()
    assert "Ardea purpurea" in page.input_value("#t-names")
    _wide_enough(page)
    page.fill("#t-names", "Ardea alba\nArdea purpurea\nEgretta garzetta\nNycticorax (genus)\n")
    page.click("#type-names button[type=submit]")
    outcome = page.locator("#import-outcomes")
    assert "2 matched to the list, 2 added." in outcome.inner_text()
    lines = [r.inner_text().split("\t")[:3] for r in page.locator("#outcomes tbody tr").all()]
    assert lines == [
        ["1", "Ardea alba", "matched"],
        ["2", "Ardea purpurea", "added"],
        ["3", "Egretta garzetta", "matched"],
        ["4", "Nycticorax", "added"],
    ]
    assert page.input_value("#t-names") == ""
    found = app.api("GET", f"/projects/{p}/taxa/search", params={"q": "Ardea purpurea"}).json()
    ardea = app.api("GET", f"/projects/{p}/taxa/search", params={"q": "Ardea"}).json()
    genus = next(t["id"] for t in ardea if t["rank"] == "genus")
    assert [(t["rank"], t["parent_id"]) for t in found] == [("species", genus)]
