"""Artifacts over the upload limit, or of another content type, through the upload links of
both stores: the local store refuses them as they arrive; an S3 presigned PUT takes them, and
the bulk post that names one refuses it and deletes it. SQLite and PostgreSQL, local and S3."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.accounts import Account
from tests.support.app_client import AppClient
from tests.support.callbacks import SECRET, Pipeline, fresh_timestamp, png
from tests.support.moto import new_bucket
from trapline.app import create_app
from trapline.db.engine import Database
from trapline.platform import Platform
from trapline.settings import Settings

#: The upload limit of the test servers: small, so an oversized artifact is quick to send.
LIMIT = 64 * 1024

#: Timestamps already signed with: a body signed twice in the same second is one signature,
#: good for one call only.
HEAT = {"width": 32, "height": 24, "color_map": "jet"}


def _settings(tmp_path: Path, database_url: str, storage: dict[str, Any], limit: int) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        secret_key="test-secret-key",
        max_upload_bytes=limit,
        max_request_bytes=20 * 1024 * 1024,
        ml_callback_hmac_secret=SECRET,
        duties_enabled=False,
        _env_file=None,
        **storage,
    )


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.s3)])
def storage(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The storage settings of the test server: a local folder, or a fresh moto bucket."""
    if request.param == "local":
        return {}
    endpoint = request.getfixturevalue("s3_endpoint")
    return {"storage_url": f"s3://{new_bucket(endpoint)}/blobs", "s3_endpoint_url": endpoint}


@pytest.fixture
def settings(tmp_path: Path, database_url: str, storage: dict[str, Any]) -> Settings:
    return _settings(tmp_path, database_url, storage, LIMIT)


def presign(pipeline: Pipeline, aid: int) -> dict[str, str]:
    answer = pipeline.call(
        "POST",
        f"/analyses/{aid}/artifacts/presign",
        {"artifact_type": "heatmap", "filename": "heat.png"},
        timestamp=fresh_timestamp(),
    )
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def put(client: AppClient, url: str, data: bytes, content_type: str) -> httpx.Response:
    """PUT through an upload link: to the app (local store) or to the moto server (S3)."""
    headers = {"Content-Type": content_type}
    if "/api/v2/blobs/" in url:
        return client.put(url, content=data, headers=headers)
    return httpx.put(url, content=data, headers=headers, timeout=30)


def bulk_heatmap(pipeline: Pipeline, aid: int, path: str) -> httpx.Response:
    item = {"annotation_type": "heatmap", "storage_path": path, "data": HEAT}
    return pipeline.call(
        "POST",
        f"/analyses/{aid}/annotations:bulk",
        {"annotations": [item], "mode": "append"},
        timestamp=fresh_timestamp(),
    )


def artifacts(client: AppClient, owner: Account, aid: int) -> list[dict[str, Any]]:
    read = client.get(f"/api/analyses/{aid}", headers=owner.headers)
    assert read.status_code == 200, read.text
    return list(read.json()["artifacts"])


def test_an_oversized_upload_is_refused_and_leaves_nothing_stored(
    client: AppClient,
    owner: Account,
    analysis: int,
    pipeline: Pipeline,
    platform: Platform,
    storage: dict[str, Any],
) -> None:
    link = presign(pipeline, analysis)
    path = link["storage_path"]
    oversized = png() + b"\0" * LIMIT

    sent = put(client, link["upload_url"], oversized, "image/png")

    if storage:
        # A presigned PUT cannot cap its size: S3 takes the file, but gives no link to it.
        assert sent.status_code == 200, sent.text
        assert platform.store.exists(path)
        assert artifacts(client, owner, analysis) == []
        refused = bulk_heatmap(pipeline, analysis, path)
        assert refused.status_code == 400, refused.text
        detail = refused.json()["detail"]
        assert detail.startswith("annotations[0].storage_path: the uploaded file is")
        assert f"{len(oversized)} bytes, over the {LIMIT} byte limit" in detail
        assert "it was deleted" in detail
    else:
        # The server receives a local upload itself and stops it at the limit.
        assert sent.status_code == 413, sent.text
        assert f"at most {LIMIT} bytes" in sent.json()["detail"]
        refused = bulk_heatmap(pipeline, analysis, path)
        assert refused.status_code == 400, refused.text
        assert "nothing was uploaded there yet" in refused.json()["detail"]
    assert not platform.store.exists(path)
    with platform.db.read() as repos:
        assert repos.processing.analyses.count_annotations(analysis) == 0

    # The same link then takes a file within the limit, and the post goes through.
    again = put(client, link["upload_url"], png(), "image/png")
    assert again.status_code in (200, 201), again.text
    stored = bulk_heatmap(pipeline, analysis, path)
    assert stored.status_code == 200, stored.text
    assert stored.json()["total"] == 1
    assert [a["storage_path"] for a in artifacts(client, owner, analysis)] == [path]


# The local store refuses another content type at the PUT itself (415, test_annotations.py).
@pytest.mark.parametrize("storage", [pytest.param("s3", marks=pytest.mark.s3)], indirect=True)
def test_an_upload_of_another_content_type_is_refused_and_deleted(
    client: AppClient, owner: Account, analysis: int, pipeline: Pipeline, platform: Platform
) -> None:
    link = presign(pipeline, analysis)
    path = link["storage_path"]

    # AWS and MinIO refuse this PUT (the content type is signed); moto stores it, as some
    # S3-compatible services would.
    sent = put(client, link["upload_url"], b"<html>not a heatmap</html>", "text/html")
    assert sent.status_code == 200, sent.text
    assert artifacts(client, owner, analysis) == []

    refused = bulk_heatmap(pipeline, analysis, path)

    assert refused.status_code == 400, refused.text
    assert "uploaded as text/html, not as image/png" in refused.json()["detail"]
    assert not platform.store.exists(path)


def test_an_artifact_over_a_lowered_limit_is_refused_and_deleted(
    client: AppClient,
    owner: Account,
    analysis: int,
    pipeline: Pipeline,
    app_db: Database,
    tmp_path: Path,
    database_url: str,
    storage: dict[str, Any],
) -> None:
    link = presign(pipeline, analysis)
    path = link["storage_path"]
    heat = png(320, 240)
    assert put(client, link["upload_url"], heat, "image/png").status_code in (200, 201)

    # The same data, served with a limit below the file that is already stored.
    lowered = _settings(tmp_path, database_url, storage, len(heat) - 1)
    with _served(lowered, app_db) as (strict, served):
        assert served.store.exists(path)
        assert artifacts(strict, owner, analysis) == []
        refused = bulk_heatmap(Pipeline(strict), analysis, path)

        assert refused.status_code == 400, refused.text
        assert f"over the {len(heat) - 1} byte limit" in refused.json()["detail"]
        assert not served.store.exists(path)


@pytest.mark.parametrize("storage", [pytest.param("s3", marks=pytest.mark.s3)], indirect=True)
def test_an_oversized_upload_no_annotation_names_is_deleted_at_finalize(
    client: AppClient, owner: Account, analysis: int, pipeline: Pipeline, platform: Platform
) -> None:
    oversized_link, fine_link = presign(pipeline, analysis), presign(pipeline, analysis)
    sent = put(client, oversized_link["upload_url"], png() + b"\0" * LIMIT, "image/png")
    assert sent.status_code == 200, sent.text
    assert put(client, fine_link["upload_url"], png(), "image/png").status_code == 200
    assert platform.store.exists(oversized_link["storage_path"])

    done = pipeline.call(
        "POST",
        f"/analyses/{analysis}/finalize",
        {"status": "completed"},
        timestamp=fresh_timestamp(),
    )

    assert done.status_code == 200, done.text
    assert not platform.store.exists(oversized_link["storage_path"])
    assert platform.store.exists(fine_link["storage_path"])  # within the limits: kept
    assert [a["storage_path"] for a in artifacts(client, owner, analysis)] == [
        fine_link["storage_path"]
    ]


@contextmanager
def _served(settings: Settings, db: Database) -> Iterator[tuple[AppClient, Platform]]:
    """A second app over the same database and storage, with other settings."""
    platform = Platform.from_settings(settings, db=db)
    try:
        with AppClient(create_app(platform)) as client:
            yield client, platform
    finally:
        platform.close()
