"""``http_directory``: a folder listing served over HTTP(S).

Reads nginx's autoindex (HTML, and JSON with ``autoindex_format json``), Apache's
mod_autoindex (fancy table and plain list), Python's ``http.server`` listing and any page of
``<a href>`` links. Links are resolved against the page; only those below the source's URL
are taken (parent links, sort links with a query, other hosts are ignored); a link ending in
``/`` is a folder, followed down to the source's depth.

A listing that shows a file's date and size (nginx, Apache) gives its version; for a link
with nothing beside it the file is asked for with ``HEAD`` (ETag, Content-Length,
Last-Modified), so a file replaced under the same name is seen as new.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser
from typing import BinaryIO
from urllib.parse import quote, unquote, urljoin, urlsplit

import httpx

from trapline.protocol.base import json_values
from trapline.sources.base import Entry, Gateway, GatewayConfig, IterStream, SourceError, join_key
from trapline.sources.web import WebClient

#: Largest listing page read, in bytes: 100,000 files of a folder take ~10 MB as nginx or Apache
#: list them.
MAX_PAGE_BYTES = 16 * 1024 * 1024
#: Most links one HTML listing page may hold (parsed, each costs ~250 bytes of memory).
MAX_PAGE_LINKS = 150_000
#: Most JSON values one JSON listing page may hold (``protocol.json_values``): ~90,000 files
#: as nginx lists them (name, type, mtime, size), ~60 MB of memory once parsed.
MAX_PAGE_VALUES = 450_000
_SPACES = re.compile(r"\s+")
#: Tags that end a listing's row: text after them says nothing of the link before.
_BOUNDARIES = frozenset(
    {"tr", "li", "br", "p", "div", "table", "ul", "ol", "pre", "hr", "address", "h1", "h2"}
)
#: A listing's note that ends in a byte count (nginx's autoindex with exact sizes).
_EXACT_SIZE = re.compile(r"(?:^|\s)(\d+)$")


class _Links(HTMLParser):
    """Collects ``<a href>`` targets and the text between each link and the next."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[tuple[str, list[str]]] = []
        self._in_link = False
        #: Whether text seen now belongs to the last link's row.
        self._noting = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            href = dict(attrs).get("href")
            self._in_link = href is not None
            if href is not None and len(self.links) >= MAX_PAGE_LINKS:
                raise SourceError(
                    f"a listing page holds more than {MAX_PAGE_LINKS} links; split the folder",
                    transient=False,
                )
            if href is not None:
                self.links.append((href, []))
                self._noting = True
        elif tag in _BOUNDARIES:
            self._noting = False

    def handle_endtag(self, tag: str) -> None:
        if tag == "a":
            self._in_link = False
        elif tag in _BOUNDARIES:
            self._noting = False

    def handle_data(self, data: str) -> None:
        if self.links and self._noting and not self._in_link:
            self.links[-1][1].append(data)


def _note(parts: list[str]) -> str:
    return _SPACES.sub(" ", "".join(parts).replace("\xa0", " ")).strip()[:200]


class HttpDirectoryGateway(Gateway):
    """Files of an HTTP folder listing."""

    kind = "http_directory"

    def __init__(self, config: GatewayConfig) -> None:
        super().__init__(config)
        base = config.url if config.url.endswith("/") else config.url + "/"
        self.base = base
        self._base_parts = urlsplit(base)
        headers = {}
        credentials = config.credentials
        if credentials.get("authorization"):
            headers["Authorization"] = credentials["authorization"]
        elif credentials.get("username") is not None and credentials.get("password") is not None:
            auth = httpx.BasicAuth(credentials["username"], credentials["password"])
            headers["Authorization"] = next(auth.auth_flow(httpx.Request("GET", base))).headers[
                "Authorization"
            ]
        self._web = WebClient(config.policy, timeout=config.timeout, headers=headers)

    def close(self) -> None:
        self._web.close()

    def _walk(self) -> Iterator[Entry]:
        yield from self._folder(self.base, "", 0)

    def _folder(self, url: str, prefix: str, level: int) -> Iterator[Entry]:
        body, content_type = self._web.read(
            url, max_bytes=MAX_PAGE_BYTES, headers={"Accept": "text/html, application/json"}
        )
        if "json" in content_type:
            files, folders = self._from_json(body, url)
        else:
            files, folders = self._from_html(body.decode("utf-8", errors="replace"), url)
        for _, entry in sorted(files.items()):
            yield entry if entry.note or entry.size is not None else self._head(entry)
        if level < self.config.depth:
            for name in sorted(folders):
                yield from self._folder(folders[name], join_key(prefix, name), level + 1)

    def _from_json(self, body: bytes, url: str) -> tuple[dict[str, Entry], dict[str, str]]:
        """nginx's ``autoindex_format json``: ``[{"name", "type", "mtime", "size"}]``."""
        if json_values(body) > MAX_PAGE_VALUES:
            raise SourceError(
                f"{url} lists more than {MAX_PAGE_VALUES} JSON values on one page; split the"
                " folder",
                transient=False,
            )
        try:
            items = json.loads(body)
        except ValueError:
            raise SourceError(f"{url} answered JSON that does not parse", transient=False) from None
        if not isinstance(items, list):
            raise SourceError(f"{url} answered JSON that is not a listing", transient=False)
        files: dict[str, Entry] = {}
        folders: dict[str, str] = {}
        page_key = self._key(url)
        if page_key is None:
            return files, folders
        page = url if url.endswith("/") else url + "/"
        for item in items:
            if not isinstance(item, dict) or not isinstance(item.get("name"), str):
                continue
            name = item["name"]
            # A plain name in this folder: its key and URL follow without parsing URLs.
            if not name or "/" in name or name in (".", "..") or "\x00" in name:
                continue
            if item.get("type") == "directory":
                folders[name] = page + quote(name) + "/"
            elif item.get("type") == "file":
                size = item.get("size")
                mtime = item.get("mtime")
                files[name] = Entry(
                    key=page_key + name,
                    size=size if isinstance(size, int) and size >= 0 else None,
                    # Kept as nginx wrote it: it is only compared, never read as a time.
                    note=mtime[:64] if isinstance(mtime, str) else None,
                )
        return files, folders

    def _from_html(self, page: str, url: str) -> tuple[dict[str, Entry], dict[str, str]]:
        parser = _Links()
        parser.feed(page)
        parser.close()
        files: dict[str, Entry] = {}
        folders: dict[str, str] = {}
        here = urlsplit(url).path
        page_key = self._key(url) or ""
        for href, parts in parser.links:
            try:
                target = urljoin(url, href.strip())
                split = urlsplit(target)
            except ValueError:
                continue  # a malformed link (an unclosed IPv6 bracket): not a file of the folder
            if split.query or not split.path.startswith(here) or split.path == here:
                continue  # sort links, parents, the page itself
            key = self._key(target.split("#", 1)[0])
            if key is None:
                continue
            name = key[len(page_key) :].rstrip("/")
            if not name or "/" in name:
                continue  # a link deeper than one level: its own folder lists it
            if target.split("#", 1)[0].endswith("/"):
                folders[name] = target.split("#", 1)[0]
                continue
            note = _note(parts)
            size_match = _EXACT_SIZE.search(note)
            files[name] = Entry(
                key=key,
                size=int(size_match.group(1)) if size_match else None,
                note=note if any(c.isdigit() for c in note) else None,
            )
        return files, folders

    def _key(self, url: str) -> str | None:
        """The key of a URL below the source's, or None for one outside it."""
        parts = urlsplit(url)
        base = self._base_parts
        if (parts.scheme, parts.netloc) != (base.scheme, base.netloc):
            return None
        if not parts.path.startswith(base.path):
            return None
        key = unquote(parts.path[len(base.path) :])
        segments = key.rstrip("/").split("/")
        if any(s in ("", ".", "..") for s in segments) and key:
            return None
        return key

    def _head(self, entry: Entry) -> Entry:
        """The entry with what a HEAD request says of its version."""
        with self._web.stream("HEAD", self._url(entry)) as answer:
            headers = answer.headers
        length = headers.get("content-length")
        return Entry(
            key=entry.key,
            size=int(length) if length and length.isdigit() else None,
            etag=headers.get("etag"),
            modified=_http_date(headers.get("last-modified")),
        )

    def _url(self, entry: Entry) -> str:
        return self.base + quote(entry.where)

    def _open(self, entry: Entry) -> AbstractContextManager[BinaryIO]:
        return self._download(entry)

    @contextmanager
    def _download(self, entry: Entry) -> Iterator[BinaryIO]:
        with self._web.stream("GET", self._url(entry)) as answer:
            yield IterStream(answer.iter_bytes())  # type: ignore[misc]


def _http_date(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
