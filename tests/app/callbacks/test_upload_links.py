"""Upload links of both stores: S3 presigned PUT (moto) and the local store's signed PUT."""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.support.moto import new_bucket
from trapline.errors import PermissionDenied
from trapline.storage.local import LocalBlobStore
from trapline.storage.s3 import S3BlobStore


def test_s3_presigned_put_takes_a_plain_put_with_the_content_type(s3_endpoint: str) -> None:
    store = S3BlobStore(new_bucket(s3_endpoint), prefix="blobs", endpoint_url=s3_endpoint)
    key = "artifacts/1/2/heatmap/abc-heat.png"
    url = store.signed_upload_url(key, content_type="image/png", expires_in=60)
    assert not store.exists(key)
    answer = httpx.put(url, content=b"\x89PNG...", headers={"Content-Type": "image/png"})
    assert answer.status_code == 200, answer.text
    assert store.exists(key)
    assert store.read_bytes(key) == b"\x89PNG..."


def test_local_upload_and_download_links_cannot_stand_for_each_other(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path, b"secret")
    key = "artifacts/1/2/mask/abc-mask.png"
    upload = parse_qs(urlsplit(store.signed_upload_url(key, content_type="image/png",
                                                      expires_in=60)).query)  # fmt: skip
    download = parse_qs(urlsplit(store.signed_url(key, expires_in=60)).query)
    store.verify_upload(key, upload["expires"][0], "image/png", upload["sig"][0])
    with pytest.raises(PermissionDenied):
        store.verify(key, upload["expires"][0], upload["sig"][0])
    with pytest.raises(PermissionDenied):
        store.verify_upload(key, download["expires"][0], "image/png", download["sig"][0])
    with pytest.raises(PermissionDenied):  # another content type than signed
        store.verify_upload(key, upload["expires"][0], "text/html", upload["sig"][0])
    with pytest.raises(PermissionDenied):  # another key
        store.verify_upload(key + "x", upload["expires"][0], "image/png", upload["sig"][0])
    past = LocalBlobStore(tmp_path, b"secret", clock=lambda: time.time() - 120)
    old = parse_qs(urlsplit(past.signed_upload_url(key, content_type="image/png",
                                                   expires_in=60)).query)  # fmt: skip
    with pytest.raises(PermissionDenied, match="expired"):
        store.verify_upload(key, old["expires"][0], "image/png", old["sig"][0])
