"""The BlobStore interface: where image bytes, thumbnails and artifacts live."""

from __future__ import annotations

import io
import re
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO

from trapline.errors import InvalidInput

#: Keys are relative, slash-separated paths of these characters; no ``..`` segments.
_KEY_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/=-]{0,1023}$")

#: Bytes a store reads from or writes to a stream at a time; bounds memory per transfer.
CHUNK_SIZE = 1024 * 1024

#: Longest life of a signed URL: one week, the most S3's SigV4 presigning allows.
MAX_SIGNED_URL_SECONDS = 7 * 24 * 3600


def check_key(key: str) -> str:
    """Return ``key`` if it is a safe storage key, else raise InvalidInput."""
    if not _KEY_PATTERN.match(key) or any(part in ("", ".", "..") for part in key.split("/")):
        raise InvalidInput(f"invalid storage key {key!r}", code="invalid_key")
    return key


def check_prefix(prefix: str) -> str:
    """Return ``prefix`` if it names a folder of keys (a safe key and a final ``/``)."""
    if not prefix.endswith("/"):
        raise InvalidInput(
            f"a key prefix ends with '/' so it names a folder (got {prefix!r})",
            code="invalid_key",
        )
    check_key(prefix[:-1])
    return prefix


def check_signed_url_request(expires_in: int) -> None:
    """Raise InvalidInput unless every store can sign a link that lives ``expires_in`` seconds."""
    if not 1 <= expires_in <= MAX_SIGNED_URL_SECONDS:
        raise InvalidInput(
            f"expires_in must be a number of seconds from 1 to {MAX_SIGNED_URL_SECONDS}"
            f" (got {expires_in})",
            code="invalid_expiry",
        )


@dataclass(frozen=True)
class BlobInfo:
    """What a store knows of one blob without reading it."""

    #: Its length in bytes.
    size: int
    #: The Content-Type it was stored with, where the store keeps one (S3); else None.
    content_type: str | None


@dataclass(frozen=True)
class StoredBlob:
    """A blob as a listing finds it."""

    key: str
    #: When it was last written (UTC).
    modified: datetime


class BlobStore(ABC):
    """Stores byte streams under string keys and hands out signed, expiring URLs for them.

    Implementations fill the abstract hooks; the conveniences here are shared.
    """

    @abstractmethod
    def put(
        self, key: str, stream: BinaryIO, *, content_type: str | None = None, durable: bool = True
    ) -> int:
        """Store the rest of ``stream`` under ``key`` without reading it all into memory.

        Replaces any blob already there atomically (readers see the old or the new bytes,
        never a mix). Returns the number of bytes written. ``durable=False`` allows skipping
        the flush to disk for blobs that can be made again (thumbnails).
        """

    @abstractmethod
    def open(self, key: str) -> BinaryIO:
        """Open the blob for streaming reads; raises NotFound when it does not exist."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove the blob; deleting a missing key is not an error."""

    @abstractmethod
    def delete_prefix(self, prefix: str) -> None:
        """Remove every blob whose key starts with ``prefix``, which ends with ``/``.

        Blobs stored under the prefix while this runs may stay; the caller makes sure that
        nothing does (a project's blobs go once its rows are gone, and no new row can name
        it).
        """

    @abstractmethod
    def list_blobs(self, prefix: str) -> Iterator[StoredBlob]:
        """Every blob whose key starts with ``prefix`` (which ends with ``/``), in no order.

        Blobs being written are not listed until they are in place.
        """

    @abstractmethod
    def stat(self, key: str) -> BlobInfo | None:
        """The size (and content type, where kept) of the blob under ``key``; None when no
        blob is stored there.

        One cheap metadata call (a file's stat, an S3 HEAD): the way to check what arrived
        through an upload link, which no store can cap in size as it is written.
        """

    @abstractmethod
    def signed_url(self, key: str, *, expires_in: int = 3600) -> str:
        """A URL that lets any HTTP client download this one key until it expires.

        Links only read: nothing is ever written through one. The local store may answer a
        path (``/api/v2/blobs/…``) that the API makes absolute.
        """

    @abstractmethod
    def signed_upload_url(self, key: str, *, content_type: str, expires_in: int) -> str:
        """A URL that takes a plain ``PUT`` of this one key's bytes, sent with
        ``content_type`` and no other credentials, until it expires.

        Handed only to callers allowed to write that key (an external pipeline uploading an
        artifact of its own analysis). The local store may answer a path the API makes
        absolute.
        """

    @abstractmethod
    def check(self) -> None:
        """Raise StorageError when the store cannot be used (for ``/readyz``)."""

    def exists(self, key: str) -> bool:
        """Whether a blob is stored under ``key``."""
        return self.stat(key) is not None

    def put_bytes(
        self, key: str, data: bytes, *, content_type: str | None = None, durable: bool = True
    ) -> int:
        """Store ``data`` under ``key``."""
        return self.put(key, io.BytesIO(data), content_type=content_type, durable=durable)

    def read_bytes(self, key: str) -> bytes:
        """Read a whole blob (only for small blobs such as thumbnails)."""
        with self.opened(key) as handle:
            return handle.read()

    @contextmanager
    def opened(self, key: str) -> Iterator[BinaryIO]:
        """``open`` as a context manager that always closes the stream."""
        handle = self.open(key)
        try:
            yield handle
        finally:
            handle.close()
