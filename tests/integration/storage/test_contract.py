"""What every BlobStore promises, checked against a local folder and a real moto S3 server."""

from __future__ import annotations

import hashlib
import random
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import BinaryIO, cast
from urllib.parse import parse_qs, unquote, urlsplit

import httpx
import pytest

from tests.support.moto import s3_client
from trapline.errors import (
    InvalidInput,
    MissingDependency,
    NotFound,
    PermissionDenied,
    StorageError,
)
from trapline.storage import BlobStore, open_blob_store
from trapline.storage.base import BlobInfo
from trapline.storage.local import BLOB_ROUTE, LocalBlobStore
from trapline.storage.s3 import S3BlobStore

MiB = 1024 * 1024

#: Largest single read a store may ask of the stream it is given ("a few MiB").
MAX_READ = 4 * MiB

#: Why signature and expiry checks are skipped for S3: moto does not check presigned URLs.
MOTO_SKIPS_LINK_CHECKS = "moto does not check presigned-URL signatures or expiry (AWS and MinIO do)"

KEY = "images/12/ab/cd/0123456789abcdef.jpg"


class _BlobServer(ThreadingHTTPServer):
    """Serves a LocalBlobStore's signed links the way the API does, but with nothing else."""

    daemon_threads = True
    store: LocalBlobStore

    @property
    def url(self) -> str:
        """Base URL to give the store so its links point here."""
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"


class _SignedBlobHandler(BaseHTTPRequestHandler):
    server: _BlobServer

    def do_GET(self) -> None:
        key = self._verified_key()
        if key is None:
            return
        path = self.server.store.path_for(key)
        if not path.is_file():
            self._answer(404, b"not found")
            return
        self._answer(200, path.read_bytes())

    def log_message(self, format: str, *args: object) -> None:
        # Keep request logs out of the test output.
        return

    def _verified_key(self) -> str | None:
        url = urlsplit(self.path)
        key = unquote(url.path).removeprefix(f"{BLOB_ROUTE}/")
        query = parse_qs(url.query)
        try:
            self.server.store.verify(
                key, query.get("expires", [None])[0], query.get("sig", [None])[0]
            )
        except PermissionDenied as exc:
            self._answer(403, exc.detail.encode())
            return None
        return key

    def _answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@dataclass
class Backend:
    """A store under test, plus the backend-specific ways to misuse it."""

    store: BlobStore
    #: A store of the same kind whose bucket or folder cannot be used.
    unusable: Callable[[], BlobStore]
    #: A store over the same blobs whose clock reads an hour ago, where the clock can be set.
    in_the_past: Callable[[], BlobStore] | None


@pytest.fixture
def blob_server() -> Iterator[_BlobServer]:
    """A loopback HTTP server for local signed links, stopped after the test."""
    server = _BlobServer(("127.0.0.1", 0), _SignedBlobHandler)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
    )
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def local_backend(tmp_path: Path, secret_key: bytes, blob_server: _BlobServer) -> Backend:
    """A LocalBlobStore in a fresh folder whose links point at ``blob_server``."""
    root = tmp_path / "blobs"
    store = open_blob_store(root.as_uri(), secret_key=secret_key, base_url=blob_server.url)
    assert isinstance(store, LocalBlobStore)
    blob_server.store = store

    def unusable() -> BlobStore:
        # A folder cannot be made beneath a regular file, even by root.
        blocker = tmp_path / "not-a-folder"
        blocker.write_bytes(b"")
        return LocalBlobStore(blocker / "blobs", secret_key)

    def in_the_past() -> BlobStore:
        hour_ago = time.time() - 3600
        return LocalBlobStore(root, secret_key, blob_server.url, clock=lambda: hour_ago)

    return Backend(store, unusable, in_the_past)


@pytest.fixture
def s3_backend(s3_endpoint: str, s3_bucket: str) -> Backend:
    """An S3BlobStore with a key prefix in a fresh moto bucket."""
    store = open_blob_store(
        f"s3://{s3_bucket}/trapline/blobs",
        secret_key=b"unused-by-s3",
        s3_endpoint_url=s3_endpoint,
    )
    assert isinstance(store, S3BlobStore)

    def unusable() -> BlobStore:
        return S3BlobStore(f"missing-{uuid.uuid4().hex[:16]}", endpoint_url=s3_endpoint)

    # botocore signs with the system clock, and moto would not check expiry anyway.
    return Backend(store, unusable, in_the_past=None)


@pytest.fixture(
    params=[
        pytest.param("local", id="local"),
        pytest.param("s3", id="s3", marks=pytest.mark.s3),
    ]
)
def backend(request: pytest.FixtureRequest) -> Backend:
    """Each contract test runs once per backend, each time with an empty store."""
    return cast(Backend, request.getfixturevalue(f"{request.param}_backend"))


@pytest.fixture
def store(backend: Backend) -> BlobStore:
    """The empty store under test."""
    return backend.store


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    """A plain HTTP client, as a worker or browser would fetch signed links with."""
    with httpx.Client(timeout=30.0) as client:
        yield client


class _RecordingStream:
    """A non-seekable stream of pseudo-random bytes that records every read asked of it."""

    def __init__(self, size: int) -> None:
        self._left = size
        self._random = random.Random(size)
        self.sha256 = hashlib.sha256()
        self.requested: list[int] = []
        self.returned: list[int] = []

    def read(self, size: int = -1) -> bytes:
        self.requested.append(size)
        count = self._left if size < 0 else min(size, self._left)
        data = self._random.randbytes(count)
        self._left -= count
        self.sha256.update(data)
        self.returned.append(count)
        return data


def test_put_then_open_round_trips(store: BlobStore) -> None:
    written = store.put_bytes(KEY, b"jpeg bytes", content_type="image/jpeg")

    assert written == len(b"jpeg bytes")
    with store.opened(KEY) as handle:
        assert handle.read(4) == b"jpeg"
        assert handle.read() == b" bytes"
    assert store.read_bytes(KEY) == b"jpeg bytes"


def test_put_of_an_empty_stream_stores_an_empty_blob(store: BlobStore) -> None:
    assert store.put_bytes(KEY, b"") == 0
    assert store.exists(KEY)
    assert store.read_bytes(KEY) == b""


def test_large_put_reads_the_stream_in_chunks(store: BlobStore) -> None:
    size = 20 * MiB
    stream = _RecordingStream(size)

    written = store.put(KEY, cast(BinaryIO, stream), content_type="image/tiff")

    assert written == size
    found = store.stat(KEY)  # in parts on S3: the size is still the whole blob's
    assert found is not None
    assert found.size == size
    assert all(0 < asked <= MAX_READ for asked in stream.requested), stream.requested
    assert max(stream.returned) <= MAX_READ
    assert sum(stream.returned) == size
    read_back = hashlib.sha256()
    with store.opened(KEY) as handle:
        while chunk := handle.read(MiB):
            assert len(chunk) <= MiB
            read_back.update(chunk)
    assert read_back.hexdigest() == stream.sha256.hexdigest()


class _DroppedUpload:
    """Hands out ``size`` bytes in small reads, then fails like a client that went away."""

    def __init__(self, size: int) -> None:
        self._left = size

    def read(self, size: int = -1) -> bytes:
        if self._left <= 0:
            raise ConnectionResetError("client went away")
        count = min(64 * 1024, self._left)
        self._left -= count
        return b"\0" * count


@pytest.mark.parametrize("fail_after", [100, 12 * MiB], ids=["small", "past-one-part"])
def test_a_stream_failing_midway_keeps_the_old_blob(store: BlobStore, fail_after: int) -> None:
    store.put_bytes(KEY, b"old bytes")

    # The caller's own error comes back unchanged, not as a storage failure.
    with pytest.raises(ConnectionResetError, match="client went away"):
        store.put(KEY, cast(BinaryIO, _DroppedUpload(fail_after)))

    assert store.read_bytes(KEY) == b"old bytes"


def test_put_replaces_an_existing_blob(store: BlobStore) -> None:
    store.put_bytes(KEY, b"old bytes, longer than the new ones")

    store.put_bytes(KEY, b"new")

    assert store.read_bytes(KEY) == b"new"


def test_open_of_a_missing_key_raises_not_found(store: BlobStore) -> None:
    with pytest.raises(NotFound, match="no blob is stored"):
        store.open(KEY)
    with pytest.raises(NotFound):
        store.read_bytes("images/never/stored.jpg")


def test_delete_removes_the_blob_and_may_be_repeated(store: BlobStore) -> None:
    store.put_bytes(KEY, b"bytes")

    store.delete(KEY)
    store.delete(KEY)
    store.delete("images/never/stored.jpg")

    assert not store.exists(KEY)
    with pytest.raises(NotFound):
        store.open(KEY)


def test_delete_prefix_removes_every_blob_under_it_and_nothing_else(store: BlobStore) -> None:
    inside = ["images/12/ab/cd/one.jpg", "images/12/ef/two.jpg", "images/12/three.jpg"]
    outside = ["images/123/ab/four.jpg", "images/1/five.jpg", "thumbnails/12/ab/six.jpg"]
    for key in inside + outside:
        store.put_bytes(key, key.encode())

    store.delete_prefix("images/12/")
    store.delete_prefix("images/12/")  # nothing left: not an error
    store.delete_prefix("images/never/")

    assert [key for key in inside if store.exists(key)] == []
    assert [key for key in outside if store.read_bytes(key) == key.encode()] == outside


def test_delete_prefix_takes_more_blobs_than_one_listing_holds(store: BlobStore) -> None:
    keys = [f"images/7/{n:04d}.jpg" for n in range(1005)]  # S3 lists a thousand at a time
    for key in keys:
        store.put_bytes(key, b"x", durable=False)

    store.delete_prefix("images/7/")

    assert not store.exists(keys[0])
    assert not store.exists(keys[-1])


@pytest.mark.parametrize("prefix", ["images/12", "../images/", "/images/", "", "a//b/"])
def test_delete_prefix_refuses_anything_but_a_folder_of_keys(store: BlobStore, prefix: str) -> None:
    store.put_bytes(KEY, b"bytes")

    with pytest.raises(InvalidInput):
        store.delete_prefix(prefix)

    assert store.exists(KEY)


def test_exists_tells_stored_from_missing_keys(store: BlobStore) -> None:
    store.put_bytes(KEY, b"bytes")

    assert store.exists(KEY)
    assert not store.exists("images/12/ab/cd/other.jpg")
    # A "folder" above stored keys is not itself a blob.
    assert not store.exists("images/12")


def test_stat_tells_the_size_and_the_content_type_it_keeps(store: BlobStore) -> None:
    store.put_bytes(KEY, b"\x89PNG heatmap", content_type="image/png")
    store.put_bytes("logs/1/empty.txt", b"", content_type="text/plain")
    # S3 keeps the type an object was stored with; the local store keeps none.
    keeps_types = isinstance(store, S3BlobStore)

    assert store.stat(KEY) == BlobInfo(
        size=len(b"\x89PNG heatmap"), content_type="image/png" if keeps_types else None
    )
    assert store.stat("logs/1/empty.txt") == BlobInfo(
        size=0, content_type="text/plain" if keeps_types else None
    )
    store.put_bytes(KEY, b"smaller", content_type="image/png")
    replaced = store.stat(KEY)
    assert replaced is not None
    assert replaced.size == len(b"smaller")


def test_stat_of_a_missing_key_or_a_folder_is_none(store: BlobStore) -> None:
    store.put_bytes(KEY, b"bytes")

    assert store.stat("images/12/ab/cd/other.jpg") is None
    assert store.stat("images/12") is None
    store.delete(KEY)
    assert store.stat(KEY) is None


def test_stat_refuses_unsafe_keys(store: BlobStore) -> None:
    with pytest.raises(InvalidInput):
        store.stat("../outside.jpg")


def test_signed_get_url_serves_the_bytes(store: BlobStore, http: httpx.Client) -> None:
    store.put_bytes(KEY, b"\xff\xd8 image bytes", content_type="image/jpeg")

    response = http.get(store.signed_url(KEY, expires_in=60))

    assert response.status_code == 200
    assert response.content == b"\xff\xd8 image bytes"


def test_signed_urls_only_download(backend: Backend, store: BlobStore, http: httpx.Client) -> None:
    if backend.in_the_past is None:
        pytest.skip(MOTO_SKIPS_LINK_CHECKS)  # S3 signs the method of a presigned URL
    store.put_bytes(KEY, b"original bytes", content_type="image/jpeg")

    response = http.put(store.signed_url(KEY, expires_in=60), content=b"overwritten")

    assert not response.is_success
    assert store.read_bytes(KEY) == b"original bytes"


def test_tampered_signature_is_refused(
    backend: Backend, store: BlobStore, http: httpx.Client
) -> None:
    if backend.in_the_past is None:
        pytest.skip(MOTO_SKIPS_LINK_CHECKS)
    store.put_bytes(KEY, b"secret bytes")
    url = store.signed_url(KEY, expires_in=60)
    flipped = "0" if url[-1] != "0" else "1"

    response = http.get(url[:-1] + flipped)

    assert response.status_code == 403
    assert b"secret bytes" not in response.content


def test_expired_link_is_refused(backend: Backend, store: BlobStore, http: httpx.Client) -> None:
    if backend.in_the_past is None:
        pytest.skip(MOTO_SKIPS_LINK_CHECKS)
    store.put_bytes(KEY, b"secret bytes")
    url = backend.in_the_past().signed_url(KEY, expires_in=60)

    response = http.get(url)

    assert response.status_code == 403
    assert b"expired" in response.content


def test_signed_url_refuses_lifetimes_outside_one_second_to_a_week(store: BlobStore) -> None:
    with pytest.raises(InvalidInput, match="expires_in"):
        store.signed_url(KEY, expires_in=0)
    with pytest.raises(InvalidInput, match="expires_in"):
        store.signed_url(KEY, expires_in=8 * 24 * 3600)


_KEY_OPERATIONS: dict[str, Callable[[BlobStore, str], object]] = {
    "put": lambda store, key: store.put_bytes(key, b"bytes"),
    "open": lambda store, key: store.open(key),
    "delete": lambda store, key: store.delete(key),
    "exists": lambda store, key: store.exists(key),
    "signed_url": lambda store, key: store.signed_url(key),
}


@pytest.mark.parametrize("operation", list(_KEY_OPERATIONS))
@pytest.mark.parametrize("key", ["../x", "/abs", "a//b", "", "a/./b", "a/../../etc/passwd"])
def test_invalid_keys_are_refused(store: BlobStore, operation: str, key: str) -> None:
    with pytest.raises(InvalidInput, match="invalid storage key"):
        _KEY_OPERATIONS[operation](store, key)


def test_check_passes_for_a_usable_store(store: BlobStore) -> None:
    store.check()


def test_check_fails_when_the_bucket_or_folder_cannot_be_used(backend: Backend) -> None:
    with pytest.raises(StorageError, match="cannot"):
        backend.unusable().check()


@pytest.mark.s3
def test_s3_objects_live_under_the_prefix(s3_backend: Backend, s3_endpoint: str) -> None:
    store = s3_backend.store
    assert isinstance(store, S3BlobStore)
    store.put_bytes(KEY, b"bytes", content_type="image/jpeg")

    head = s3_client(s3_endpoint).head_object(Bucket=store.bucket, Key=f"trapline/blobs/{KEY}")

    assert head["ContentLength"] == 5
    assert head["ContentType"] == "image/jpeg"


def test_s3_without_boto3_names_the_extra_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    # None in sys.modules makes the import fail; monkeypatch puts the real modules back.
    monkeypatch.setitem(sys.modules, "boto3", None)
    monkeypatch.delitem(sys.modules, "trapline.storage.s3")

    with pytest.raises(MissingDependency, match=r"pip install 'trapline\[s3\]'"):
        open_blob_store("s3://bucket/blobs", secret_key=b"unused")


def test_list_blobs_finds_every_key_under_a_prefix(store: BlobStore) -> None:
    before = datetime.now(UTC) - timedelta(minutes=5)
    for key in ("images/1/ab/x.jpg", "images/1/cd/y.jpg", "images/12/z.jpg", "thumbnails/1/w.jpg"):
        store.put_bytes(key, b"data")
    listed = list(store.list_blobs("images/1/"))
    assert sorted(b.key for b in listed) == ["images/1/ab/x.jpg", "images/1/cd/y.jpg"]
    assert all(before < b.modified < datetime.now(UTC) + timedelta(minutes=5) for b in listed)
    assert sorted(b.key for b in store.list_blobs("images/")) == [
        "images/1/ab/x.jpg",
        "images/1/cd/y.jpg",
        "images/12/z.jpg",
    ]
    assert list(store.list_blobs("nothing/")) == []
