"""Which of a project's photos each entry of a MegaDetector file names (docs/exports.md,
"Importing MegaDetector results"): by ``sha256`` when the entry has one; else by the path an
export gives the photo (``<deployment folder>/<file name>``, ``exports/file_names.py``), so
that a file an export wrote matches photo by photo; else by its own file name (the path's
last part) within the deployment the caller names, or the deployment whose folder is the
path's first part, or the whole project when one photo has that name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePosixPath, PureWindowsPath

from trapline.db.engine import Database
from trapline.db.repositories.exports.export_reads import ExportScope
from trapline.db.repositories.exports.same_names import NameScope
from trapline.domain.exports.exports import ExportFilters
from trapline.domain.exports.facts import ImageFacts
from trapline.exports.base import NO_DEPLOYMENT, deployment_folders
from trapline.exports.megadetector_import import MdImage
from trapline.services.exports.file_names import file_names


@dataclass
class _Found:
    """The photos a file's entries may name: by exported path, own file name and SHA-256."""

    by_path: dict[str, ImageFacts] = field(default_factory=dict)
    by_name: dict[str, list[ImageFacts]] = field(default_factory=dict)
    by_sha: dict[str, ImageFacts] = field(default_factory=dict)


@dataclass
class Matches:
    """The entries matched, each with its photo, and those that match none, each with why."""

    found: list[tuple[ImageFacts, MdImage]] = field(default_factory=list)
    missed: list[tuple[str, str]] = field(default_factory=list)


def match(
    db: Database, project_id: int, entries: list[MdImage], deployment_id: int | None
) -> Matches:
    """Each entry with the photo it names, in one pass over the project's photos."""
    wanted = {_name(e.file) for e in entries}
    paths = {_path(e.file) for e in entries}
    in_folders = {path.split("/", 1)[0] for path in paths}
    shas = {e.sha256.lower() for e in entries if e.sha256}
    with db.read() as repos:
        max_id = repos.exports.export_reads.max_image_id(project_id)
        _, deployments = repos.core.deployments.page(project_id, limit=100_000, offset=0)
        folders = deployment_folders((d.id, d.name) for d in deployments)
        names = file_names(repos, NameScope(project_id, deployment_id, max_id))
    scope = ExportScope(
        project_id,
        ExportFilters(deployment_id=deployment_id),
        pipeline_ids=None,
        collection_id=None,
        collection_filter=None,
        max_image_id=max_id,
    )
    index = _Found()
    after = 0
    while True:  # one pass over the project's images, keeping those the file names
        with db.read() as repos:
            images = repos.exports.export_reads.images_after(scope, after, 5000)
        if not images:
            break
        for image in images:
            folder = folders.get(image.deployment_id or 0, NO_DEPLOYMENT)
            if folder in in_folders:
                path = f"{folder}/{names.of(image.id, image.deployment_id, image.filename)}"
                if path in paths:
                    index.by_path[path] = image
            if image.filename in wanted:
                index.by_name.setdefault(image.filename, []).append(image)
            if image.sha256 in shas:
                index.by_sha[image.sha256] = image
        after = images[-1].id
    found = Matches()
    seen: set[int] = set()
    for entry in entries:
        one = _one(entry, index, folders, deployment_id, found)
        if one is None:
            continue
        if one.id in seen:
            found.missed.append((entry.file, f"image {one.id} is named by an earlier entry too"))
            continue
        seen.add(one.id)
        found.found.append((one, entry))
    return found


def _one(
    entry: MdImage,
    index: _Found,
    folders: dict[int, str],
    deployment_id: int | None,
    found: Matches,
) -> ImageFacts | None:
    if entry.sha256:
        one = index.by_sha.get(entry.sha256.lower())
        if one is None:
            found.missed.append((entry.file, "no image of the project has this sha256"))
        return one
    exported = index.by_path.get(_path(entry.file))
    if exported is not None:  # a photo's path in an export is that photo's alone
        return exported
    candidates = index.by_name.get(_name(entry.file), [])
    if deployment_id is None and len(candidates) > 1:
        folder = _folder(entry.file)
        if folder is not None:
            candidates = [
                c for c in candidates
                if folders.get(c.deployment_id or 0, NO_DEPLOYMENT) == folder
            ]  # fmt: skip
    if not candidates:
        where = f"deployment {deployment_id}" if deployment_id else "the project"
        found.missed.append((entry.file, f"no image of {where} has this file name"))
        return None
    if len(candidates) > 1:
        found.missed.append((entry.file, _ambiguous(candidates)))
        return None
    return candidates[0]


def _ambiguous(candidates: list[ImageFacts]) -> str:
    """Why a name that several photos have matches none of them, and what to do."""
    if len({c.deployment_id for c in candidates}) == 1:
        return (
            f"{len(candidates)} images of one deployment have this file name; name each by "
            "its path in an export, which sets the image id before the extension "
            "(IMG_0001-12.JPG), or give its sha256"
        )
    return (
        f"{len(candidates)} images have this file name; give the deployment (deployment_id) "
        "or paths whose first folder is the deployment's name"
    )


def _path(path: str) -> str:
    """A path as exports write them (``/`` between folder and name)."""
    return path.replace("\\", "/")


def _name(path: str) -> str:
    return PureWindowsPath(PurePosixPath(path).name).name


def _folder(path: str) -> str | None:
    parts = PurePosixPath(path.replace("\\", "/")).parts
    return parts[0] if len(parts) > 1 else None
