"""What people type into the web forms and page addresses: a NUL or another control character
in a sign-in email, a label mapping or a typed taxon name, and a reversed date range on the
grid, each get a 400 naming what is wrong, never a 500 (PostgreSQL refuses a NUL as a
parameter) and never a silent save of something the API would refuse."""

from __future__ import annotations

import html
from datetime import timedelta

import pytest
from sqlalchemy import text

from tests.support.app_client import AppClient
from tests.support.protocol_client import Protocol
from tests.support.scenes import add_frames, new_deployment
from tests.support.web import csrf_of
from trapline.app import create_app

API = "/api/v2"


def _count(app_db, sql: str, **params: object) -> int:
    """One number the database answers (what a refused form must not have saved)."""
    with app_db.write() as repos:
        return int(repos.session.execute(text(sql), params).scalar_one())


@pytest.mark.parametrize("email", ["olive\x00@example.org", "\x00"])
def test_sign_in_with_a_nul_in_the_email_is_refused_cleanly(platform, owner, email) -> None:
    # PostgreSQL refuses a NUL in a text parameter: the lookup by email must not reach it.
    with AppClient(create_app(platform), raise_server_exceptions=False) as client:
        token = csrf_of(client.get("/signin").text)
        answer = client.post(
            "/signin",
            data={"csrf": token, "email": email, "password": "whatever it is"},
            follow_redirects=False,
        )
    assert answer.status_code == 400, answer.text[:300]
    assert "session" not in answer.headers.get("set-cookie", "")


@pytest.mark.parametrize("label", ["moth\x00", "moth\x01light", "moth\u202eroot", "two\nlines"])
def test_label_mapping_refuses_what_the_api_refuses(
    client, app_db, owner, project_id, sign_in, label
) -> None:
    # The API's LabelMappingIn refuses these labels (one line of visible characters).
    api = client.post(
        f"{API}/projects/{project_id}/labels",
        json={"label": label, "non_object": True},
        headers=owner.headers,
    )
    assert api.status_code in (400, 422), api.text
    browser = sign_in(owner)
    answer = browser.post(f"/projects/{project_id}/labels", {"label": label, "action": "no_object"})
    assert answer.status_code == 400, answer.text[:300]
    assert "label: must not contain" in html.unescape(answer.text)
    saved = _count(
        app_db, "SELECT count(*) FROM label_mappings WHERE project_id = :p", p=project_id
    )
    assert saved == 0


@pytest.mark.parametrize("name", ["Aus b\x00us", "Aus b\x01us", "Aus b\x7fus"])
def test_typed_taxa_names_refuse_control_characters(
    app_db, owner, project_id, sign_in, name
) -> None:
    browser = sign_in(owner)
    answer = browser.post(f"/projects/{project_id}/taxa/names", {"names": name, "rank": "species"})
    with app_db.write() as repos:
        names = repos.session.execute(text("SELECT scientific_name FROM taxa")).scalars().all()
    stored = [n for n in names if name[5] in n]
    assert not stored, f"taxa named {stored!r} were saved (answer {answer.status_code})"
    assert answer.status_code == 400, answer.text[:300]
    assert "control or invisible characters" in html.unescape(answer.text)


def test_image_grid_refuses_a_reversed_date_range(client, owner, project_id, sign_in, jpeg) -> None:
    # The counts and species pages answer 400 for since > until; the grid shows nothing and 200.
    proto = Protocol(client, owner, project_id, jpeg)
    add_frames(proto, new_deployment(proto), 2, timedelta(seconds=30), size=(64, 48))
    browser = sign_in(owner)
    counts = browser.client.get(
        f"/projects/{project_id}/counts", params={"since": "2024-03-05", "until": "2024-02-01"}
    )
    assert counts.status_code == 400
    grid = browser.client.get(
        f"/projects/{project_id}/images", params={"after": "2024-03-05", "before": "2024-02-01"}
    )
    assert grid.status_code == 400, "a reversed range is shown as an empty grid"
    assert "the range is the wrong way round" in html.unescape(grid.text)
