"""Blobs as files under one folder, with HMAC-signed links the API serves itself."""

from __future__ import annotations

import hmac
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from stat import S_ISREG
from typing import BinaryIO
from urllib.parse import urlencode

from trapline.domain.core.tokens import hmac_sha256
from trapline.errors import InvalidInput, NotFound, PermissionDenied, StorageError
from trapline.files import private_dir
from trapline.storage.base import (
    CHUNK_SIZE,
    BlobInfo,
    BlobStore,
    StoredBlob,
    check_key,
    check_prefix,
    check_signed_url_request,
)

#: Path under which the API serves signed blob links; signed URLs point here.
BLOB_ROUTE = "/api/v2/blobs"


class LocalBlobStore(BlobStore):
    """Stores each blob as the file ``root/key``; links are signed with ``secret_key``.

    Files are written 0600 (as ``mkstemp`` makes them) in folders made 0700.
    """

    def __init__(
        self,
        root: Path,
        secret_key: bytes,
        base_url: str = "",
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not secret_key:
            raise InvalidInput("the local blob store needs a non-empty secret key to sign links")
        self.root = Path(root).absolute()
        self.base_url = base_url.rstrip("/")
        self._secret_key = secret_key
        #: Seconds since the epoch; a parameter so tests can sign links in the past.
        self._clock = clock

    def path_for(self, key: str) -> Path:
        """The file that holds ``key`` (for serving it with a FileResponse)."""
        return self.root / check_key(key)

    def put(
        self, key: str, stream: BinaryIO, *, content_type: str | None = None, durable: bool = True
    ) -> int:
        """Copy ``stream`` into a temporary file beside the target, then rename it into place."""
        path = self.path_for(key)
        failed = f"could not store {key!r}"
        with _disk_errors(failed):
            private_dir(path.parent)
            # The temporary file must be on the same filesystem for os.replace to be atomic.
            fd, temp_name = tempfile.mkstemp(
                dir=path.parent, prefix=f".{path.name}.", suffix=".part"
            )
        written = 0
        try:
            with os.fdopen(fd, "wb") as out:
                # Errors reading the caller's stream are the caller's and pass through as they
                # are; only our own disk errors become StorageError.
                while chunk := stream.read(CHUNK_SIZE):
                    with _disk_errors(failed):
                        out.write(chunk)
                    written += len(chunk)
                with _disk_errors(failed):
                    out.flush()
                    if durable:
                        os.fsync(out.fileno())
            with _disk_errors(failed):
                os.replace(temp_name, path)
                if durable:
                    _fsync_directory(path.parent)
        except BaseException:
            with suppress(OSError):
                os.unlink(temp_name)
            raise
        return written

    def open(self, key: str) -> BinaryIO:
        """Open the blob's file for reading."""
        path = self.path_for(key)
        try:
            return path.open("rb")
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError) as exc:
            raise NotFound(f"no blob is stored under {key!r}") from exc
        except OSError as exc:
            raise StorageError(f"could not read {key!r}: {exc.strerror or exc}") from exc

    def delete(self, key: str) -> None:
        """Remove the blob's file; its (possibly empty) folders stay."""
        path = self.path_for(key)
        try:
            path.unlink(missing_ok=True)
        except (NotADirectoryError, IsADirectoryError):
            # The key names a folder or passes through a file: no blob is there to delete.
            return
        except OSError as exc:
            raise StorageError(f"could not delete {key!r}: {exc.strerror or exc}") from exc

    def delete_prefix(self, prefix: str) -> None:
        """Remove the folder of the prefix with everything in it."""
        path = self.root / check_prefix(prefix)
        try:
            shutil.rmtree(path)
        except (FileNotFoundError, NotADirectoryError):
            return  # nothing stored under it
        except OSError as exc:
            raise StorageError(f"could not delete {prefix!r}: {exc.strerror or exc}") from exc

    def list_blobs(self, prefix: str) -> Iterator[StoredBlob]:
        """Walk the prefix's folder; temporary files of writes in progress are skipped."""
        top = self.root / check_prefix(prefix)
        try:
            for folder, _, names in os.walk(top):
                for name in names:
                    if name.startswith("."):
                        continue  # a write in progress (see put)
                    path = Path(folder, name)
                    with suppress(FileNotFoundError):  # deleted meanwhile
                        when = datetime.fromtimestamp(path.stat().st_mtime, UTC)
                        yield StoredBlob(path.relative_to(self.root).as_posix(), when)
        except OSError as exc:
            raise StorageError(f"could not list {prefix!r}: {exc.strerror or exc}") from exc

    def stat(self, key: str) -> BlobInfo | None:
        """The file's size; the local store keeps no content type (its upload route checks
        the type as the bytes arrive)."""
        path = self.path_for(key)
        try:
            found = path.stat()
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as exc:
            raise StorageError(f"could not look up {key!r}: {exc.strerror or exc}") from exc
        if not S_ISREG(found.st_mode):
            return None  # a folder above stored keys is not a blob
        return BlobInfo(size=found.st_size, content_type=None)

    def signed_url(self, key: str, *, expires_in: int = 3600) -> str:
        """A link to the API's blob route, which only serves downloads."""
        check_key(key)
        check_signed_url_request(expires_in)
        expires = str(int(self._clock()) + expires_in)
        signature = self._sign(key, expires)
        return f"{self.base_url}{BLOB_ROUTE}/{key}?expires={expires}&sig={signature}"

    def verify(self, key: str, expires: str | None, sig: str | None) -> None:
        """Raise PermissionDenied unless ``expires`` and ``sig`` came from ``signed_url``."""
        check_key(key)
        if not expires or not sig:
            raise PermissionDenied(
                "this link is missing its signature; ask for a new one", code="unsigned_link"
            )
        expected = self._sign(key, expires)
        # Compare bytes: compare_digest rejects str with non-ASCII characters, which a caller
        # can put in the query string.
        if not hmac.compare_digest(expected.encode(), sig.encode("utf-8", "replace")):
            raise PermissionDenied(
                "this link's signature does not match; links cannot be edited",
                code="bad_signature",
            )
        # The signature covers ``expires``, so it is one of our own decimal timestamps.
        if self._clock() > int(expires):
            raise PermissionDenied("this link has expired; ask for a new one", code="link_expired")

    def signed_upload_url(self, key: str, *, content_type: str, expires_in: int) -> str:
        """A link to the API's blob route that takes one PUT of ``key`` with ``content_type``."""
        check_key(key)
        check_signed_url_request(expires_in)
        expires = str(int(self._clock()) + expires_in)
        signature = self._sign_upload(key, expires, content_type)
        query = urlencode({"expires": expires, "type": content_type, "sig": signature})
        return f"{self.base_url}{BLOB_ROUTE}/{key}?{query}"

    def verify_upload(
        self, key: str, expires: str | None, content_type: str | None, sig: str | None
    ) -> None:
        """Raise PermissionDenied unless the link came from ``signed_upload_url`` for this
        key and content type, and has not expired."""
        check_key(key)
        if not expires or not sig or not content_type:
            raise PermissionDenied(
                "this upload link is missing its signature; ask for a new one",
                code="unsigned_link",
            )
        expected = self._sign_upload(key, expires, content_type)
        if not hmac.compare_digest(expected.encode(), sig.encode("utf-8", "replace")):
            raise PermissionDenied(
                "this upload link's signature does not match; links cannot be edited",
                code="bad_signature",
            )
        if self._clock() > int(expires):
            raise PermissionDenied(
                "this upload link has expired; ask for a new one", code="link_expired"
            )

    def check(self) -> None:
        """Create the root folder if needed and prove a file can be written in it."""
        try:
            private_dir(self.root)
            with tempfile.TemporaryFile(dir=self.root, prefix=".check-"):
                pass
        except OSError as exc:
            raise StorageError(
                f"cannot write to the blob folder {str(self.root)!r} ({exc.strerror or exc});"
                " check the path and that trapline's user may write there"
            ) from exc

    def _sign(self, key: str, expires: str) -> str:
        # "GET" first, as when links could also upload: a link signed for another use some
        # day cannot be mistaken for a download, and links already handed out stay valid.
        message = f"GET\n{key}\n{expires}".encode()
        return hmac_sha256(self._secret_key, message).hex()

    def _sign_upload(self, key: str, expires: str, content_type: str) -> str:
        # "PUT" first: an upload signature can never pass as a download's, nor the reverse.
        message = f"PUT\n{key}\n{expires}\n{content_type}".encode("utf-8", "replace")
        return hmac_sha256(self._secret_key, message).hex()


@contextmanager
def _disk_errors(what: str) -> Iterator[None]:
    """Turn OSError from our own file operations into StorageError."""
    try:
        yield
    except OSError as exc:
        raise StorageError(f"{what}: {exc.strerror or exc}") from exc


def _fsync_directory(path: Path) -> None:
    """Flush the folder entry so a completed rename survives a power cut (POSIX only)."""
    if not hasattr(os, "O_DIRECTORY"):
        return
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
