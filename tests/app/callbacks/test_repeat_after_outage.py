"""A signed call that failed on the server's side (its S3 store unreachable: 503) keeps no
answer: the identical repeat, once the store is back, runs the call. SQLite and PostgreSQL,
with a real S3 server (moto) behind a proxy the test cuts."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.app_client import AppClient
from tests.support.callbacks import SECRET, png, signed_headers
from tests.support.moto import new_bucket
from tests.support.proxy import TcpProxy
from tests.support.settings import make_settings
from trapline.settings import Settings

pytestmark = pytest.mark.s3


@pytest.fixture
def proxy(s3_endpoint: str) -> Iterator[TcpProxy]:
    """The moto server, reached through a proxy the test can cut."""
    host, port = httpx.URL(s3_endpoint).host, httpx.URL(s3_endpoint).port
    assert port is not None
    made = TcpProxy(host, port)
    made.restore()
    yield made
    made.cut()


@pytest.fixture
def settings(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    database_url: str,
    s3_endpoint: str,
    proxy: TcpProxy,
) -> Settings:
    return make_settings(
        request,
        tmp_path,
        database_url,
        ml_callback_hmac_secret=SECRET,
        storage_url=f"s3://{new_bucket(s3_endpoint)}/blobs",
        s3_endpoint_url=f"http://127.0.0.1:{proxy.port}",
    )


def test_a_repeat_of_a_call_the_store_failed_runs_again(
    client: AppClient, analysis: int, proxy: TcpProxy
) -> None:
    link = json.dumps({"artifact_type": "heatmap", "filename": "heat.png"}).encode()
    linked = client.post(f"/api/analyses/{analysis}/artifacts/presign", content=link,
                         headers=signed_headers(link))  # fmt: skip
    assert linked.status_code == 200, linked.text
    put = httpx.put(linked.json()["upload_url"], content=png(), timeout=30,
                    headers={"Content-Type": "image/png"})  # fmt: skip
    assert put.status_code == 200, put.text
    heat = {"annotation_type": "heatmap", "storage_path": linked.json()["storage_path"],
            "data": {"width": 32, "height": 24, "color_map": "jet"}}  # fmt: skip
    body = json.dumps({"annotations": [heat]}).encode()
    headers = signed_headers(body)
    path = f"/api/analyses/{analysis}/annotations:bulk"
    proxy.cut()  # the bulk post looks the file up in S3, which is now out of reach
    failed = client.post(path, content=body, headers=headers)
    assert failed.status_code == 503, failed.text
    assert failed.json()["code"] == "storage_unavailable"
    proxy.restore()
    repeat = client.post(path, content=body, headers=headers)
    assert repeat.status_code == 200, repeat.text
    assert repeat.json()["total"] == 1
    assert "Idempotent-Replayed" not in repeat.headers
    # From now on the repeat is the stored answer.
    again = client.post(path, content=body, headers=headers)
    assert (again.status_code, again.content) == (200, repeat.content)
    assert again.headers["Idempotent-Replayed"] == "true"
