"""Blobs in an S3 (or S3-compatible: MinIO, Ceph) bucket, with presigned links."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import IO, TYPE_CHECKING, Any, BinaryIO, cast

from trapline.errors import InvalidInput, MissingDependency, NotFound, StorageError
from trapline.storage.base import (
    CHUNK_SIZE,
    BlobInfo,
    BlobStore,
    StoredBlob,
    check_key,
    check_prefix,
    check_signed_url_request,
)

try:
    import boto3
    from boto3.exceptions import Boto3Error
    from boto3.s3.transfer import TransferConfig
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError
except ImportError as exc:  # pragma: no cover - only without the s3 extra
    raise MissingDependency(
        "S3 storage needs boto3, which is not installed; install it with pip install 'trapline[s3]'"
    ) from exc

if TYPE_CHECKING:
    from botocore.response import StreamingBody
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import ObjectIdentifierTypeDef

_SESSION_LOCK = threading.Lock()


@cache
def _session() -> boto3.session.Session:
    return boto3.session.Session()


#: Error codes S3 answers when the key (not the bucket) is missing; HEAD answers a bare 404.
_MISSING_KEY_CODES = frozenset({"NoSuchKey", "404", "NotFound"})

#: Most keys one DeleteObjects request may name.
_DELETE_BATCH = 1000

#: Size of each part of a multipart upload. S3 needs at least 5 MiB, and every part in
#: flight is held in memory, so keep it small.
_PART_SIZE = 8 * 1024 * 1024

#: Parts uploaded (and held in memory) at once per ``put``.
_PARTS_IN_FLIGHT = 4


class S3BlobStore(BlobStore):
    """Stores each blob as the object ``prefix/key`` in ``bucket``."""

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        endpoint_url: str | None = None,
        region: str = "us-east-1",
    ) -> None:
        if not bucket:
            raise InvalidInput("an S3 storage URL needs a bucket name: s3://<bucket>/<prefix>")
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        if self.prefix:
            check_key(self.prefix)
        config = Config(
            region_name=region,
            signature_version="s3v4",
            retries={"max_attempts": 3, "mode": "standard"},
            connect_timeout=5,
            read_timeout=60,
            # MinIO and other self-hosted services rarely have a DNS name per bucket.
            s3={"addressing_style": "path"} if endpoint_url else None,
        )
        # Clients come from one session of this module's, one at a time: a session is not
        # thread-safe, the clients it makes are, and it keeps the service's description it
        # loaded (~55 ms a client without it).
        with _SESSION_LOCK:
            self._client: S3Client = _session().client(
                "s3", endpoint_url=endpoint_url, region_name=region, config=config
            )
        self._transfer = TransferConfig(
            multipart_threshold=_PART_SIZE,
            multipart_chunksize=_PART_SIZE,
            max_concurrency=_PARTS_IN_FLIGHT,
        )
        # Parts read ahead of the uploading threads also wait in memory; bound them too.
        self._transfer.max_in_memory_upload_chunks = _PARTS_IN_FLIGHT

    def put(
        self, key: str, stream: BinaryIO, *, content_type: str | None = None, durable: bool = True
    ) -> int:
        """Upload ``stream``, in parts when it is large; S3 swaps the object in atomically.

        Objects S3 acknowledges are always durable, so ``durable`` changes nothing here.
        """
        object_key = self._object_key(key)
        extra_args = {"ContentType": content_type} if content_type else None
        reader = _CountingReader(stream)
        with _translate_errors(self.bucket, "store", key):
            self._client.upload_fileobj(
                # Duck-typed: boto3 only calls read(); hiding seek() makes it stream in parts
                # instead of asking for the whole size up front.
                cast(IO[bytes], reader),
                self.bucket,
                object_key,
                ExtraArgs=extra_args,
                Config=self._transfer,
            )
        return reader.count

    def open(self, key: str) -> BinaryIO:
        """Start a GET and return its body for streaming reads."""
        object_key = self._object_key(key)
        with _translate_errors(self.bucket, "read", key):
            response = self._client.get_object(Bucket=self.bucket, Key=object_key)
        raw = _S3Body(response["Body"], self.bucket, key)
        return io.BufferedReader(raw, buffer_size=CHUNK_SIZE)

    def delete(self, key: str) -> None:
        """Delete the object; S3 answers success for a missing key, too."""
        object_key = self._object_key(key)
        with _translate_errors(self.bucket, "delete", key):
            self._client.delete_object(Bucket=self.bucket, Key=object_key)

    def delete_prefix(self, prefix: str) -> None:
        """List the objects under the prefix and delete them, a thousand per request."""
        check_prefix(prefix)
        object_prefix = f"{self.prefix}/{prefix}" if self.prefix else prefix
        pages = self._client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=object_prefix, PaginationConfig={"PageSize": _DELETE_BATCH}
        )
        with _translate_errors(self.bucket, "delete", prefix):
            for page in pages:
                keys: list[ObjectIdentifierTypeDef] = [
                    {"Key": item["Key"]} for item in page.get("Contents", [])
                ]
                if not keys:
                    continue
                answer = self._client.delete_objects(
                    Bucket=self.bucket, Delete={"Objects": keys, "Quiet": True}
                )
                if answer.get("Errors"):
                    first = answer["Errors"][0]
                    raise StorageError(
                        f"could not delete {first.get('Key')!r} in S3 bucket {self.bucket!r}"
                        f" ({first.get('Code')}: {first.get('Message')})"
                    )

    def list_blobs(self, prefix: str) -> Iterator[StoredBlob]:
        """List the objects under the prefix, a thousand per request."""
        check_prefix(prefix)
        object_prefix = f"{self.prefix}/{prefix}" if self.prefix else prefix
        strip = len(self.prefix) + 1 if self.prefix else 0
        pages = self._client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=object_prefix
        )
        with _translate_errors(self.bucket, "list", prefix):
            for page in pages:
                for item in page.get("Contents", []):
                    yield StoredBlob(item["Key"][strip:], item["LastModified"])

    def stat(self, key: str) -> BlobInfo | None:
        """HEAD the object: its ContentLength and the ContentType it was stored with."""
        object_key = self._object_key(key)
        try:
            with _translate_errors(self.bucket, "look up", key):
                head = self._client.head_object(Bucket=self.bucket, Key=object_key)
        except NotFound:
            return None
        return BlobInfo(size=head["ContentLength"], content_type=head.get("ContentType"))

    def signed_url(self, key: str, *, expires_in: int = 3600) -> str:
        """A presigned GET URL."""
        object_key = self._object_key(key)
        check_signed_url_request(expires_in)
        params: dict[str, Any] = {"Bucket": self.bucket, "Key": object_key}
        # Presigning is computed locally; errors here mean bad configuration or credentials.
        with _translate_errors(self.bucket, "sign a link for", key):
            return self._client.generate_presigned_url(
                "get_object", Params=params, ExpiresIn=expires_in
            )

    def signed_upload_url(self, key: str, *, content_type: str, expires_in: int) -> str:
        """A presigned PUT URL; the upload must carry the same Content-Type."""
        object_key = self._object_key(key)
        check_signed_url_request(expires_in)
        params: dict[str, Any] = {
            "Bucket": self.bucket,
            "Key": object_key,
            "ContentType": content_type,
        }
        with _translate_errors(self.bucket, "sign an upload link for", key):
            return self._client.generate_presigned_url(
                "put_object", Params=params, ExpiresIn=expires_in
            )

    def check(self) -> None:
        """HEAD the bucket: proves it exists and the credentials reach it."""
        try:
            self._client.head_bucket(Bucket=self.bucket)
        except ClientError as exc:
            raise StorageError(
                f"cannot use S3 bucket {self.bucket!r} ({_describe(exc)}); check that it"
                " exists and that the credentials may read and write it"
            ) from exc
        except (BotoCoreError, Boto3Error) as exc:
            raise StorageError(f"cannot reach S3 bucket {self.bucket!r} ({exc})") from exc

    def _object_key(self, key: str) -> str:
        check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key


class _CountingReader:
    """Reads a caller's stream in bounded chunks and counts the bytes handed on."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self.count = 0

    def read(self, size: int | None = -1) -> bytes:
        """Return ``size`` bytes (all when negative), fewer only at the end of the stream."""
        # boto3 decides "small or multipart" from the length of one read and reads "the
        # rest" with read(); short reads from a socket-like stream must not fool it, and
        # the caller's stream is never asked for more than CHUNK_SIZE at once.
        wanted = -1 if size is None or size < 0 else size
        chunks: list[bytes] = []
        got = 0
        while wanted < 0 or got < wanted:
            step = CHUNK_SIZE if wanted < 0 else min(CHUNK_SIZE, wanted - got)
            chunk = self._stream.read(step)
            if not chunk:
                break
            chunks.append(chunk)
            got += len(chunk)
        self.count += got
        return b"".join(chunks)


class _S3Body(io.RawIOBase):
    """A GET response body as a raw stream, with transport errors turned into StorageError."""

    def __init__(self, body: StreamingBody, bucket: str, key: str) -> None:
        super().__init__()
        self._body = body
        self._bucket = bucket
        self._key = key

    def readable(self) -> bool:
        """Always readable."""
        return True

    def readinto(self, buffer: Any) -> int:
        """Fill ``buffer`` from the response body; 0 at the end."""
        view = memoryview(buffer).cast("B")
        with _translate_errors(self._bucket, "read", self._key):
            data = self._body.read(len(view))
        view[: len(data)] = data
        return len(data)

    def close(self) -> None:
        """Release the HTTP connection."""
        if not self.closed:
            self._body.close()
        super().close()


@contextmanager
def _translate_errors(bucket: str, action: str, key: str) -> Iterator[None]:
    """Turn boto errors into NotFound (missing key) or StorageError (anything else)."""
    try:
        yield
    except ClientError as exc:
        if _error_code(exc) in _MISSING_KEY_CODES:
            raise NotFound(f"no blob is stored under {key!r}") from exc
        raise StorageError(
            f"could not {action} {key!r} in S3 bucket {bucket!r} ({_describe(exc)})"
        ) from exc
    except (BotoCoreError, Boto3Error) as exc:
        raise StorageError(f"could not {action} {key!r} in S3 bucket {bucket!r} ({exc})") from exc


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _describe(exc: ClientError) -> str:
    error = exc.response.get("Error", {})
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    message = error.get("Message") or error.get("Code") or "no details"
    return f"HTTP {status}: {message}" if status else str(message)
