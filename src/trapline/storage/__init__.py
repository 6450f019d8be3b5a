"""Blob storage: pick a BlobStore by the scheme of the storage URL."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import SplitResult, unquote, urlsplit

from trapline.errors import InvalidInput
from trapline.storage.base import BlobStore
from trapline.storage.local import LocalBlobStore

__all__ = ["STORES", "BlobStore", "open_blob_store"]


@dataclass(frozen=True)
class _StoreOptions:
    """Settings a store may need besides its URL."""

    secret_key: bytes
    s3_endpoint_url: str | None
    s3_region: str
    base_url: str


def _open_local(url: SplitResult, options: _StoreOptions) -> BlobStore:
    if url.netloc not in ("", "localhost"):
        raise InvalidInput(
            f"file storage URLs name a local folder: file:///abs/path (got host {url.netloc!r})"
        )
    path = Path(unquote(url.path))
    if not path.is_absolute():
        raise InvalidInput(
            f"file storage URLs need an absolute path: file:///abs/path (got {url.path!r})"
        )
    return LocalBlobStore(path, options.secret_key, options.base_url)


def _open_s3(url: SplitResult, options: _StoreOptions) -> BlobStore:
    # Imported here so boto3 is only needed by those who store blobs in S3.
    from trapline.storage.s3 import S3BlobStore

    return S3BlobStore(
        url.netloc,
        prefix=unquote(url.path),
        endpoint_url=options.s3_endpoint_url,
        region=options.s3_region,
    )


#: How to open a store, by storage URL scheme.
STORES: dict[str, Callable[[SplitResult, _StoreOptions], BlobStore]] = {
    "file": _open_local,
    "s3": _open_s3,
}


def open_blob_store(
    url: str,
    *,
    secret_key: bytes,
    s3_endpoint_url: str | None = None,
    s3_region: str = "us-east-1",
    base_url: str = "",
) -> BlobStore:
    """Open the store a storage URL names: ``file:///abs/path`` or ``s3://bucket/prefix``."""
    parts = urlsplit(url)
    opener = STORES.get(parts.scheme)
    if opener is None:
        supported = ", ".join(f"{scheme}://" for scheme in STORES)
        raise InvalidInput(
            f"storage URL {url!r} has an unsupported scheme; use one of: {supported}",
            code="invalid_storage_url",
        )
    options = _StoreOptions(secret_key, s3_endpoint_url, s3_region, base_url)
    return opener(parts, options)
