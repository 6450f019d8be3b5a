"""Captions under photos show seconds where photos shown together share a minute (a camera
trap's burst), and stay to the minute elsewhere."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from tests.support.accounts import upload

API = "/api/v2"
T0 = datetime(2024, 6, 21, 22, 0, 0)


def _captions(page: str) -> list[str]:
    return re.findall(r'<span class="caption">([^<]*)</span>', page)


def test_a_burst_is_captioned_to_the_second_and_a_lone_photo_to_the_minute(
    client, owner, project_id, jpeg, sign_in
) -> None:
    trap = client.post(
        f"{API}/projects/{project_id}/deployments",
        json={"name": "Heron pond", "time_zone": "Africa/Dar_es_Salaam"},
        headers=owner.headers,
    ).json()["id"]
    # Two photos in the minute 22:00, one alone in 22:01: one sequence (gaps under 60 s).
    for n, seconds in enumerate((5, 12, 70)):
        moment = T0 + timedelta(seconds=seconds)
        upload(
            client, owner, project_id, (f"b{n}.jpg", jpeg(n, captured_at=moment)),
            deployment_id=str(trap),
        )  # fmt: skip
    expected = [
        "2024-06-21 22:00:05 +03:00",
        "2024-06-21 22:00:12 +03:00",
        "2024-06-21 22:01 +03:00",
    ]
    browser = sign_in(owner)
    events = client.get(f"{API}/deployments/{trap}/events", headers=owner.headers).json()
    (event,) = events["results"]
    assert _captions(browser.page(f"/events/{event['id']}")) == expected
    grid = browser.page(f"/projects/{project_id}/images?deployment={trap}")
    assert sorted(_captions(grid)) == expected
