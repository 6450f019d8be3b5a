"""Walking a project's images one at a time, as the viewer's previous/next links do."""

from __future__ import annotations

from trapline.db.engine import Database
from trapline.domain.core.paging import Cursor, ImageOrder
from trapline.domain.core.records import Image, ImageFilter, User
from trapline.domain.core.roles import Role
from trapline.services.core.access import project_for


def neighbours(
    db: Database, caller: User, image: Image, flt: ImageFilter, order: ImageOrder
) -> tuple[Image | None, Image | None]:
    """The images before and after ``image`` in ``order`` among those matching ``flt``.

    Two index seeks, no count: as fast at the millionth image as at the first.
    """
    with db.read() as repos:
        project_for(repos, caller, image.project_id, Role.VIEWER, asked=("image", image.id))
        before, _ = repos.photos.images.page(
            image.project_id,
            flt,
            order=order,
            limit=1,
            cursor=Cursor(image.captured_at, image.id, backwards=True),
        )
        after, _ = repos.photos.images.page(
            image.project_id, flt, order=order, limit=1, cursor=Cursor(image.captured_at, image.id)
        )
    return (before[0] if before else None), (after[0] if after else None)
