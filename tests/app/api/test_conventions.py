"""API conventions: health probes, docs, error shapes, request ids."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from sqlalchemy import create_engine

from tests.support.app_client import AppClient
from trapline.db.engine import Database
from trapline.storage.local import LocalBlobStore


def test_livez_and_readyz(client: AppClient) -> None:
    assert client.get("/livez").json() == {"status": "ok"}
    ready = client.get("/readyz/")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "storage": "ok"}


def test_readyz_reports_broken_storage(client: AppClient, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the storage folder should be")
    platform = client.app.state.platform  # type: ignore[attr-defined]
    client.app.state.platform = replace(platform, store=LocalBlobStore(blocker / "blobs", b"k"))  # type: ignore[attr-defined]
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.headers["retry-after"]
    body = ready.json()
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["storage"] != "ok"


def test_readyz_answers_503_when_every_database_connection_is_in_use(
    client: AppClient, tmp_path: Path
) -> None:
    engine = create_engine(
        f"sqlite:///{tmp_path / 'busy.db'}", pool_size=1, max_overflow=0, pool_timeout=0.1
    )
    platform = client.app.state.platform  # type: ignore[attr-defined]
    client.app.state.platform = replace(platform, db=Database(engine))  # type: ignore[attr-defined]
    with engine.connect():  # the pool's only connection
        ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.headers["retry-after"]
    assert ready.json()["checks"]["database"] != "ok"
    engine.dispose()


def test_openapi_docs(client: AppClient) -> None:
    assert client.get("/api/v2/docs").status_code == 200
    paths = client.get("/api/v2/openapi.json").json()["paths"]
    assert "/api/v2/projects/{project_id}/images" in paths
    summary = paths["/api/v2/projects/{project_id}/images"]["post"]["summary"]
    assert summary.startswith("Upload images")


def test_method_not_allowed_is_json(client: AppClient, owner) -> None:
    response = client.put("/api/v2/projects", headers=owner.headers)
    assert response.status_code == 405
    assert set(response.json()) == {"detail", "code"}
