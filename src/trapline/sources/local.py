"""``local``: a folder on the server, only under the roots an admin allowed.

The folder must lie under one of ``TRAPLINE_SOURCES_LOCAL_ROOTS``. Symbolic links are never
followed out of the allowed roots: a linked folder is not entered at all (it could loop or
lead anywhere), and a linked file is read only when its real path lies under an allowed root.
Each file is checked again when it is opened, so a link swapped in after the listing does not
lead out either.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote, urlsplit

from trapline.errors import InvalidInput
from trapline.sources.base import Entry, Gateway, SourceError, join_key

#: The setting that lists the folders local sources may read, named in refusals.
ROOTS_SETTING = "TRAPLINE_SOURCES_LOCAL_ROOTS"


def folder_of(url: str) -> Path:
    """The folder a ``local`` source's URL names: ``file:///srv/traps`` or ``/srv/traps``."""
    if url.startswith("file:"):
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost"):
            raise InvalidInput(f"a local source's URL names a folder on this server (got {url!r})")
        url = unquote(parts.path)
    if not url.startswith("/"):
        raise InvalidInput(
            f"a local source's URL is an absolute folder path such as /srv/traps or "
            f"file:///srv/traps (got {url!r})"
        )
    return Path(os.path.normpath(url))


def allowed_folder(url: str, roots: tuple[Path, ...]) -> Path:
    """The real path of the source's folder, when it lies under an allowed root.

    Raises:
        InvalidInput: no root is allowed, or the folder lies outside every root.
    """
    folder = folder_of(url)
    if not roots:
        raise InvalidInput(
            f"local sources are off on this server: an admin must list the folders they may "
            f"read in {ROOTS_SETTING}"
        )
    real = Path(os.path.realpath(folder))
    if _root_of(real, roots) is None:
        listed = ", ".join(str(r) for r in roots)
        raise InvalidInput(
            f"{folder} is not under a folder local sources may read ({listed}; {ROOTS_SETTING})"
        )
    return real


def _root_of(path: Path, roots: tuple[Path, ...]) -> Path | None:
    for root in roots:
        real_root = Path(os.path.realpath(root))
        if path == real_root or real_root in path.parents:
            return real_root
    return None


class LocalGateway(Gateway):
    """Files of a folder on the server."""

    kind = "local"

    def _walk(self) -> Iterator[Entry]:
        try:
            folder = allowed_folder(self.config.url, self.config.local_roots)
        except InvalidInput as exc:
            raise SourceError(exc.detail, transient=False) from None
        if not folder.is_dir():
            raise SourceError(f"{folder} is not a folder on this server")
        yield from self._folder(folder, "", 0)

    def _folder(self, path: Path, prefix: str, level: int, own: str = "") -> Iterator[Entry]:
        """The files under ``path``, keyed below ``prefix`` (``own``: the folder's own path
        below the source, where its key spells a name that is not UTF-8 otherwise)."""
        try:
            with os.scandir(path) as listing:
                found = sorted(listing, key=lambda e: e.name)
        except OSError as exc:
            raise SourceError(f"cannot list {path}: {exc.strerror}") from None
        own = own or prefix
        for item in found:
            key, real = join_key(prefix, _spelled(item.name)), join_key(own, item.name)
            try:
                if item.is_dir(follow_symlinks=False):
                    if level < self.config.depth:
                        yield from self._folder(Path(item.path), key, level + 1, real)
                    continue
                info = self._file_stat(Path(item.path))
            except OSError:
                continue  # gone or unreadable since the listing: the next run sees it again
            if info is None:
                continue
            yield Entry(
                key=key,
                size=info.st_size,
                modified=datetime.fromtimestamp(info.st_mtime, UTC),
                note=str(info.st_mtime_ns),
                path=real if real != key else None,
            )

    def _file_stat(self, path: Path) -> os.stat_result | None:
        """The stat of a regular file the source may read (a link followed only inside)."""
        if path.is_symlink():
            real = Path(os.path.realpath(path))
            if _root_of(real, self.config.local_roots) is None:
                return None
            path = real
        info = path.stat()
        return info if stat.S_ISREG(info.st_mode) else None

    def _open(self, entry: Entry) -> AbstractContextManager[BinaryIO]:
        folder = allowed_folder(self.config.url, self.config.local_roots)
        real = Path(os.path.realpath(folder / entry.where))
        if _root_of(real, self.config.local_roots) is None:
            raise SourceError(f"{entry.key} leads out of the allowed folders", transient=False)
        try:
            fd = os.open(real, os.O_RDONLY | os.O_NOFOLLOW)
        except FileNotFoundError:
            raise SourceError(f"{entry.key} is gone from the folder") from None
        except OSError as exc:
            raise SourceError(f"cannot read {entry.key}: {exc.strerror}") from None
        return os.fdopen(fd, "rb")


def _spelled(name: str) -> str:
    """A file name as a key can hold it: a name that is not UTF-8 (a camera writing Latin-1
    on a Linux share), which Python reads with escapes no database stores, with each such
    byte written ``\\xNN``."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return name
