"""Model weights: a local file, or an http(s) URL downloaded once into a cache directory.

A download goes to a temporary file in the cache directory, is checked against the SHA-256 the
spec gives and only then renamed into place, so the cache never holds a partial or wrong file
and concurrent workers can download the same weights safely. The cached file's name carries the
hash, so once it exists it is used as is.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import secrets
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote, urlsplit

import httpx

from trapline.errors import InvalidInput, Unavailable

log = logging.getLogger(__name__)

#: Where downloaded weights are kept when no cache directory is given.
DEFAULT_CACHE_DIR = Path("~/.cache/trapline/weights")
#: Seconds a download may wait to connect or for the next bytes before it gives up.
DOWNLOAD_TIMEOUT = 60.0
#: How the file a download or a conversion is writing ends, until it is renamed into place.
PARTIAL_SUFFIX = ".part"
_CHUNK = 1024 * 1024
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def is_url(location: str) -> bool:
    """Whether ``location`` names weights to download rather than a local file."""
    return urlsplit(location).scheme in ("http", "https")


def weights_file(location: str, sha256: str | None, cache_dir: Path | None = None) -> Path:
    """The local file holding the weights at ``location``, downloading them if need be.

    Args:
        location: a local path, or an http(s) URL.
        sha256: the weights' SHA-256 in hex; required for URLs, checked for local files too.
        cache_dir: where downloads are kept; default ``~/.cache/trapline/weights``.

    Raises:
        InvalidInput: the file is missing, the URL answers with a client error, or the weights
            do not have the expected hash.
        Unavailable: the download failed for a reason that may pass (network, server error).
    """
    if not is_url(location):
        return _local_file(location, sha256)
    if sha256 is None:
        raise InvalidInput(f"weights at {location} need a sha256 to be downloaded")
    cache = (cache_dir or DEFAULT_CACHE_DIR).expanduser()
    target = cache / f"{sha256.lower()[:16]}-{_file_name(location)}"
    if target.is_file():
        return target
    cache.mkdir(parents=True, exist_ok=True)
    _download(location, "sha256", sha256.lower(), target)
    return target


def download_checked(url: str, target: Path, *, algorithm: str, digest: str) -> Path:
    """``target``, downloaded from ``url`` first unless it is there; a download is kept only
    when its ``algorithm`` digest (``hashlib``'s name, e.g. ``md5``) is ``digest``.

    Raises:
        InvalidInput: the URL answers with a client error, or the file has another digest.
        Unavailable: the download failed for a reason that may pass (network, server error).
    """
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        _download(url, algorithm, digest.lower(), target)
    return target


def file_digest(path: Path, algorithm: str) -> str:
    """The ``algorithm`` digest of the file at ``path``, in lowercase hex."""
    digest = hashlib.new(algorithm)
    with path.open("rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def file_sha256(path: Path) -> str:
    """SHA-256 of the file at ``path``, in lowercase hex."""
    return file_digest(path, "sha256")


def _local_file(location: str, sha256: str | None) -> Path:
    path = Path(location.removeprefix("file://")).expanduser()
    if not path.is_file():
        raise InvalidInput(f"weights file {path} does not exist")
    if sha256 is not None and (actual := file_sha256(path)) != sha256.lower():
        raise InvalidInput(
            f"weights file {path} has SHA-256 {actual} but the spec expects {sha256.lower()}; "
            "fix the sha256 or use the right file"
        )
    return path


def _file_name(url: str) -> str:
    """A safe file name for the cached copy, from the URL's last path segment."""
    name = _UNSAFE.sub("_", unquote(urlsplit(url).path.rsplit("/", 1)[-1])).strip("._")
    return name or "weights"


def temporary_beside(target: Path) -> tuple[int, Path]:
    """A new, empty file in ``target``'s folder, named after it (``.NAME.RANDOM.part``), open
    for writing: its handle and path.

    Weights are made under such a name and renamed into place when whole. The file's mode
    follows the umask, as any file a program writes (``-rw-r--r--`` under the usual 022), so a
    weights folder shared by a group stays readable to it.
    """
    path = target.with_name(f".{target.name}.{secrets.token_hex(4)}{PARTIAL_SUFFIX}")
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), path


def _download(url: str, algorithm: str, expected: str, target: Path) -> None:
    log.info("downloading weights %s to %s", url, target)
    handle, temporary = temporary_beside(target)
    try:
        with os.fdopen(handle, "wb") as stream:
            actual = _fetch(url, stream, algorithm)
        if actual != expected:
            name = algorithm.upper().replace("SHA", "SHA-")
            raise InvalidInput(
                f"weights downloaded from {url} have {name} {actual} but {expected} is "
                f"expected; the file was not kept. Check the URL and the {algorithm}"
            )
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


def _fetch(url: str, stream: BinaryIO, algorithm: str) -> str:
    """Write the body at ``url`` to ``stream``, logging progress; return its digest."""
    digest = hashlib.new(algorithm)
    written, reported = 0, 0
    try:
        with (
            httpx.Client(follow_redirects=True, timeout=DOWNLOAD_TIMEOUT) as client,
            client.stream("GET", url) as response,
        ):
            if response.status_code != 200:
                problem = f"could not download weights from {url}: HTTP {response.status_code}"
                if response.status_code >= 500:
                    raise Unavailable(problem)
                raise InvalidInput(problem)
            size = int(response.headers.get("content-length") or 0)
            for chunk in response.iter_bytes(_CHUNK):
                digest.update(chunk)
                stream.write(chunk)
                written += len(chunk)
                if size and written * 10 // size > reported:
                    reported = written * 10 // size
                    log.info("downloaded %d of %d MB of %s", written >> 20, size >> 20, url)
    except httpx.HTTPError as exc:
        raise Unavailable(
            f"could not download weights from {url}: {type(exc).__name__}: {exc}"
        ) from exc
    return digest.hexdigest()
