"""``s3``: objects of an S3 or S3-compatible (MinIO) bucket under a prefix.

The source's URL is ``s3://bucket/prefix`` (``?region=eu-west-1`` when not us-east-1: the
region names AWS's host, ``bucket.s3.<region>.amazonaws.com``, so it must be one of AWS's
region names); an ``endpoint_url`` points at MinIO or another S3-compatible service. Listing is
``ListObjectsV2`` page by page, each page starting after the last key of the one before
(``StartAfter``), so a listing of any size is never held whole. Requests are signed with
Signature V4 (botocore's signer, the ``s3`` extra) and sent through the outbound guard like
every other request the server makes, so an endpoint is resolved, checked and pinned.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from typing import Any, BinaryIO
from urllib.parse import parse_qs, quote, urlencode, urlsplit

from trapline.errors import InvalidInput, MissingDependency
from trapline.sources.base import Entry, Gateway, GatewayConfig, IterStream, SourceError
from trapline.sources.web import WebClient

#: Keys asked for per listing page (S3's own maximum).
PAGE_KEYS = 1000
#: Largest listing page read, in bytes: PAGE_KEYS keys of up to 1,024 bytes with their fields
#: take ~1.5 MB. The page is parsed as it arrives, each object dropped once read.
MAX_PAGE_BYTES = 4 * 1024 * 1024
DEFAULT_REGION = "us-east-1"
#: What an AWS region's name looks like: ``eu-west-1``, ``us-gov-west-1``, ``cn-north-1``.
_REGION = re.compile(r"[a-z]{2}(?:-[a-z]+)+-[0-9]{1,2}")


def bucket_of(url: str) -> tuple[str, str, str]:
    """The bucket, the prefix (empty, or ending in ``/``) and the region of an ``s3://`` URL."""
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise InvalidInput(f"{url!r} is not a URL ({exc})") from None
    if "@" in parts.netloc:  # keys written into the URL would be shown with the source
        raise InvalidInput(
            "give the S3 keys as credentials (access_key_id, secret_access_key), not in the URL"
        )
    if parts.scheme != "s3" or not parts.netloc:
        raise InvalidInput(f"an s3 source's URL is s3://bucket/prefix (got {url!r})")
    prefix = parts.path.lstrip("/")
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    regions = parse_qs(parts.query, keep_blank_values=True).get("region", [DEFAULT_REGION])
    if len(regions) != 1 or not _REGION.fullmatch(regions[0]):
        got = ", ".join(repr(region[:60]) for region in regions)
        raise InvalidInput(
            f"region must be one AWS region's name, such as eu-west-1, us-gov-west-1 or "
            f"cn-north-1 (got {got}): s3://bucket/prefix?region=eu-west-1"
        )
    return parts.netloc, prefix, regions[0]


def _signer() -> Any:
    try:
        from botocore.auth import S3SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials
    except ImportError:  # pragma: no cover - the server extra has it
        raise MissingDependency("s3 sources need botocore: pip install 'trapline[s3]'") from None
    return S3SigV4Auth, AWSRequest, Credentials


class S3Gateway(Gateway):
    """Objects of a bucket under a prefix."""

    kind = "s3"

    def __init__(self, config: GatewayConfig) -> None:
        super().__init__(config)
        self.bucket, self.prefix, self.region = bucket_of(config.url)
        if config.endpoint_url:
            self._root = config.endpoint_url.rstrip("/") + "/" + quote(self.bucket)
        else:
            self._root = f"https://{self.bucket}.s3.{self.region}.amazonaws.com"
        self._web = WebClient(config.policy, timeout=config.timeout)

    def close(self) -> None:
        self._web.close()

    def _walk(self) -> Iterator[Entry]:
        after = ""
        while True:
            query = {"list-type": "2", "max-keys": str(PAGE_KEYS), "prefix": self.prefix}
            if after:
                query["start-after"] = after
            url = self._root + "/?" + urlencode(sorted(query.items()), quote_via=quote, safe="-_.~")
            with self._web.stream("GET", url, headers=self._signed("GET", url)) as answer:
                page = self._web.chunks(answer, url, max_bytes=MAX_PAGE_BYTES)
                contents, truncated = _parse_listing(page, url)
            for key, size, etag, modified in contents:
                after = key
                relative = key[len(self.prefix) :]
                if not relative or relative.endswith("/"):
                    continue  # "folder" marker objects
                if relative.count("/") > self.config.depth:
                    continue
                yield Entry(key=relative, size=size, etag=etag, modified=modified)
            if not truncated or not contents:
                return

    def _object_url(self, entry: Entry) -> str:
        return self._root + "/" + quote(self.prefix + entry.where, safe="/-_.~")

    def _open(self, entry: Entry) -> AbstractContextManager[BinaryIO]:
        return self._download(entry)

    @contextmanager
    def _download(self, entry: Entry) -> Iterator[BinaryIO]:
        url = self._object_url(entry)
        with self._web.stream("GET", url, headers=self._signed("GET", url)) as answer:
            yield IterStream(answer.iter_bytes())  # type: ignore[misc]

    def _signed(self, method: str, url: str) -> Mapping[str, str]:
        credentials = self.config.credentials
        key, secret = credentials.get("access_key_id"), credentials.get("secret_access_key")
        if not key or not secret:
            return {}
        auth, request_type, credentials_type = _signer()
        request = request_type(method=method, url=url)
        auth(credentials_type(key, secret), "s3", self.region).add_auth(request)
        return {name: str(value) for name, value in request.headers.items()}


#: An object of a listing page: key, size, ETag, last modified.
_Object = tuple[str, int | None, str | None, datetime | None]


def _parse_listing(chunks: Iterable[bytes], url: str) -> tuple[list[_Object], bool]:
    """The objects of a ``ListBucketResult`` page, parsed as it arrives, and whether more pages
    follow. An object's element is dropped once read, so the page is never held whole."""
    shown = url.split("?")[0]
    parser: Any = ElementTree.XMLPullParser(events=("start", "end"))
    contents: list[_Object] = []
    truncated = False
    root: ElementTree.Element | None = None
    tail = b""
    try:
        for chunk in chunks:
            # The markers are looked for across chunk edges too.
            if b"<!DOCTYPE" in tail + chunk or b"<!ENTITY" in tail + chunk:
                raise SourceError(
                    "the S3 listing declares a DTD, which S3 never does", transient=False
                )
            tail = chunk[-16:]
            parser.feed(chunk)
            for event, element in parser.read_events():
                if not isinstance(element, ElementTree.Element):
                    continue
                if event == "start":
                    root = element if root is None else root
                    continue
                tag = element.tag.rsplit("}", 1)[-1]
                if tag == "IsTruncated":
                    truncated = (element.text or "").strip().lower() == "true"
                elif tag == "Contents":
                    if len(contents) >= PAGE_KEYS:
                        raise SourceError(
                            f"{shown} answered more than {PAGE_KEYS} objects on one page",
                            transient=False,
                        )
                    entry = _object(element)
                    if entry is not None:
                        contents.append(entry)
                    element.clear()  # read: drop it, and its place in the page
                    if root is not None and len(root) and root[-1] is element:
                        root.remove(element)
        parser.close()
    except ElementTree.ParseError:
        raise SourceError(f"{shown} answered a listing that does not parse") from None
    return contents, truncated


def _object(element: ElementTree.Element) -> _Object | None:
    fields = {c.tag.rsplit("}", 1)[-1]: (c.text or "") for c in element}
    key = fields.get("Key", "")
    if not key:
        return None
    size = fields.get("Size", "")
    return (
        key,
        int(size) if size.isdigit() else None,
        fields.get("ETag") or None,
        _iso(fields.get("LastModified")),
    )


def _iso(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


__all__ = ["GatewayConfig", "S3Gateway", "bucket_of"]
