"""The deployment form takes numbers and times as people type them, says per field what is
wrong, gives back what was typed, and never changes a field the person did not touch."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from sqlalchemy import text

API = "/api/v2"

#: What a person types into the form to add a deployment.
TYPED = {
    "name": "Moth trap at the lake",
    "description": "Sheet and mercury lamp",
    "latitude": "44.4759",
    "longitude": "-73.2121",
    "started_at": "2024-06-21T20:00",
    "ended_at": "2024-06-22T06:30",
    "time_zone": "America/New_York",
}


def _api(client: Any, owner: Any, deployment_id: int) -> dict[str, Any]:
    answer = client.get(f"{API}/deployments/{deployment_id}", headers=owner.headers)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def _add(browser: Any, project_id: int, values: dict[str, str]) -> Any:
    return browser.post(f"/projects/{project_id}/deployments", values)


def test_coordinates_typed_in_the_form_are_saved(client, owner, project_id, sign_in) -> None:
    browser = sign_in(owner)
    made = _add(browser, project_id, TYPED)
    assert made.status_code == 303, made.text
    deployment_id = int(made.headers["location"].rsplit("/", 1)[1])
    got = _api(client, owner, deployment_id)
    assert (got["latitude"], got["longitude"]) == (44.4759, -73.2121)
    assert (got["started_at"], got["ended_at"]) == ("2024-06-21T20:00:00", "2024-06-22T06:30:00")
    assert got["time_zone"] == "America/New_York"
    page = browser.page(f"/deployments/{deployment_id}")
    assert 'value="44.4759"' in page
    assert 'value="-73.2121"' in page


@pytest.mark.parametrize(
    ("latitude", "longitude", "stored"),
    [
        ("44,4759", "7,25", (44.4759, 7.25)),  # a decimal comma
        (" -12.5 ", "\u2212" + "45", (-12.5, -45.0)),  # spaces, a typographic minus
        ("90", "-180", (90.0, -180.0)),  # the bounds themselves
        ("0", "0", (0.0, 0.0)),
    ],
)
def test_numbers_as_people_write_them(
    client, owner, project_id, sign_in, latitude, longitude, stored
) -> None:
    browser = sign_in(owner)
    made = _add(browser, project_id, {"name": "Trap", "latitude": latitude, "longitude": longitude})
    assert made.status_code == 303, made.text
    got = _api(client, owner, int(made.headers["location"].rsplit("/", 1)[1]))
    assert (got["latitude"], got["longitude"]) == stored


@pytest.mark.parametrize(
    ("field", "typed", "message"),
    [
        ("latitude", "91", "latitude: a number from -90 to 90"),
        ("latitude", "north", "latitude: a number from -90 to 90 (got 'north')"),
        ("longitude", "nan", "longitude: a number from -180 to 180 (got 'nan')"),
        ("longitude", "1e999", "longitude: a number from -180 to 180"),
        ("longitude", "1.2.3", "longitude: a number from -180 to 180 (got '1.2.3')"),
        ("started_at", "yesterday", "started_at"),
        ("time_zone", "US/Eastern", "US/Eastern is an old alias; use America/New_York"),
        ("time_zone", "EST", "time_zone: an IANA time zone name in canonical form: EST is"),
    ],
)
def test_a_wrong_field_is_named_and_what_was_typed_comes_back(
    client, owner, project_id, sign_in, field, typed, message
) -> None:
    browser = sign_in(owner)
    refused = _add(browser, project_id, {**TYPED, field: typed})
    assert refused.status_code == 400
    assert f'id="{field}-error"' in refused.text
    assert message in refused.text.replace("&#39;", "'")
    for other, value in TYPED.items():
        if other != field and other != "description":
            assert f'value="{value}"' in refused.text, other
    assert "Sheet and mercury lamp</textarea>" in refused.text
    listed = client.get(f"{API}/projects/{project_id}/deployments", headers=owner.headers)
    assert listed.json()["count"] == 0


def test_two_wrong_fields_are_both_named(client, owner, project_id, sign_in) -> None:
    browser = sign_in(owner)
    refused = _add(browser, project_id, {**TYPED, "latitude": "x", "longitude": "200"})
    assert refused.status_code == 400
    assert 'id="latitude-error"' in refused.text
    assert 'id="longitude-error"' in refused.text


def test_saving_the_form_unchanged_keeps_every_field(client, owner, project_id, sign_in) -> None:
    # Made through the API with what the form cannot show as typed (seconds, many decimals).
    made = client.post(
        f"{API}/projects/{project_id}/deployments",
        json={
            "name": "Heron pond",
            "description": "Two lines\nof notes",
            "latitude": 51.123456789,
            "longitude": -0.5,
            "started_at": "2024-06-21T20:00:17.250",
            "ended_at": "2024-07-01T08:00:00",
            "time_zone": "Europe/London",
        },
        headers=owner.headers,
    )
    assert made.status_code == 201, made.text
    deployment_id = made.json()["id"]
    before = _api(client, owner, deployment_id)
    browser = sign_in(owner)
    page = browser.page(f"/deployments/{deployment_id}")
    shown = _form_values(page)
    saved = browser.post(f"/deployments/{deployment_id}", shown)
    assert saved.status_code == 303, saved.text
    assert _api(client, owner, deployment_id) == before
    # One field changed: only that one changes.
    saved = browser.post(f"/deployments/{deployment_id}", {**shown, "longitude": "-0,75"})
    assert saved.status_code == 303, saved.text
    assert _api(client, owner, deployment_id) == {**before, "longitude": -0.75}
    # A field the person empties is emptied.
    saved = browser.post(
        f"/deployments/{deployment_id}", {**shown, "latitude": "", "longitude": ""}
    )
    assert saved.status_code == 303, saved.text
    after = _api(client, owner, deployment_id)
    assert (after["latitude"], after["longitude"]) == (None, None)
    assert after["started_at"] == before["started_at"]


def test_a_refused_edit_changes_nothing(client, owner, project_id, sign_in) -> None:
    browser = sign_in(owner)
    made = _add(browser, project_id, TYPED)
    deployment_id = int(made.headers["location"].rsplit("/", 1)[1])
    before = _api(client, owner, deployment_id)
    refused = browser.post(f"/deployments/{deployment_id}", {**TYPED, "latitude": "444.759"})
    assert refused.status_code == 400
    assert 'value="444.759"' in refused.text
    assert _api(client, owner, deployment_id) == before


def test_the_standard_time_box_sets_and_clears_and_an_edit_without_it_keeps_it(
    client, owner, project_id, sign_in
) -> None:
    browser = sign_in(owner)
    # The form sends a hidden "off" before the box; a ticked box adds "on".
    ticked: Any = ["off", "on"]
    made = _add(browser, project_id, {**TYPED, "standard_time": ticked})
    assert made.status_code == 303, made.text
    deployment_id = int(made.headers["location"].rsplit("/", 1)[1])
    before = _api(client, owner, deployment_id)
    assert before["standard_time"] is True
    page = browser.page(f"/deployments/{deployment_id}")
    assert re.search(r'id="d-standard-time" name="standard_time" checked', page), page
    assert "at its standard time all year" in page
    shown = _form_values(page)
    # Saved as shown (the box still ticked), or by a form without the box: nothing changes.
    for sent in ({**shown, "standard_time": ticked}, shown):
        saved = browser.post(f"/deployments/{deployment_id}", sent)
        assert saved.status_code == 303, saved.text
        assert _api(client, owner, deployment_id) == before
    # Another field changed with the box untouched: the box keeps its value.
    saved = browser.post(
        f"/deployments/{deployment_id}", {**shown, "standard_time": ticked, "name": "Lakeside"}
    )
    assert saved.status_code == 303, saved.text
    assert _api(client, owner, deployment_id) == {**before, "name": "Lakeside"}
    # Unticked: only the hidden "off" comes.
    saved = browser.post(f"/deployments/{deployment_id}", {**shown, "standard_time": "off"})
    assert saved.status_code == 303, saved.text
    assert _api(client, owner, deployment_id)["standard_time"] is False
    page = browser.page(f"/deployments/{deployment_id}")
    assert re.search(r'id="d-standard-time" name="standard_time">', page), page
    # A new deployment whose box is left alone follows daylight saving.
    plain = _add(browser, project_id, {**TYPED, "standard_time": "off"})
    plain_id = int(plain.headers["location"].rsplit("/", 1)[1])
    assert _api(client, owner, plain_id)["standard_time"] is False


def _form_values(page: str) -> dict[str, str]:
    """The deployment form's fields as the page fills them in."""
    values = {
        name: html.unescape(value)
        for name, value in re.findall(
            r'<input id="d-[a-z]+" name="([a-z_]+)"[^>]*value="([^"]*)"', page
        )
    }
    description = re.search(r'name="description"[^>]*>([^<]*)</textarea>', page)
    assert description is not None
    values["description"] = html.unescape(description.group(1))
    assert set(values) == set(TYPED), values
    return values


def test_the_project_zone_form_refuses_an_alias_and_keeps_what_was_typed(
    client, owner, project_id, sign_in
) -> None:
    browser = sign_in(owner)
    refused = browser.post(f"/projects/{project_id}/time-zone", {"time_zone": "US/Eastern"})
    assert refused.status_code == 400
    assert 'id="time_zone-error"' in refused.text
    assert "US/Eastern is an old alias; use America/New_York" in refused.text
    assert 'value="US/Eastern"' in refused.text
    project = client.get(f"{API}/projects/{project_id}", headers=owner.headers).json()
    assert project["time_zone"] == "UTC"
    taken = browser.post(f"/projects/{project_id}/time-zone", {"time_zone": "America/New_York"})
    assert taken.status_code == 303, taken.text
    project = client.get(f"{API}/projects/{project_id}", headers=owner.headers).json()
    assert project["time_zone"] == "America/New_York"


@pytest.mark.parametrize(
    ("given", "missing"), [("latitude", "longitude"), ("longitude", "latitude")]
)
def test_half_a_coordinate_is_refused_by_the_form_and_the_api(
    client, owner, project_id, sign_in, given, missing
) -> None:
    """A latitude without a longitude (or the other way round) places nothing: the form and
    the API both refuse it, naming the missing one, and the list of deployments still shows."""
    browser = sign_in(owner)
    typed = {**TYPED, missing: ""}
    refused = _add(browser, project_id, typed)
    assert refused.status_code == 400, refused.text
    assert f"{missing} is needed with the {given}" in html.unescape(refused.text)
    assert f'value="{TYPED[given]}"' in refused.text  # what was typed comes back
    body = {"name": "Half", given: 12.5}
    answer = client.post(
        f"{API}/projects/{project_id}/deployments", json=body, headers=owner.headers
    )
    assert answer.status_code == 400, answer.text
    assert f"{missing} is needed with the {given}" in answer.text
    # An edit that would leave one alone is refused too.
    made = client.post(
        f"{API}/projects/{project_id}/deployments",
        json={"name": "Whole", "latitude": 1.0, "longitude": 2.0},
        headers=owner.headers,
    ).json()
    patched = client.patch(
        f"{API}/deployments/{made['id']}", json={missing: None}, headers=owner.headers
    )
    assert patched.status_code == 400, patched.text
    assert f"{missing} is needed with the {given}" in patched.text
    assert browser.page(f"/projects/{project_id}/deployments")


def test_a_deployment_stored_with_half_a_coordinate_still_shows(
    client, owner, project_id, sign_in, app_db
) -> None:
    """Data stored before the check (a latitude alone) never makes a page answer 500: the
    deployments page and the deployment's page show it, without a place."""
    made = client.post(
        f"{API}/projects/{project_id}/deployments", json={"name": "Old"}, headers=owner.headers
    ).json()
    with app_db.write() as repos:
        repos.session.execute(
            text("UPDATE deployments SET latitude = 12.5 WHERE id = :d"), {"d": made["id"]}
        )
    browser = sign_in(owner)
    assert "Old" in browser.page(f"/projects/{project_id}/deployments")
    assert "Old" in browser.page(f"/deployments/{made['id']}")
    refused = _add(browser, project_id, {**TYPED, "name": ""})
    assert refused.status_code == 400, refused.text
