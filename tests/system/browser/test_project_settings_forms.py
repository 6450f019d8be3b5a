"""A project's settings forms in Chromium: a person types the project's time zone and the licence
and contacts publishing names, saves, finds them on the page again, changes one thing at a time
without losing the others, and a mistake comes back named on its field with what was typed kept."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.browser import App, sign_in

pytestmark = pytest.mark.slow

CONTACTS = (
    "Ann Lee <ann.lee@example.org>; Lake Moth Society; principalInvestigator\n"
    "Bo Chen <bo@example.org>"
)


def _project(app: App, project_id: int) -> dict[str, Any]:
    answer = app.api("GET", f"/projects/{project_id}/")
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def _save(page: Any, url: str, button: str) -> None:
    """Click the form's button and wait for the page that answers (often the same address)."""
    with page.expect_navigation(url=url):
        page.click(f"button:text('{button}')")


def test_a_person_sets_the_licence_and_contacts_and_changes_one_at_a_time(
    page: Any, app: App
) -> None:
    sign_in(page, app)
    project_id = app.api("POST", "/projects/", json={"name": "Lake moths"}).json()["id"]
    home = f"{app.url}/projects/{project_id}"
    page.goto(home)
    page.fill("#p-licence", "CC-BY-4.0")
    page.fill("#p-contacts", CONTACTS)
    _save(page, f"{home}#publishing", "Save licence and contacts")
    made = _project(app, project_id)
    assert made["licence"] == "CC-BY-4.0"
    assert made["contacts"] == [
        {
            "name": "Ann Lee",
            "email": "ann.lee@example.org",
            "organisation": "Lake Moth Society",
            "role": "principalInvestigator",
        },
        {"name": "Bo Chen", "email": "bo@example.org", "organisation": "", "role": "contact"},
    ]

    # Loaded again, the form shows what is stored; changing the licence keeps the contacts.
    page.goto(home)
    assert page.input_value("#p-licence") == "CC-BY-4.0"
    assert "Ann Lee <ann.lee@example.org>" in page.input_value("#p-contacts")
    page.fill("#p-licence", "https://creativecommons.org/licenses/by-nc/4.0/")
    _save(page, f"{home}#publishing", "Save licence and contacts")
    # (the time zone, saved by its own form, is left as it was too)
    assert _project(app, project_id) == {
        **made,
        "licence": "https://creativecommons.org/licenses/by-nc/4.0/",
    }

    # An email typed without its brackets is named on the contacts field; what the person typed
    # in both fields stays, and nothing is stored.
    before = _project(app, project_id)
    typed = CONTACTS + "\nCara Diaz cara@example.org; Moth Society"
    page.fill("#p-licence", "CC0-1.0")
    page.fill("#p-contacts", typed)
    _save(page, f"{home}/publishing", "Save licence and contacts")
    error = page.locator("#contacts-error")
    assert "line 3: put the email in angle brackets" in error.inner_text()
    assert page.get_attribute("#p-contacts", "aria-invalid") == "true"
    assert page.input_value("#p-contacts") == typed
    assert page.input_value("#p-licence") == "CC0-1.0"
    assert _project(app, project_id) == before

    # A role that is none of the five is named with the line it is on.
    page.fill("#p-contacts", CONTACTS + "\nCara Diaz <cara@example.org>; Moth Society; boss")
    _save(page, f"{home}/publishing", "Save licence and contacts")
    assert "line 3: role" in page.locator("#contacts-error").inner_text()

    # Put right, all three contacts and the new licence are stored.
    page.fill("#p-contacts", CONTACTS + "\nCara Diaz <cara@example.org>; Moth Society")
    _save(page, f"{home}#publishing", "Save licence and contacts")
    stored = _project(app, project_id)
    assert stored["licence"] == "CC0-1.0"
    assert [c["name"] for c in stored["contacts"]] == ["Ann Lee", "Bo Chen", "Cara Diaz"]
    assert stored["contacts"][2]["organisation"] == "Moth Society"


def test_a_person_types_the_project_time_zone_and_a_wrong_one_is_named(page: Any, app: App) -> None:
    sign_in(page, app)
    project_id = app.api(
        "POST", "/projects/", json={"name": "Heron ponds", "kind": "camera_trap"}
    ).json()["id"]
    set_licence = app.api(
        "PATCH",
        f"/projects/{project_id}/",
        json={"licence": "CC-BY-4.0", "contacts": [{"name": "Ann Lee", "email": "a@example.org"}]},
    )
    assert set_licence.status_code == 200, set_licence.text
    home = f"{app.url}/projects/{project_id}"
    page.goto(home)
    # Typed in small letters, the zone is refused with its name as the database spells it.
    page.fill("#p-zone", "europe/berlin")
    _save(page, f"{home}/time-zone", "Save and re-read capture times")
    assert "use Europe/Berlin, as the zone database spells it" in page.inner_text(
        "#time_zone-error"
    )
    assert page.input_value("#p-zone") == "europe/berlin"
    assert _project(app, project_id)["time_zone"] == "UTC"
    page.fill("#p-zone", "Europe/Berlin")
    _save(page, home, "Save and re-read capture times")
    made = _project(app, project_id)
    assert made["time_zone"] == "Europe/Berlin"
    # Saving the zone leaves the licence and contacts as they were.
    assert made["licence"] == "CC-BY-4.0"
    assert [(c["name"], c["email"]) for c in made["contacts"]] == [("Ann Lee", "a@example.org")]
    page.goto(home)
    assert page.input_value("#p-zone") == "Europe/Berlin"
    assert page.input_value("#p-licence") == "CC-BY-4.0"

    # EST is an offset, not a place: named on the zone's field, with what was typed kept.
    page.fill("#p-zone", "EST")
    _save(page, f"{home}/time-zone", "Save and re-read capture times")
    error = page.locator("#time_zone-error")
    assert "EST is a fixed offset (UTC-05:00), not a place" in error.inner_text()
    assert page.get_attribute("#p-zone", "aria-invalid") == "true"
    assert page.input_value("#p-zone") == "EST"
    # The other forms on the page still show what is stored.
    assert page.input_value("#p-licence") == "CC-BY-4.0"
    assert _project(app, project_id)["time_zone"] == "Europe/Berlin"

    # A name typed with spaces around it, as pasted, is read without them.
    page.fill("#p-zone", " America/New_York ")
    _save(page, home, "Save and re-read capture times")
    stored = _project(app, project_id)
    assert stored["time_zone"] == "America/New_York"
    assert (stored["licence"], stored["contacts"]) == (made["licence"], made["contacts"])
