"""Reading what models found."""

from __future__ import annotations

from trapline.db.current import current_of_image
from trapline.db.engine import Database
from trapline.db.run_threshold import run_thresholds
from trapline.domain.callbacks.callbacks import Artifact
from trapline.domain.core.paging import Cursor
from trapline.domain.core.records import Image, User
from trapline.domain.core.roles import Role
from trapline.domain.processing.results import Analysis, Annotation, AnnotationFilter
from trapline.errors import NotFound
from trapline.services.core.access import project_for, require
from trapline.storage.base import BlobStore


def image_with_analyses(db: Database, caller: User, image_id: int) -> tuple[Image, list[Analysis]]:
    """An image with its analyses and their annotations."""
    with db.read() as repos:
        image = require(repos.core.images.get(image_id), "image", image_id)
        project_for(repos, caller, image.project_id, Role.VIEWER, asked=("image", image_id))
        return image, repos.processing.analyses.for_image(image_id)


def current_of(db: Database, caller: User, image: Image) -> frozenset[int]:
    """The ids of the image's current analyses (viewers of its project): of each pipeline, the
    latest run of the version counted (``db/current.py``); the others are older runs."""
    with db.read() as repos:
        project_for(repos, caller, image.project_id, Role.VIEWER, asked=("image", image.id))
        return current_of_image(repos.session, image.project_id, image.id)


def thresholds(db: Database, found: list[Analysis]) -> dict[int, float]:
    """The thresholds of these runs, by analysis id, of those that have one (their job's own,
    else their pipeline's default: ``db/run_threshold.py``)."""
    if not found:
        return {}
    with db.read() as repos:
        return run_thresholds(repos.session, [a.id for a in found])


def list_annotations(
    db: Database,
    caller: User,
    project_id: int,
    flt: AnnotationFilter,
    *,
    limit: int,
    offset: int,
    cursor: Cursor | None = None,
) -> tuple[int | None, list[Annotation], bool]:
    """A project's annotations matching the filter: how many (None: too many to count), the
    page, and whether more follow."""
    with db.read() as repos:
        project_for(repos, caller, project_id, Role.VIEWER)
        return repos.processing.analyses.list_annotations(
            project_id, flt, limit=limit, offset=offset, cursor=cursor
        )


def get_analysis(db: Database, caller: User, analysis_id: int) -> tuple[Analysis, list[Artifact]]:
    """An analysis with its annotations and the artifacts uploaded for it (viewers of its
    project), whatever made it: a worker, an import or an external pipeline."""
    with db.read() as repos:
        analysis = require(
            repos.processing.analyses.with_annotations(analysis_id), "analysis", analysis_id
        )
        image = require(repos.core.images.get(analysis.image_id), "analysis", analysis_id)
        project_for(repos, caller, image.project_id, Role.VIEWER, asked=("analysis", analysis_id))
        return analysis, repos.callbacks.callbacks.artifacts(analysis_id)


def layer_url(
    db: Database, store: BlobStore, caller: User, annotation_id: int, *, expires_in: int
) -> str:
    """A signed, expiring URL of the PNG a mask or heatmap annotation points at."""
    with db.read() as repos:
        found = repos.processing.analyses.annotations_by_id([annotation_id])
        annotation = require(found[0] if found else None, "annotation", annotation_id)
        image = require(repos.core.images.get(annotation.image_id), "annotation", annotation_id)
        asked = ("annotation", annotation_id)
        project_for(repos, caller, image.project_id, Role.VIEWER, asked=asked)
    if annotation.storage_key is None or not store.exists(annotation.storage_key):
        raise NotFound(f"annotation {annotation_id} has no uploaded file to show")
    return store.signed_url(annotation.storage_key, expires_in=expires_in)


def artifact_url(
    db: Database,
    store: BlobStore,
    caller: User,
    analysis_id: int,
    artifact_id: int,
    *,
    expires_in: int,
) -> str:
    """A signed, expiring URL of one of an analysis's uploaded artifacts."""
    _, artifacts = get_analysis(db, caller, analysis_id)
    found = next((a for a in artifacts if a.id == artifact_id), None)
    if found is None or not store.exists(found.storage_key):
        raise NotFound(f"artifact {artifact_id} not found")
    return store.signed_url(found.storage_key, expires_in=expires_in)
