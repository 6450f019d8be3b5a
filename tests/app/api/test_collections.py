"""Collections: explicit lists and saved filters."""

from __future__ import annotations

from tests.support.accounts import upload
from tests.support.app_client import AppClient


def _images(client, owner, project_id, jpeg, names, **form):
    body = upload(
        client, owner, project_id, *[(n, jpeg(i + 300)) for i, n in enumerate(names)], **form
    )
    return [r["id"] for r in body["results"]]


def test_explicit_collection(client: AppClient, owner, project_id, jpeg) -> None:
    ids = _images(client, owner, project_id, jpeg, [f"c-2024010{d}000000.jpg" for d in range(1, 6)])
    made = client.post(
        f"/api/v2/projects/{project_id}/collections",
        json={"name": "picked", "image_ids": [ids[3], ids[1], ids[3]]},
        headers=owner.headers,
    )
    assert made.status_code == 201
    collection = made.json()
    assert collection["kind"] == "explicit"
    assert collection["image_count"] == 2
    listed = client.get(
        f"/api/v2/collections/{collection['id']}/images/", headers=owner.headers
    ).json()
    assert [r["id"] for r in listed["results"]] == [ids[1], ids[3]]
    assert listed["count"] == 2


def test_filter_collection_follows_new_images(client, owner, project_id, jpeg) -> None:
    deployment = client.post(
        f"/api/v2/projects/{project_id}/deployments", json={"name": "A"}, headers=owner.headers
    ).json()
    dep = str(deployment["id"])
    _images(
        client,
        owner,
        project_id,
        jpeg,
        ["x-20240601220000.jpg", "x-20240602220000.jpg"],
        deployment_id=dep,
    )
    _images(client, owner, project_id, jpeg, ["y-20240601230000.jpg"])
    made = client.post(
        f"/api/v2/projects/{project_id}/collections",
        json={
            "name": "night one at A",
            "filter": {
                "deployment_id": deployment["id"],
                "captured_after": "2024-06-01T12:00:00",
                "captured_before": "2024-06-02T12:00:00",
            },
        },
        headers=owner.headers,
    ).json()
    assert made["kind"] == "filter"
    assert made["filter"]["deployment_id"] == deployment["id"]
    url = f"/api/v2/collections/{made['id']}/images"
    assert [r["filename"] for r in client.get(url, headers=owner.headers).json()["results"]] == [
        "x-20240601220000.jpg"
    ]
    body = upload(client, owner, project_id, ("x-20240601235900.jpg", jpeg(999)), deployment_id=dep)
    assert body["status"] == 201
    names = [r["filename"] for r in client.get(url, headers=owner.headers).json()["results"]]
    assert names == ["x-20240601220000.jpg", "x-20240601235900.jpg"]


def test_collection_list_get_delete(client, owner, project_id, jpeg) -> None:
    ids = _images(client, owner, project_id, jpeg, ["one.jpg"])
    base = f"/api/v2/projects/{project_id}/collections"
    made = client.post(base, json={"name": "c", "image_ids": ids}, headers=owner.headers).json()
    assert client.get(base, headers=owner.headers).json()["count"] == 1
    assert (
        client.get(f"/api/v2/collections/{made['id']}", headers=owner.headers).json()["name"] == "c"
    )
    assert (
        client.delete(f"/api/v2/collections/{made['id']}", headers=owner.headers).status_code == 204
    )
    assert client.get(base, headers=owner.headers).json()["count"] == 0
    # The images stay.
    assert client.get(f"/api/v2/images/{ids[0]}", headers=owner.headers).status_code == 200
