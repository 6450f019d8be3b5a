"""`trapline serve` on PostgreSQL and S3: the same API over the at-scale backends."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.support.databases import PostgresDatabases, require_postgres
from tests.support.moto import new_bucket
from tests.support.processes import clean_env, running, trapline_command
from trapline.imaging.synthetic import light_trap_jpeg

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.s3]


def test_serve_on_postgres_and_s3(
    tmp_path: Path, s3_endpoint: str, postgres_databases: PostgresDatabases
) -> None:
    require_postgres()
    url = postgres_databases.new()
    bucket = new_bucket(s3_endpoint)
    env = clean_env(
        TRAPLINE_DATABASE_URL=url.replace("postgresql+psycopg://", "postgresql://"),
        TRAPLINE_STORAGE_URL=f"s3://{bucket}/trapline",
        TRAPLINE_S3_ENDPOINT_URL=s3_endpoint,
        TRAPLINE_SECRET_KEY="shared-by-all-replicas",
        TRAPLINE_DATA_DIR=str(tmp_path / "unused"),
        **{k: v for k, v in os.environ.items() if k.startswith("AWS_")},
    )
    subprocess.run(
        trapline_command("migrate"), env=env, cwd=tmp_path, check=True, capture_output=True
    )
    subprocess.run(
        trapline_command("admin", "create-user", "--email", "s3@example.org"),
        env=env,
        cwd=tmp_path,
        check=True,
        capture_output=True,
    )
    token = subprocess.run(
        trapline_command("admin", "create-token", "--email", "s3@example.org"),
        env=env,
        cwd=tmp_path,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    headers = {"Authorization": f"Token {token}"}
    try:
        with running(["serve"], cwd=tmp_path, env=env) as server:
            project = httpx.post(
                f"{server.url}/api/v2/projects/", json={"name": "s3"}, headers=headers
            ).json()
            data = light_trap_jpeg(7, width=640, height=480)
            uploaded = httpx.post(
                f"{server.url}/api/v2/projects/{project['id']}/images/",
                files=[("files", ("20240102030405.jpg", data, "image/jpeg"))],
                headers=headers,
            )
            assert uploaded.status_code == 201, uploaded.text
            image = uploaded.json()["results"][0]
            assert image["captured_at"] == "2024-01-02T03:04:05Z"  # read in the project's zone, UTC
            download = httpx.get(
                f"{server.url}/api/v2/images/{image['id']}/download",
                headers=headers,
                follow_redirects=False,
            )
            assert download.status_code == 307
            location = download.headers["location"]
            assert location.startswith(s3_endpoint)
            assert token not in location
            assert httpx.get(location).content == data  # presigned: no platform token
            thumb = httpx.get(
                f"{server.url}/api/v2/images/{image['id']}/thumbnail?size=256",
                headers=headers,
                follow_redirects=True,
            )
            assert thumb.status_code == 200
            assert thumb.content[:2] == b"\xff\xd8"
            assert httpx.get(f"{server.url}/readyz").json()["checks"]["storage"] == "ok"
    finally:
        postgres_databases.drop(url)
