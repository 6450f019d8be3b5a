"""Image upload, dedup, timestamps, listing, download and thumbnails through the API."""

from __future__ import annotations

import io
from datetime import datetime

from PIL import Image

from tests.support.accounts import upload
from tests.support.app_client import AppClient


def test_upload_reports_each_file_and_dedups(client: AppClient, owner, project_id, jpeg) -> None:
    first, second = jpeg(1), jpeg(2)
    body = upload(client, owner, project_id, ("a.jpg", first), ("b.jpg", second))
    assert body["status"] == 201
    results = body["results"]
    assert [r["filename"] for r in results] == ["a.jpg", "b.jpg"]
    assert [r["duplicate"] for r in results] == [False, False]
    assert results[0]["width"] == 320
    assert results[0]["height"] == 240
    assert len({r["sha256"] for r in results}) == 2

    again = upload(client, owner, project_id, ("renamed.jpg", first))
    assert again["status"] == 201
    assert again["results"][0]["duplicate"] is True
    assert again["results"][0]["id"] == results[0]["id"]
    assert again["results"][0]["filename"] == "a.jpg"

    listed = client.get(f"/api/v2/projects/{project_id}/images", headers=owner.headers).json()
    assert listed["count"] == 2


def test_same_bytes_twice_in_one_request(client: AppClient, owner, project_id, jpeg) -> None:
    data = jpeg(3)
    body = upload(client, owner, project_id, ("x.jpg", data), ("y.jpg", data))
    assert [r["duplicate"] for r in body["results"]] == [False, True]
    assert body["results"][0]["id"] == body["results"][1]["id"]


def test_same_bytes_in_two_projects_are_two_images(client, owner, project_id, jpeg) -> None:
    other = client.post("/api/v2/projects", json={"name": "Other"}, headers=owner.headers).json()
    data = jpeg(4)
    a = upload(client, owner, project_id, ("x.jpg", data))["results"][0]
    b = upload(client, owner, other["id"], ("x.jpg", data))["results"][0]
    assert a["id"] != b["id"]
    assert not b["duplicate"]


def test_captured_at_from_exif_with_offset(client, owner, project_id, jpeg) -> None:
    data = jpeg(5, captured_at=datetime(2023, 7, 1, 23, 15, 2), offset="+02:00")
    body = upload(client, owner, project_id, ("20200101000000.jpg", data))
    assert body["results"][0]["captured_at"] == "2023-07-01T23:15:02+02:00"


def test_captured_at_from_file_name_and_none(client, owner, project_id, jpeg) -> None:
    body = upload(
        client,
        owner,
        project_id,
        ("01-20231110214539-snapshot.jpg", jpeg(6)),
        ("no-time-here.jpg", jpeg(7)),
    )
    times = [r["captured_at"] for r in body["results"]]
    # No offset in the file: read in the project's default zone (UTC).
    assert times == ["2023-11-10T21:45:39Z", None]


def test_png_upload_and_image_detail(client, owner, project_id) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), "white").save(buffer, "PNG")
    body = upload(client, owner, project_id, ("dir/sub/plain.png", buffer.getvalue()))
    image_id = body["results"][0]["id"]
    detail = client.get(f"/api/v2/images/{image_id}/", headers=owner.headers).json()
    assert detail["filename"] == "plain.png"
    assert detail["content_type"] == "image/png"
    assert (detail["width"], detail["height"]) == (40, 30)


def test_upload_into_deployment_and_filter(client, owner, project_id, jpeg) -> None:
    deployment = client.post(
        f"/api/v2/projects/{project_id}/deployments",
        json={"name": "Trap A", "latitude": 45.5, "longitude": -73.6},
        headers=owner.headers,
    ).json()
    upload(client, owner, project_id, ("in.jpg", jpeg(8)), deployment_id=str(deployment["id"]))
    upload(client, owner, project_id, ("out.jpg", jpeg(9)))
    found = client.get(
        f"/api/v2/projects/{project_id}/images?deployment={deployment['id']}", headers=owner.headers
    ).json()
    assert [r["filename"] for r in found["results"]] == ["in.jpg"]
    assert found["count"] == 1


def test_list_filters_by_time_and_name(client, owner, project_id, jpeg) -> None:
    for hour in (20, 21, 22, 23):
        upload(
            client,
            owner,
            project_id,
            (f"trap-202406{hour:02d}-20240601{hour:02d}0000.jpg", jpeg(hour)),
        )
    base = f"/api/v2/projects/{project_id}/images"
    window = client.get(
        f"{base}?captured_after=2024-06-01T21:00:00&captured_before=2024-06-01T23:00:00",
        headers=owner.headers,
    ).json()
    assert [r["captured_at"] for r in window["results"]] == [
        "2024-06-01T21:00:00Z",
        "2024-06-01T22:00:00Z",
    ]
    assert window["count"] == 2
    named = client.get(f"{base}?filename=TRAP-20240623", headers=owner.headers).json()
    assert [r["filename"] for r in named["results"]] == ["trap-20240623-2024060123" + "0000.jpg"]


def test_cursor_pages_walk_forward_and_back(client, owner, project_id, jpeg) -> None:
    names = [f"img-2024010{d}120000.jpg" for d in range(1, 8)] + ["undated-a.jpg", "undated-b.jpg"]
    for n, name in enumerate(names):
        upload(client, owner, project_id, (name, jpeg(100 + n)))
    url = f"/api/v2/projects/{project_id}/images?limit=2"
    seen: list[str] = []
    pages = []
    while url:
        page = client.get(url, headers=owner.headers).json()
        assert page["count"] == len(names)
        pages.append(page)
        seen += [r["filename"] for r in page["results"]]
        url = page["next"]
    # Dated images in capture order first, undated ones last (by id).
    assert seen == names
    assert pages[0]["previous"] is None
    back = client.get(pages[-1]["previous"], headers=owner.headers).json()
    assert [r["filename"] for r in back["results"]] == [r["filename"] for r in pages[-2]["results"]]
    descending = client.get(
        f"/api/v2/projects/{project_id}/images?ordering=-captured_at&limit=100",
        headers=owner.headers,
    ).json()
    assert [r["filename"] for r in descending["results"]] == list(reversed(names))


def test_offset_pagination_links(client, owner, project_id, jpeg) -> None:
    for n in range(5):
        upload(client, owner, project_id, (f"o{n}.jpg", jpeg(200 + n)))
    page = client.get(
        f"/api/v2/projects/{project_id}/images?ordering=id&limit=2&offset=2", headers=owner.headers
    ).json()
    assert [r["filename"] for r in page["results"]] == ["o2.jpg", "o3.jpg"]
    assert "offset=4" in page["next"]
    assert "offset" not in page["previous"]


def test_download_redirects_to_signed_url(client, owner, project_id, jpeg) -> None:
    data = jpeg(10)
    image_id = upload(client, owner, project_id, ("d.jpg", data))["results"][0]["id"]
    response = client.get(
        f"/api/v2/images/{image_id}/download", headers=owner.headers, follow_redirects=False
    )
    assert response.status_code == 307
    location = response.headers["location"]
    assert "sig=" in location
    assert "expires=" in location
    fetched = client.get(location)  # no token: the signature is the permission
    assert fetched.status_code == 200
    assert fetched.content == data
    tampered = location.replace("sig=", "sig=0")
    assert client.get(tampered).status_code == 403


def test_thumbnails_have_the_asked_long_side(client, owner, project_id, jpeg) -> None:
    image_id = upload(client, owner, project_id, ("t.jpg", jpeg(11, width=2000, height=1000)))[
        "results"
    ][0]["id"]
    for size in (256, 1024):
        response = client.get(
            f"/api/v2/images/{image_id}/thumbnail?size={size}", headers=owner.headers
        )
        assert response.status_code == 200
        thumb = Image.open(io.BytesIO(response.content))
        assert max(thumb.size) == size
        assert thumb.size[0] == 2 * thumb.size[1]
    bad = client.get(f"/api/v2/images/{image_id}/thumbnail?size=77", headers=owner.headers)
    assert bad.status_code == 400
    assert "256" in bad.json()["detail"]


def test_delete_image_removes_row_and_file(client, app_db, owner, project_id, jpeg) -> None:
    image_id = upload(client, owner, project_id, ("gone.jpg", jpeg(12)))["results"][0]["id"]
    location = client.get(
        f"/api/v2/images/{image_id}/download", headers=owner.headers, follow_redirects=False
    ).headers["location"]
    assert client.delete(f"/api/v2/images/{image_id}", headers=owner.headers).status_code == 204
    assert client.get(f"/api/v2/images/{image_id}", headers=owner.headers).status_code == 404
    assert client.get(location).status_code == 404
    project = client.get(f"/api/v2/projects/{project_id}", headers=owner.headers).json()
    assert project["image_count"] == 0
