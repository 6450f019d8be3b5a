"""LocalBlobStore specifics: atomic files on disk, link signing, and opening it by URL."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path
from typing import BinaryIO, cast
from urllib.parse import parse_qs, urlsplit

import pytest

from trapline.errors import (
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    StorageError,
)
from trapline.storage import open_blob_store
from trapline.storage.local import LocalBlobStore

KEY = "images/12/ab/cd/0123456789abcdef.jpg"

#: A fixed "now" for the store's clock.
NOW = 1_700_000_000.0


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """Folder the store keeps its blobs in."""
    return tmp_path / "blobs"


@pytest.fixture
def store(root: Path, secret_key: bytes) -> LocalBlobStore:
    """A local store whose clock stands still at NOW."""
    return LocalBlobStore(root, secret_key, clock=lambda: NOW)


def _files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def _link_parts(url: str) -> tuple[str, str, str]:
    """The key, ``expires`` and ``sig`` of a local signed link."""
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    return parts.path.removeprefix("/api/v2/blobs/"), query["expires"][0], query["sig"][0]


class _FailingStream:
    """Hands out some bytes, then fails like a dropped or oversized upload."""

    def __init__(self, error: Exception) -> None:
        self._error = error
        self._calls = 0

    def read(self, size: int = -1) -> bytes:
        self._calls += 1
        if self._calls > 2:
            raise self._error
        return b"partial "


def test_put_stores_the_file_at_root_slash_key(store: LocalBlobStore, root: Path) -> None:
    store.put_bytes(KEY, b"bytes")

    assert store.path_for(KEY) == root / KEY
    assert (root / KEY).read_bytes() == b"bytes"


def test_replacing_a_blob_leaves_no_temporary_files(store: LocalBlobStore, root: Path) -> None:
    store.put_bytes(KEY, b"first")
    store.put_bytes(KEY, b"second")

    assert _files_under(root) == [KEY]
    assert (root / KEY).read_bytes() == b"second"


def test_replace_is_atomic_for_a_reader_that_already_opened_the_blob(
    store: LocalBlobStore,
) -> None:
    store.put_bytes(KEY, b"old bytes")
    with store.opened(KEY) as reader:
        store.put_bytes(KEY, b"new bytes")

        # The open file is the old inode: a reader never sees half of each.
        assert reader.read() == b"old bytes"
    assert store.read_bytes(KEY) == b"new bytes"


@pytest.mark.parametrize(
    "error", [ConnectionResetError("client went away"), PayloadTooLarge("file is too large")]
)
def test_a_failing_stream_keeps_the_old_blob_and_no_temporary_files(
    store: LocalBlobStore, root: Path, error: Exception
) -> None:
    store.put_bytes(KEY, b"old bytes")

    # The stream's own error is the caller's to handle, so it is not wrapped.
    with pytest.raises(type(error), match=str(error)):
        store.put(KEY, cast(BinaryIO, _FailingStream(error)))

    assert store.read_bytes(KEY) == b"old bytes"
    assert _files_under(root) == [KEY]


def test_disk_errors_become_storage_errors(store: LocalBlobStore, root: Path) -> None:
    root.mkdir()
    (root / "images").write_bytes(b"a file where a folder should be")

    with pytest.raises(StorageError, match="could not store"):
        store.put_bytes(KEY, b"bytes")


def test_open_below_a_file_is_not_found(store: LocalBlobStore) -> None:
    store.put_bytes("images/a", b"bytes")

    with pytest.raises(NotFound):
        store.open("images/a/b")
    store.delete("images/a/b")
    assert store.exists("images/a")


def test_signed_url_is_a_path_with_expiry_and_hmac(
    store: LocalBlobStore, secret_key: bytes
) -> None:
    url = store.signed_url(KEY, expires_in=90)

    expected_sig = hmac.new(
        secret_key, f"GET\n{KEY}\n{int(NOW) + 90}".encode(), hashlib.sha256
    ).hexdigest()
    assert url == f"/api/v2/blobs/{KEY}?expires={int(NOW) + 90}&sig={expected_sig}"


def test_signed_url_uses_the_base_url(root: Path, secret_key: bytes) -> None:
    store = LocalBlobStore(root, secret_key, "https://trapline.example.org/")

    assert store.signed_url(KEY).startswith(f"https://trapline.example.org/api/v2/blobs/{KEY}?")


def test_verify_accepts_the_link_it_signed(store: LocalBlobStore) -> None:
    key, expires, sig = _link_parts(store.signed_url(KEY, expires_in=60))

    assert key == KEY
    store.verify(key, expires, sig)


@pytest.mark.parametrize(
    ("expires", "sig"), [(None, None), ("1700000060", None), (None, "00"), ("", "")]
)
def test_verify_refuses_unsigned_links(
    store: LocalBlobStore, expires: str | None, sig: str | None
) -> None:
    with pytest.raises(PermissionDenied, match="missing its signature") as raised:
        store.verify(KEY, expires, sig)
    assert raised.value.code == "unsigned_link"


def test_verify_refuses_a_tampered_signature(store: LocalBlobStore) -> None:
    _, expires, sig = _link_parts(store.signed_url(KEY, expires_in=60))
    tampered = ("0" if sig[0] != "0" else "1") + sig[1:]

    with pytest.raises(PermissionDenied, match="signature does not match") as raised:
        store.verify(KEY, expires, tampered)
    assert raised.value.code == "bad_signature"


def test_verify_refuses_a_signature_with_non_ascii_characters(store: LocalBlobStore) -> None:
    _, expires, _ = _link_parts(store.signed_url(KEY, expires_in=60))

    with pytest.raises(PermissionDenied, match="signature does not match"):
        store.verify(KEY, expires, "é" * 64)


def test_verify_refuses_a_later_expiry(store: LocalBlobStore) -> None:
    _, expires, sig = _link_parts(store.signed_url(KEY, expires_in=60))

    with pytest.raises(PermissionDenied, match="signature does not match"):
        store.verify(KEY, str(int(expires) + 3600), sig)


def test_verify_refuses_the_signature_of_another_key(store: LocalBlobStore) -> None:
    _, expires, sig = _link_parts(store.signed_url(KEY, expires_in=60))

    with pytest.raises(PermissionDenied, match="signature does not match"):
        store.verify("images/12/ab/cd/other.jpg", expires, sig)


def test_verify_refuses_links_signed_with_another_secret(store: LocalBlobStore, root: Path) -> None:
    other = LocalBlobStore(root, b"another secret", clock=lambda: NOW)
    _, expires, sig = _link_parts(other.signed_url(KEY, expires_in=60))

    with pytest.raises(PermissionDenied, match="signature does not match"):
        store.verify(KEY, expires, sig)


def test_verify_refuses_an_expired_link_but_not_one_at_its_last_second(
    root: Path, secret_key: bytes
) -> None:
    now = [NOW]
    store = LocalBlobStore(root, secret_key, clock=lambda: now[0])
    _, expires, sig = _link_parts(store.signed_url(KEY, expires_in=60))

    now[0] = NOW + 60
    store.verify(KEY, expires, sig)
    now[0] = NOW + 61
    with pytest.raises(
        PermissionDenied, match="this link has expired; ask for a new one"
    ) as raised:
        store.verify(KEY, expires, sig)
    assert raised.value.code == "link_expired"


def test_verify_refuses_invalid_keys(store: LocalBlobStore) -> None:
    with pytest.raises(InvalidInput):
        store.verify("../secret-key", "1700000060", "00")


def test_check_creates_a_missing_root(store: LocalBlobStore, root: Path) -> None:
    assert not root.exists()

    store.check()

    assert root.is_dir()
    assert _files_under(root) == []


def test_an_empty_secret_key_is_refused(root: Path) -> None:
    with pytest.raises(InvalidInput, match="secret key"):
        LocalBlobStore(root, b"")


def test_open_blob_store_opens_a_file_url(tmp_path: Path, secret_key: bytes) -> None:
    folder = tmp_path / "blob folder"

    store = open_blob_store(folder.as_uri(), secret_key=secret_key, base_url="http://x")

    assert isinstance(store, LocalBlobStore)
    assert store.root == folder
    assert store.signed_url(KEY).startswith("http://x/api/v2/blobs/")


@pytest.mark.parametrize("url", ["file://elsewhere/blobs", "file:relative/blobs"])
def test_open_blob_store_refuses_file_urls_that_are_not_local_absolute_paths(
    url: str, secret_key: bytes
) -> None:
    with pytest.raises(InvalidInput, match=r"file:///abs/path"):
        open_blob_store(url, secret_key=secret_key)


@pytest.mark.parametrize("url", ["gs://bucket/blobs", "/var/lib/trapline/blobs", ""])
def test_open_blob_store_names_the_supported_schemes(url: str, secret_key: bytes) -> None:
    with pytest.raises(InvalidInput, match=r"unsupported scheme; use one of: file://, s3://"):
        open_blob_store(url, secret_key=secret_key)
