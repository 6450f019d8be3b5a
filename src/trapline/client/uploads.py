"""Upload a folder of photos: skip what the project has (by SHA-256), send the rest in parallel
batches, and say what became of every file. Run it again after an interruption: it goes on
where it stopped."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import httpx

from trapline.client.errors import ApiError
from trapline.client.progress import Progress


class Client(Protocol):
    """What an upload asks of the API client (``trapline.client.api.Client``)."""

    def images(self, project_id: int, **filters: Any) -> Iterator[dict[str, Any]]: ...

    def upload(
        self, project_id: int, paths: Sequence[str | Path], *, deployment_id: int | None = None
    ) -> dict[str, Any]: ...


#: File name endings taken for images; other files are left out (and counted).
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp"})
#: Most files, and bytes, sent in one request.
BATCH_FILES = 8
BATCH_BYTES = 32 * 1024 * 1024
#: Tries of one batch when the server is busy or unreachable, and the first pause between them.
ATTEMPTS = 4
BACKOFF = 1.0
_RETRY_STATUSES = frozenset({502, 503, 504})


@dataclass
class UploadSummary:
    """What became of a folder's files."""

    created: list[Path] = field(default_factory=list)
    #: Already in the project (found by SHA-256 before sending, or answered duplicate).
    already_there: list[Path] = field(default_factory=list)
    #: Files the server refused, with its reason (not an image, too large...).
    refused: list[tuple[Path, str]] = field(default_factory=list)
    #: Files that could not be sent (the server or the network failed); run again for them.
    failed: list[tuple[Path, str]] = field(default_factory=list)
    #: Files left out by name: not an image file.
    ignored: list[Path] = field(default_factory=list)
    seconds: float = 0.0

    def lines(self) -> list[str]:
        """The summary as printed at the end of ``trapline upload``."""
        out = [
            f"{len(self.created)} uploaded, {len(self.already_there)} already there, "
            f"{len(self.refused)} refused, {len(self.failed)} failed, "
            f"{len(self.ignored)} not images (by name), in {self.seconds:.1f} s"
        ]
        out += [f"  refused {path}: {reason}" for path, reason in self.refused]
        out += [f"  failed {path}: {reason}" for path, reason in self.failed]
        if self.failed:
            out.append("  run the same command again to send the files that failed")
        return out


def image_files(folder: Path, *, recursive: bool) -> tuple[list[Path], list[Path]]:
    """The image files of ``folder`` (by name, sorted) and the other files; hidden ones skipped."""
    found = folder.rglob("*") if recursive else folder.iterdir()
    files = sorted(p for p in found if p.is_file() and not _hidden(p.relative_to(folder)))
    images = [p for p in files if p.suffix.lower() in IMAGE_SUFFIXES]
    return images, [p for p in files if p.suffix.lower() not in IMAGE_SUFFIXES]


def upload_folder(
    client: Client,
    project_id: int,
    folder: Path,
    *,
    deployment_id: int | None,
    recursive: bool,
    threads: int,
    progress: bool,
) -> UploadSummary:
    """See ``Client.upload_folder``."""
    started = time.monotonic()
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} is not a folder")
    images, others = image_files(folder, recursive=recursive)
    summary = UploadSummary(ignored=others)
    known = {image["sha256"] for image in client.images(project_id)}
    bar = Progress(len(images), "upload") if progress else None
    with ThreadPoolExecutor(max(1, threads)) as pool:
        hashes = dict(zip(images, pool.map(_sha256, images), strict=True))
        to_send: dict[str, Path] = {}
        for path, sha in hashes.items():
            if sha in known or sha in to_send:
                summary.already_there.append(path)
            else:
                to_send[sha] = path
        if bar is not None:
            bar.advance(len(summary.already_there), "skipped what the project has")
        batches = list(_batches(to_send.values()))
        running = [
            pool.submit(_send, client, project_id, deployment_id, batch) for batch in batches
        ]
        for future in as_completed(running):
            outcomes = future.result()
            for path, status, reason in outcomes:
                if status == "created":
                    summary.created.append(path)
                elif status == "duplicate":
                    summary.already_there.append(path)
                elif status == "refused":
                    summary.refused.append((path, reason))
                else:
                    summary.failed.append((path, reason))
            if bar is not None:
                bar.advance(len(outcomes))
    if bar is not None:
        bar.close()
    summary.seconds = time.monotonic() - started
    return summary


def _send(
    client: Client, project_id: int, deployment_id: int | None, batch: list[Path]
) -> list[tuple[Path, str, str]]:
    """Each file's (path, status, reason): created, duplicate, refused or failed."""
    try:
        answer = _with_retries(
            lambda: client.upload(project_id, batch, deployment_id=deployment_id)
        )
    except ApiError as exc:
        if len(batch) > 1 and exc.status in (400, 413, 415):
            # Every file of the batch was refused; the answer names the first only.
            return [o for path in batch for o in _send(client, project_id, deployment_id, [path])]
        status = "refused" if exc.status in (400, 413, 415) else "failed"
        return [(path, status, exc.detail) for path in batch]
    except (httpx.HTTPError, OSError) as exc:
        return [(path, "failed", str(exc) or type(exc).__name__) for path in batch]
    results: list[dict[str, Any]] = answer["results"]
    return [
        (path, r["status"], r.get("reason") or "") for path, r in zip(batch, results, strict=True)
    ]


def _with_retries(call: Any) -> Any:
    pause = BACKOFF
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return call()
        except ApiError as exc:
            if exc.status not in _RETRY_STATUSES or attempt == ATTEMPTS:
                raise
        except httpx.TransportError:
            if attempt == ATTEMPTS:
                raise
        time.sleep(pause)
        pause *= 2
    raise AssertionError("unreachable")


def _batches(paths: Iterable[Path]) -> Iterable[list[Path]]:
    batch: list[Path] = []
    size = 0
    for path in paths:
        length = path.stat().st_size
        if batch and (len(batch) >= BATCH_FILES or size + length > BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(path)
        size += length
    if batch:
        yield batch


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def _hidden(relative: Path) -> bool:
    return any(part.startswith(".") for part in relative.parts)
