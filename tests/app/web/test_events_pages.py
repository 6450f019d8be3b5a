"""Event pages: a deployment's page lists its events with a server-drawn timeline; an event's
page shows its photos in time order as a filmstrip linking to the viewer."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta

from tests.support.accounts import upload
from trapline.services.ecology.tracking import track_due

API = "/api/v2"
T0 = datetime(2024, 6, 21, 22, 0, 0)


def test_a_deployment_lists_its_events_and_an_event_shows_its_filmstrip(
    client, owner, project_id, jpeg, sign_in, make_account
) -> None:
    trap = client.post(
        f"{API}/projects/{project_id}/deployments",
        json={"name": "Dar", "time_zone": "Africa/Dar_es_Salaam"},
        headers=owner.headers,
    ).json()["id"]
    times = [T0 + timedelta(seconds=40), T0, T0 + timedelta(hours=2)]
    ids = []
    for n, moment in enumerate(times):
        body = upload(
            client, owner, project_id, (f"p{n}.jpg", jpeg(n, captured_at=moment)),
            deployment_id=str(trap),
        )  # fmt: skip
        ids.append(body["results"][0]["id"])
    browser = sign_in(owner)
    page = browser.page(f"/deployments/{trap}")
    assert "sequence (a new event after a gap of more than 60 s)" in page
    assert '<svg class="timeline"' in page
    marks = re.findall(r'<a href="/events/(\d+)" aria-label="[^"]*"><rect class="event-mark"', page)
    assert len(marks) == 2
    assert "2024-06-21 22:00:00 +03:00" in page
    film = browser.page(f"/events/{marks[0]}")
    assert "2 photos" in film
    links = re.findall(r'<li>\s*<a href="/images/(\d+)">', film)
    assert [int(i) for i in links] == [ids[1], ids[0]]  # in time order, not upload order
    assert f'src="/images/{ids[1]}/thumb"' in film
    # Someone outside the project finds no event there.
    stranger = sign_in(make_account("stranger"))
    stranger.page(f"/events/{marks[0]}", status=404)
    stranger.page(f"/events/{10**9}", status=404)


def test_a_deployment_without_dated_photos_has_no_events(
    client, owner, project_id, sign_in
) -> None:
    trap = client.post(
        f"{API}/projects/{project_id}/deployments", json={"name": "Empty"}, headers=owner.headers
    ).json()["id"]
    page = sign_in(owner).page(f"/deployments/{trap}")
    assert "No event yet" in page
    assert '<svg class="timeline"' not in page


def test_a_member_sets_the_deployments_rule_on_its_page(
    client, owner, project_id, jpeg, sign_in, platform
) -> None:
    trap = client.post(
        f"{API}/projects/{project_id}/deployments", json={"name": "Moths"}, headers=owner.headers
    ).json()["id"]
    for n, hours in enumerate((0, 6)):
        moment = T0 + timedelta(hours=hours)
        upload(
            client, owner, project_id, (f"m{n}.jpg", jpeg(n, captured_at=moment)),
            deployment_id=str(trap),
        )  # fmt: skip
    browser = sign_in(owner)
    page = browser.page(f"/deployments/{trap}")
    assert f'action="/deployments/{trap}/event-rule"' in page
    refused = browser.client.post(
        f"/deployments/{trap}/event-rule",
        data={"csrf": browser.csrf(), "rule": "sequence", "gap_seconds": "0"},
        follow_redirects=False,
    )
    assert refused.status_code == 400
    assert "gap_seconds" in refused.text
    answer = browser.client.post(
        f"/deployments/{trap}/event-rule",
        data={"csrf": browser.csrf(), "rule": "night", "gap_seconds": ""},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    assert platform.regroupings.wait_idle(30)
    page = browser.page(f"/deployments/{trap}")
    assert "Grouped by night" in page
    assert len(re.findall(r'<rect class="event-mark"', page)) == 1


def test_an_events_page_lists_its_occurrences_with_their_crops(
    client, owner, project_id, jpeg, sign_in, platform
) -> None:
    trap = client.post(
        f"{API}/projects/{project_id}/deployments", json={"name": "Pond"}, headers=owner.headers
    ).json()["id"]
    for n in range(2):
        moment = T0 + timedelta(seconds=n)
        upload(
            client, owner, project_id, (f"f{n}.jpg", jpeg(n, captured_at=moment)),
            deployment_id=str(trap),
        )  # fmt: skip
    browser = sign_in(owner)
    event = re.findall(r'<a href="/events/(\d+)"', browser.page(f"/deployments/{trap}"))[0]
    assert "No occurrences yet" in browser.page(f"/events/{event}")
    still = {"category": "1", "conf": 0.9, "bbox": [0.1, 0.1, 0.3, 0.3]}
    results = {
        "info": {"format_version": "1.4", "detector": "md_v5a.0.0.pt"},
        "detection_categories": {"1": "animal"},
        "images": [{"file": f"Pond/f{n}.jpg", "detections": [still]} for n in range(2)],
    }
    imported = client.post(
        f"{API}/projects/{project_id}/imports/megadetector",
        files={"file": ("md.json", json.dumps(results).encode(), "application/json")},
        headers=owner.headers,
    )
    assert imported.status_code == 200, imported.text
    assert track_due(platform.db, platform.store) == 1
    film = browser.page(f"/events/{event}")
    assert "1 individual tracked across the photos" in film
    (best,) = re.findall(r'<img src="/annotations/(\d+)/crop"', film)
    assert browser.client.get(f"/annotations/{best}/crop").status_code in (200, 307)
    assert "<td>animal (0.90)</td>" in film
    # Each photo of the strip draws the occurrence's box, in the occurrence's colour.
    drawn = re.findall(
        r'<rect x="([\d.]+)" y="([\d.]+)" width="[\d.]+" height="[\d.]+" stroke="(#\w+)">', film
    )
    assert len(drawn) == 2
    assert len({colour for _, _, colour in drawn}) == 1
    # The deployment's nights count the bird once (two images, two boxes, one occurrence), and
    # both pages count occurrences per label.
    trap_page = browser.page(f"/deployments/{trap}")
    assert re.search(
        r"<td>2024-06-21</td><td class=\"num\">2</td><td class=\"num\">2</td>"
        r"<td class=\"num\">1</td>",
        trap_page,
    ), trap_page
    assert "1 occurrences</title>" in trap_page
    for page in (trap_page, browser.page(f"/projects/{project_id}")):
        assert re.search(r"<td>animal</td><td class=\"num\">.*?</progress> 1</td>", page)


def test_a_member_merges_on_the_event_page_and_splits_on_the_occurrences(
    client, owner, project_id, jpeg, sign_in, platform, make_account
) -> None:
    trap = client.post(
        f"{API}/projects/{project_id}/deployments", json={"name": "Pond"}, headers=owner.headers
    ).json()["id"]
    for n in range(3):
        photo = jpeg(n, captured_at=T0 + timedelta(seconds=n))
        upload(client, owner, project_id, (f"f{n}.jpg", photo), deployment_id=str(trap))
    # One bird in three photos, and far off in the last one a second one.
    bird = {"category": "1", "conf": 0.9, "bbox": [0.1, 0.1, 0.3, 0.3]}
    other = {"category": "1", "conf": 0.8, "bbox": [0.7, 0.7, 0.2, 0.2]}
    files = [{"file": f"Pond/f{n}.jpg", "detections": [bird]} for n in range(3)]
    files[2]["detections"].append(other)
    results = {
        "info": {"format_version": "1.4", "detector": "md_v5a.0.0.pt"},
        "detection_categories": {"1": "animal"},
        "images": files,
    }
    imported = client.post(
        f"{API}/projects/{project_id}/imports/megadetector",
        files={"file": ("md.json", json.dumps(results).encode(), "application/json")},
        headers=owner.headers,
    )
    assert imported.status_code == 200, imported.text
    assert track_due(platform.db, platform.store) == 1
    browser = sign_in(owner)
    event = re.findall(r'<a href="/events/(\d+)"', browser.page(f"/deployments/{trap}"))[0]
    film = browser.page(f"/events/{event}")
    ticks = re.findall(r'name="occurrence_ids" value="(\d+)"', film)
    assert len(ticks) == 2
    merged = browser.client.post(
        f"/events/{event}/merge",
        data={"csrf": browser.csrf(), "occurrence_ids": ticks},
        follow_redirects=False,
    )
    assert merged.status_code == 303, merged.text
    film = browser.page(f"/events/{event}")
    assert "1 individual tracked across the photos" in film
    (kept,) = re.findall(r'<a href="/occurrences/(\d+)">4</a>', film)
    page = browser.page(f"/occurrences/{kept}")
    assert "split or merged by a reviewer" in page
    boxes = re.findall(r'name="detection_ids" value="(\d+)"', page)
    assert len(boxes) == 4
    split = browser.client.post(
        f"/occurrences/{kept}/split",
        data={"csrf": browser.csrf(), "detection_ids": boxes[-1:]},
        follow_redirects=False,
    )
    assert split.status_code == 303, split.text
    assert "2 individuals tracked across the photos" in browser.page(f"/events/{event}")
    refused = browser.client.post(
        f"/occurrences/{kept}/split",
        data={"csrf": browser.csrf(), "detection_ids": boxes[:3]},
        follow_redirects=False,
    )
    assert refused.status_code == 400
    # A viewer sees the occurrence but no tick boxes; a stranger sees nothing.
    viewer = make_account("watcher")
    client.post(
        f"{API}/projects/{project_id}/members",
        json={"email": viewer.email, "role": "viewer"},
        headers=owner.headers,
    )
    seen = sign_in(viewer).page(f"/occurrences/{kept}")
    assert 'name="detection_ids"' not in seen
    sign_in(make_account("stranger")).page(f"/occurrences/{kept}", status=404)


def test_a_deployments_page_shows_ninety_nights_at_a_time_with_links_to_the_others(
    client, owner, project_id, jpeg, sign_in
) -> None:
    trap = client.post(
        f"{API}/projects/{project_id}/deployments", json={"name": "Long"}, headers=owner.headers
    ).json()["id"]
    taken = [
        datetime(2024, 1, 1, 22),
        datetime(2024, 3, 15, 23),
        datetime(2024, 3, 24, 11, 59, 59),  # the night of 23 March
        datetime(2024, 3, 24, 12),  # the night of 24 March: the first of the latest ninety
        datetime(2024, 6, 20, 22),
        datetime(2024, 6, 21, 3),  # still the night of 20 June
        datetime(2024, 6, 21, 22),
    ]
    for n, moment in enumerate(taken):
        upload(
            client, owner, project_id, (f"n{n}.jpg", jpeg(n, captured_at=moment)),
            deployment_id=str(trap),
        )  # fmt: skip
    browser = sign_in(owner)

    def nights(page: str) -> list[tuple[str, str]]:
        return re.findall(r'<tr><td>(\d{4}-\d\d-\d\d)</td><td class="num">(\d+)</td>', page)

    def links(page: str) -> dict[str, str]:
        found = re.findall(rf'<a href="/deployments/{trap}\?until=([\d-]+)" rel="(\w+)">', page)
        return {rel: until for until, rel in found}

    latest = browser.page(f"/deployments/{trap}")
    assert "Nights 2024-03-24 to 2024-06-21." in latest
    assert nights(latest) == [("2024-03-24", "1"), ("2024-06-20", "2"), ("2024-06-21", "1")]
    assert links(latest) == {"prev": "2024-03-23"}
    # The events listed (one a night here) are those starting in the nights shown.
    assert len(re.findall(r'<td><a href="/events/\d+">', latest)) == 3
    assert "3 of the deployment's 6;" in latest

    earlier = browser.page(f"/deployments/{trap}?until=2024-03-23")
    assert "Nights 2023-12-25 to 2024-03-23." in earlier
    assert nights(earlier) == [("2024-01-01", "1"), ("2024-03-15", "1"), ("2024-03-23", "1")]
    assert links(earlier) == {"next": "2024-06-21"}  # the next photo's night, 90 nights on
    # Nights with no photo: the page says so and links on to the nearest.
    empty = browser.page(f"/deployments/{trap}?until=2000-01-01")
    assert "No photo in these nights." in empty
    assert links(empty) == {"next": "2024-03-30"}
    far = browser.page(f"/deployments/{trap}?until=9999-12-31")
    assert "Nights 2024-03-24 to 2024-06-21." in far
    wrong = browser.client.get(f"/deployments/{trap}?until=yesterday")
    assert wrong.status_code == 400
    assert "until" in wrong.text
