"""Collections: named sets of images, explicit or by saved filter."""

from __future__ import annotations

from trapline.db.engine import Database
from trapline.domain.core.paging import Cursor, ImageOrder
from trapline.domain.core.records import Collection, ImageFilter, User
from trapline.domain.core.roles import Role
from trapline.errors import InvalidInput
from trapline.services.core.access import project_for, require
from trapline.services.photos.images import ImagePage

#: Most ids one explicit collection may be created with in one request.
MAX_EXPLICIT_IDS = 100_000


def create_collection(
    db: Database,
    caller: User,
    project_id: int,
    name: str,
    description: str,
    *,
    image_ids: list[int] | None,
    flt: ImageFilter | None,
) -> Collection:
    """Add a collection from either a list of the project's image ids or a filter (members)."""
    if (image_ids is None) == (flt is None):
        raise InvalidInput("give exactly one of image_ids (a list) or filter (an object)")
    if image_ids is not None and len(image_ids) > MAX_EXPLICIT_IDS:
        raise InvalidInput(f"at most {MAX_EXPLICIT_IDS} image_ids per collection")
    with db.write() as repos:
        project_for(repos, caller, project_id, Role.MEMBER)
        if image_ids is not None:
            missing = sorted(set(image_ids) - repos.core.images.existing_ids(project_id, image_ids))
            if missing:
                shown = ", ".join(str(i) for i in missing[:10])
                more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
                raise InvalidInput(f"images not in project {project_id}: {shown}{more}")
        if flt is not None and flt.deployment_id is not None:
            deployment = repos.core.deployments.get(flt.deployment_id)
            if deployment is None or deployment.project_id != project_id:
                raise InvalidInput(f"deployment {flt.deployment_id} is not in project {project_id}")
        return repos.core.collections.create(
            project_id, name, description, image_ids=image_ids, flt=flt, created_by=caller.id
        )


def list_collections(
    db: Database, caller: User, project_id: int, *, limit: int, offset: int
) -> tuple[int, list[Collection]]:
    """A project's collections."""
    with db.read() as repos:
        project_for(repos, caller, project_id, Role.VIEWER)
        return repos.core.collections.page(project_id, limit=limit, offset=offset)


def get_collection(db: Database, caller: User, collection_id: int) -> Collection:
    """A collection the caller may see."""
    with db.read() as repos:
        collection = require(repos.core.collections.get(collection_id), "collection", collection_id)
        project_for(
            repos, caller, collection.project_id, Role.VIEWER, asked=("collection", collection_id)
        )
        return collection


def delete_collection(db: Database, caller: User, collection_id: int) -> None:
    """Remove a collection (members); its images stay."""
    with db.write() as repos:
        collection = require(repos.core.collections.get(collection_id), "collection", collection_id)
        project_for(
            repos, caller, collection.project_id, Role.MEMBER, asked=("collection", collection_id)
        )
        repos.core.collections.delete(collection_id)


def collection_images(
    db: Database,
    caller: User,
    collection_id: int,
    *,
    order: ImageOrder,
    limit: int,
    offset: int = 0,
    cursor: Cursor | None = None,
) -> ImagePage:
    """A page of the images in a collection."""
    with db.read() as repos:
        collection = require(repos.core.collections.get(collection_id), "collection", collection_id)
        project_for(
            repos, caller, collection.project_id, Role.VIEWER, asked=("collection", collection_id)
        )
        explicit = collection.kind == "explicit"
        flt = collection.filter or ImageFilter()
        scope = collection_id if explicit else None
        images, more = repos.photos.images.page(
            collection.project_id,
            flt,
            order=order,
            limit=limit,
            offset=offset,
            cursor=cursor,
            collection_id=scope,
        )
        count = repos.photos.images.count(collection.project_id, flt, collection_id=scope)
        return ImagePage(count, images, more)
