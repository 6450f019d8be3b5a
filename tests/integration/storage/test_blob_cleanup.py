"""The blob clean-up duty removes what a crash mid-delete left behind, on local files and S3,
and never a blob a row names or an upload still running may need."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from tests.support.moto import new_bucket
from trapline.db.engine import Database
from trapline.domain.core.records import User
from trapline.imaging.synthetic import light_trap_jpeg
from trapline.services.core import users
from trapline.services.photos import images, projects
from trapline.services.photos.blob_cleanup import remove_unreferenced_blobs
from trapline.storage import open_blob_store
from trapline.storage.base import BlobStore
from trapline.storage.local import LocalBlobStore

NOW = timedelta(0)


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.s3)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BlobStore]:
    if request.param == "local":
        yield LocalBlobStore(tmp_path / "blobs", b"secret")
        return
    endpoint = request.getfixturevalue("s3_endpoint")
    yield open_blob_store(
        f"s3://{new_bucket(endpoint)}/trapline", secret_key=b"x", s3_endpoint_url=endpoint
    )


def _keys(store: BlobStore) -> list[str]:
    return sorted(b.key for top in ("images/", "thumbnails/") for b in store.list_blobs(top))


def _project_with_images(db: Database, store: BlobStore, owner: User, name: str, seeds: range):
    project = projects.create_project(db, owner, name, "")
    files = [
        images.IncomingFile(f"{n}.jpg", io.BytesIO(light_trap_jpeg(n, width=160, height=120)))
        for n in seeds
    ]
    stored = images.upload_images(
        db, store, owner, project.id, files, deployment_id=None, max_file_bytes=10**7
    )
    return project, [r.image for r in stored if r.image is not None]


def test_blobs_left_by_a_crash_mid_delete_are_removed(app_db: Database, store: BlobStore) -> None:
    owner = users.create_user(app_db, None, "o@example.org", "O", is_admin=False)
    kept_project, kept = _project_with_images(app_db, store, owner, "kept", range(3))
    doomed_project, _ = _project_with_images(app_db, store, owner, "doomed", range(3, 5))
    # A thumbnail made on demand belongs to its image like the upload's one.
    images.thumbnail_url(app_db, store, owner, kept[0].id, 1024, expires_in=60)
    everything = _keys(store)
    assert len(everything) == 2 * 5 + 1  # each image's original and 256 px thumbnail, + 1

    # Crashes between the commit of the rows and the removal of their blobs.
    with app_db.write() as repos:
        repos.photos.images.delete(kept[2])
        repos.core.projects.delete(doomed_project.id)
    assert _keys(store) == everything

    # Young blobs might be an upload's, written before its rows: left alone.
    assert remove_unreferenced_blobs(app_db, store) == 0
    assert _keys(store) == everything

    removed = remove_unreferenced_blobs(app_db, store, grace=NOW)
    assert removed == 2 + 4
    left = _keys(store)
    assert not [k for k in left if f"/{doomed_project.id}/" in k]
    assert not [k for k in left if kept[2].sha256 in k]
    for image in kept[:2]:
        assert store.exists(image.storage_key)
    assert len([k for k in left if kept[0].sha256 in k]) == 3  # original, 256 px, 1024 px
    assert len(left) == 5
    # Nothing more to do; every image left still downloads.
    assert remove_unreferenced_blobs(app_db, store, grace=NOW) == 0
    assert store.read_bytes(kept[1].storage_key)[:2] == b"\xff\xd8"
    assert kept_project.id != doomed_project.id


def test_deleting_an_image_or_a_project_leaves_no_blob(app_db: Database, store: BlobStore) -> None:
    owner = users.create_user(app_db, None, "o@example.org", "O", is_admin=False)
    project, stored = _project_with_images(app_db, store, owner, "p", range(2))
    images.delete_image(app_db, store, owner, stored[0].id)
    assert not [k for k in _keys(store) if stored[0].sha256 in k]
    projects.delete_project(app_db, store, owner, project.id)
    assert _keys(store) == []


class _StopAfter:
    """A duty's ``Stop`` set after ``looks`` looks: its lease lost mid-run."""

    def __init__(self, looks: int) -> None:
        self.looks = looks

    def is_set(self) -> bool:
        self.looks -= 1
        return self.looks < 0


def test_a_run_whose_lease_is_lost_stops_before_the_next_project(
    app_db: Database, store: BlobStore
) -> None:
    owner = users.create_user(app_db, None, "o@example.org", "O", is_admin=False)
    first, _ = _project_with_images(app_db, store, owner, "first", range(2))
    second, _ = _project_with_images(app_db, store, owner, "second", range(2, 4))
    with app_db.write() as repos:
        repos.core.projects.delete(first.id)
        repos.core.projects.delete(second.id)
    assert remove_unreferenced_blobs(app_db, store, grace=NOW, stop=_StopAfter(1)) == 4
    assert [k for k in _keys(store) if f"/{second.id}/" in k]  # left for the next run
    assert remove_unreferenced_blobs(app_db, store, grace=NOW) == 4
    assert _keys(store) == []
