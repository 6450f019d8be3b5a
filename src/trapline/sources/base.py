"""What every pull-source gateway does: list what a remote place holds, open one file.

A gateway lists *entries* (a key that names the file within the source, stable between
listings, and what the remote side says of its version: size, ETag, modified time) and opens
one entry as a stream. Filtering by glob, the depth of folders and the bound on a listing's size
live here, once; each kind (``http_directory``, ``s3``, ``ftp``, ``local``) fills two hooks:
``_walk`` (every file under the source, as the remote side names it) and ``_open``.
"""

from __future__ import annotations

import fnmatch
import hashlib
import io
import re
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import IO, Any, BinaryIO

from trapline.errors import TraplineError
from trapline.outbound import OutboundPolicy

#: Files a source takes when no include glob is given: common image extensions.
DEFAULT_INCLUDE = ("*.jpg", "*.jpeg", "*.png", "*.tif", "*.tiff", "*.webp")
#: Deepest folder nesting a source may ask for.
MAX_DEPTH = 10
#: The longest key a source remembers (its items' column, and a photo's file name).
MAX_KEY = 1024
#: Bytes read at a time while downloading.
CHUNK = 256 * 1024
#: Downloads up to this size stay in memory; larger ones spill to a temporary file.
SPOOL_BYTES = 8 * 1024 * 1024


class SourceError(TraplineError):
    """A source could not be listed or a file of it could not be read.

    ``transient`` errors (the server unreachable, a timeout, a truncated download) may pass;
    others (a missing file, refused credentials, a file too large) will not by themselves.
    """

    status_code = 502
    code = "source_error"

    def __init__(self, detail: str, *, transient: bool = True, code: str | None = None) -> None:
        super().__init__(detail, code=code)
        self.transient = transient


@dataclass(frozen=True)
class Entry:
    """One file a source holds, as its listing describes it."""

    #: The file's path below the source's URL, with ``/`` between folders ("night-1/a.jpg").
    key: str
    size: int | None = None
    etag: str | None = None
    modified: datetime | None = None
    #: What else the listing said of the file (an HTML listing's date and size text).
    note: str | None = None
    #: The file's own path below the source's URL where the key cannot be it (a local name
    #: that is not UTF-8, a path longer than ``MAX_KEY``): what the gateway opens. Never stored.
    path: str | None = None

    @property
    def where(self) -> str:
        """The file's path below the source's URL, as the gateway opens it."""
        return self.path or self.key

    @property
    def version(self) -> str:
        """What changes when the file's content does, as far as the listing tells."""
        parts = [
            f"etag={self.etag}" if self.etag else "",
            f"size={self.size}" if self.size is not None else "",
            f"modified={self.modified.isoformat()}" if self.modified else "",
            f"note={self.note}" if self.note and not self.etag else "",
        ]
        return ";".join(p for p in parts if p)[:255]


@dataclass(frozen=True)
class GatewayConfig:
    """Where a source is and how far a gateway may go reading it."""

    url: str
    #: Decrypted credentials, by name (``username``, ``password``, ``authorization``,
    #: ``access_key_id``, ``secret_access_key``).
    credentials: Mapping[str, str] = field(default_factory=dict)
    include: tuple[str, ...] = DEFAULT_INCLUDE
    exclude: tuple[str, ...] = ()
    #: Levels of sub-folders followed below the source's own folder (0: that folder only).
    depth: int = 0
    #: S3: the endpoint of an S3-compatible service (MinIO); None for AWS.
    endpoint_url: str | None = None
    #: The outbound guard every network gateway connects through.
    policy: OutboundPolicy = field(default_factory=OutboundPolicy)
    #: ``local``: folders an admin allowed (``TRAPLINE_SOURCES_LOCAL_ROOTS``).
    local_roots: tuple[Path, ...] = ()
    #: Seconds to connect, and to wait for each read.
    timeout: float = 30.0
    #: Most entries (files and folders) one listing may hold.
    max_listing: int = 1_000_000
    #: Largest file downloaded, in bytes.
    max_file_bytes: int = 100 * 1024 * 1024


class Globs:
    """Include and exclude globs, compiled once (case-insensitive).

    A pattern with a ``/`` is matched against the whole key, one without against the file's
    name, so ``*.jpg`` takes JPEGs in every folder and ``night-1/*`` one folder.
    """

    def __init__(self, include: tuple[str, ...], exclude: tuple[str, ...]) -> None:
        self._include = _compiled(include)
        self._exclude = _compiled(exclude)

    def __call__(self, key: str) -> bool:
        name = key.rsplit("/", 1)[-1]
        return _hit(self._include, key, name) and not _hit(self._exclude, key, name)


def _compiled(patterns: tuple[str, ...]) -> tuple[re.Pattern[str] | None, re.Pattern[str] | None]:
    def one(group: list[str]) -> re.Pattern[str] | None:
        if not group:
            return None
        return re.compile("|".join(fnmatch.translate(p) for p in group), re.IGNORECASE)

    return one([p for p in patterns if "/" not in p]), one([p for p in patterns if "/" in p])


def _hit(
    compiled: tuple[re.Pattern[str] | None, re.Pattern[str] | None], key: str, name: str
) -> bool:
    by_name, by_path = compiled
    return bool((by_name and by_name.match(name)) or (by_path and by_path.match(key)))


def matches(key: str, include: tuple[str, ...], exclude: tuple[str, ...]) -> bool:
    """Whether a key passes the globs (see ``Globs``)."""
    return Globs(include, exclude)(key)


class Gateway(ABC):
    """Reads one source: lists its files and opens them. Not thread-safe unless a kind says."""

    #: The kind's name in the registry and in a source's ``kind``.
    kind: str = ""

    def __init__(self, config: GatewayConfig) -> None:
        self.config = config

    def entries(self) -> Iterator[Entry]:
        """The source's files that pass its globs, as the listing goes (never held whole).

        Raises:
            SourceError: the source cannot be listed, or its listing is over the limit.
        """
        passes = Globs(self.config.include, self.config.exclude)
        for seen, entry in enumerate(self._walk(), start=1):
            if seen > self.config.max_listing:
                raise SourceError(
                    f"the listing holds more than {self.config.max_listing} entries; narrow the "
                    "source (a sub-folder or prefix, or less depth)",
                    transient=False,
                )
            if passes(entry.key):
                yield entry if len(entry.key) <= MAX_KEY else _shortened(entry)

    def fetch(self, entry: Entry) -> IO[bytes]:
        """The file's bytes in a temporary file (memory first), rewound; the caller closes it.

        Raises:
            SourceError: the file cannot be read, is over the size limit, or came back shorter
                or longer than its listing said (a truncated or changed download).
        """
        limit = self.config.max_file_bytes
        if entry.size is not None and entry.size > limit:
            raise SourceError(
                f"{entry.key} is {entry.size} bytes, over the {limit} byte limit for one file",
                transient=False,
                code="too_large",
            )
        spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 - returned
        try:
            with self._open(entry) as stream:
                copied = _copy_limited(stream, spool, limit, entry.key)
            if entry.size is not None and copied != entry.size:
                raise SourceError(
                    f"{entry.key}: the download gave {copied} bytes where the listing said "
                    f"{entry.size} (truncated, or changed meanwhile); it is tried again later"
                )
            spool.seek(0)
            return spool
        except BaseException:
            spool.close()
            raise

    def close(self) -> None:  # noqa: B027 - most kinds hold nothing
        """Release connections."""

    def __enter__(self) -> Gateway:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    @abstractmethod
    def _walk(self) -> Iterator[Entry]:
        """Every file under the source, down to ``config.depth`` levels of folders."""

    @abstractmethod
    def _open(self, entry: Entry) -> AbstractContextManager[BinaryIO]:
        """The file's content as a stream.

        Raises:
            SourceError: it cannot be read.
        """


def _copy_limited(stream: BinaryIO, sink: IO[bytes], limit: int, key: str) -> int:
    copied = 0
    while chunk := stream.read(CHUNK):
        copied += len(chunk)
        if copied > limit:
            raise SourceError(
                f"{key} is larger than the {limit} byte limit for one file",
                transient=False,
                code="too_large",
            )
        sink.write(chunk)
    return copied


class IterStream(io.RawIOBase):
    """A readable stream over an iterator of byte chunks (a streamed HTTP body)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._left = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._left:
            try:
                self._left = next(self._chunks)
            except StopIteration:
                return 0
        size = min(len(buffer), len(self._left))
        buffer[:size] = self._left[:size]
        self._left = self._left[size:]
        return size


def _shortened(entry: Entry) -> Entry:
    """An entry whose path is longer than a key may be, keyed by a digest of its path and the
    path's end (the file's name): the same key on every run, and opened by its whole path."""
    digest = hashlib.sha256(entry.key.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    key = f"{digest}…{entry.key[-(MAX_KEY - len(digest) - 1) :]}"
    return replace(entry, key=key, path=entry.where)


def join_key(folder: str, name: str) -> str:
    """A key from a folder's key and a name in it."""
    return f"{folder}/{name}" if folder else name


__all__ = [
    "DEFAULT_INCLUDE",
    "MAX_DEPTH",
    "Entry",
    "Gateway",
    "GatewayConfig",
    "IterStream",
    "SourceError",
    "join_key",
    "matches",
]
