"""Reading what models found."""

from __future__ import annotations

from trapline.db.engine import Database
from trapline.domain.records import Image, User
from trapline.domain.results import Analysis, Annotation, AnnotationFilter
from trapline.domain.roles import Role
from trapline.services.access import project_for, require


def image_with_analyses(db: Database, caller: User, image_id: int) -> tuple[Image, list[Analysis]]:
    """An image with its analyses and their annotations."""
    with db.read() as repos:
        image = require(repos.images.get(image_id), "image", image_id)
        project_for(repos, caller, image.project_id, Role.VIEWER, asked=("image", image_id))
        return image, repos.analyses.for_image(image_id)


def list_annotations(
    db: Database, caller: User, project_id: int, flt: AnnotationFilter, *, limit: int, offset: int
) -> tuple[int, list[Annotation]]:
    """A project's annotations matching the filter."""
    with db.read() as repos:
        project_for(repos, caller, project_id, Role.VIEWER)
        return repos.analyses.list_annotations(project_id, flt, limit=limit, offset=offset)
