"""The image grid's bulk action: ticked images move into a deployment and their capture
times are read again in its zone; the deployment's form takes a time zone."""

from __future__ import annotations

from datetime import datetime

from tests.support.accounts import upload

API = "/api/v2"


def test_ticked_images_move_and_are_re_read(client, owner, project_id, jpeg, sign_in) -> None:
    made = client.post(
        f"{API}/projects/{project_id}/deployments",
        json={"name": "Dar", "time_zone": "Africa/Dar_es_Salaam"},
        headers=owner.headers,
    )
    trap = made.json()["id"]
    photos = [(f"p{n}.jpg", jpeg(n, captured_at=datetime(2024, 6, 21, 22, 0))) for n in range(3)]
    ids = [r["id"] for r in upload(client, owner, project_id, *photos)["results"]]
    browser = sign_in(owner)
    grid = browser.page(f"/projects/{project_id}/images")
    assert f'action="/projects/{project_id}/images/move"' in grid
    assert "2024-06-21 22:00:00 +00:00" in grid  # three photos in one minute: seconds
    answer = browser.client.post(
        f"/projects/{project_id}/images/move",
        data={
            "csrf": browser.csrf(),
            "image": [str(i) for i in ids[:2]],
            "deployment": str(trap),
            "back": "detections=with&bogus=1",
        },
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == f"/projects/{project_id}/images?detections=with&bogus=1"
    got = {i: client.get(f"{API}/images/{i}", headers=owner.headers).json() for i in ids}
    assert [(g["deployment_id"], g["captured_at"]) for g in got.values()] == [
        (trap, "2024-06-21T22:00:00+03:00"),
        (trap, "2024-06-21T22:00:00+03:00"),
        (None, "2024-06-21T22:00:00Z"),
    ]
    assert "2024-06-21 22:00 +03:00" in browser.page(f"/images/{ids[0]}")
    # Someone else's image is answered as a missing one, and nothing moves.
    foreign = browser.client.post(
        f"/projects/{project_id}/images/move",
        data={"csrf": browser.csrf(), "image": [str(ids[2]), "999999"], "deployment": str(trap)},
        follow_redirects=False,
    )
    assert foreign.status_code == 404
    assert (
        client.get(f"{API}/images/{ids[2]}", headers=owner.headers).json()["deployment_id"] is None
    )


def test_the_deployment_form_checks_its_time_zone(client, owner, project_id, sign_in) -> None:
    browser = sign_in(owner)
    refused = browser.post(
        f"/projects/{project_id}/deployments", {"name": "Trap", "time_zone": "Nowhere/Special"}
    )
    assert refused.status_code == 400  # type: ignore[attr-defined]
    assert "IANA time zone" in refused.text  # type: ignore[attr-defined]
    made = browser.post(
        f"/projects/{project_id}/deployments", {"name": "Trap", "time_zone": "Asia/Kolkata"}
    )
    assert made.status_code == 303  # type: ignore[attr-defined]
    page = browser.page(made.headers["location"])  # type: ignore[attr-defined]
    assert "capture times read in Asia/Kolkata" in page
