"""One bad file among good ones is refused alone: each file gets its outcome, the good are kept."""

from __future__ import annotations

from tests.support.accounts import Account, upload
from tests.support.app_client import AppClient
from tests.support.blobs import blob_files
from trapline.imaging.synthetic import flat_png
from trapline.settings import Settings


def test_each_file_gets_its_outcome_and_the_good_ones_are_stored(
    client: AppClient, settings: Settings, owner: Account, project_id: int, jpeg
) -> None:
    known = upload(client, owner, project_id, ("old.jpg", jpeg(1)))["results"][0]
    body = upload(
        client,
        owner,
        project_id,
        ("a.jpg", jpeg(2)),
        ("notes.txt", b"trap emptied at 6am\n"),
        ("again.jpg", jpeg(1)),
        ("huge.png", flat_png(9400, 9400, (10, 90, 160, 255))),
        ("b.jpg", jpeg(3)),
    )
    assert body["status"] == 201
    outcomes = [(r["status"], r["filename"]) for r in body["results"]]
    assert outcomes == [
        ("created", "a.jpg"),
        ("refused", "notes.txt"),
        ("duplicate", "old.jpg"),  # a duplicate answers the image it is
        ("refused", "huge.png"),
        ("created", "b.jpg"),
    ]
    assert (body["created"], body["duplicates"], body["refused"]) == (2, 1, 2)
    notes, huge = body["results"][1], body["results"][3]
    assert notes["code"] == "unsupported_media_type"
    assert notes["reason"].startswith('"notes.txt"')
    assert notes["id"] is None
    assert huge["code"] == "image_too_large"
    assert "too large to decode" in huge["reason"]
    assert body["results"][2]["id"] == known["id"]
    listed = client.get(f"/api/v2/projects/{project_id}/images", headers=owner.headers).json()
    assert sorted(i["filename"] for i in listed["results"]) == ["a.jpg", "b.jpg", "old.jpg"]
    # Only the stored images have blobs (each an original and its upload thumbnail).
    assert len([f for f in blob_files(settings) if f.startswith("images/")]) == 3


def test_when_every_file_is_refused_the_answer_is_the_error(
    client: AppClient, owner: Account, project_id: int
) -> None:
    body = upload(client, owner, project_id, ("notes.txt", b"x"), ("more.txt", b"y"))
    assert body["status"] == 415
    assert body["detail"].startswith('"notes.txt"')
