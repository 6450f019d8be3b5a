"""Collections: named sets of images."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from trapline.api.deps import CurrentUser, DatabaseDep
from trapline.api.routes.images import image_page
from trapline.domain.core.paging import ImageOrder
from trapline.http.limits import COLLECTION_BODY_BYTES
from trapline.http.pagination import decode_cursor, offset_page
from trapline.http.params import DEFAULT_LIMIT, Id, Limit, ListingOffset, Offset, QueryCursor
from trapline.schemas.images import CollectionIn, CollectionOut
from trapline.services.photos import collections

router = APIRouter(tags=["collections"])


@router.post(
    "/projects/{project_id}/collections", status_code=201, max_body_size=COLLECTION_BODY_BYTES
)
def create_collection(
    project_id: Id, body: CollectionIn, caller: CurrentUser, db: DatabaseDep
) -> CollectionOut:
    """Create a collection from ``image_ids`` or a saved ``filter`` (members)."""
    made = collections.create_collection(
        db,
        caller,
        project_id,
        body.name,
        body.description,
        image_ids=body.image_ids,
        flt=body.filter.to_filter() if body.filter is not None else None,
    )
    return CollectionOut.of(made)


@router.get("/projects/{project_id}/collections")
def list_collections(
    request: Request,
    project_id: Id,
    caller: CurrentUser,
    db: DatabaseDep,
    limit: Limit = DEFAULT_LIMIT,
    offset: Offset = 0,
) -> dict[str, Any]:
    """A project's collections."""
    total, found = collections.list_collections(db, caller, project_id, limit=limit, offset=offset)
    return offset_page(request, total, [CollectionOut.of(c) for c in found], limit, offset)


@router.get("/collections/{collection_id}")
def get_collection(collection_id: Id, caller: CurrentUser, db: DatabaseDep) -> CollectionOut:
    """One collection."""
    return CollectionOut.of(collections.get_collection(db, caller, collection_id))


@router.delete("/collections/{collection_id}", status_code=204)
def delete_collection(collection_id: Id, caller: CurrentUser, db: DatabaseDep) -> Response:
    """Delete a collection (members); its images stay."""
    collections.delete_collection(db, caller, collection_id)
    return Response(status_code=204)


@router.get("/collections/{collection_id}/images")
def collection_images(
    request: Request,
    collection_id: Id,
    caller: CurrentUser,
    db: DatabaseDep,
    ordering: ImageOrder = ImageOrder.CAPTURED,
    limit: Limit = DEFAULT_LIMIT,
    offset: ListingOffset = 0,
    cursor: QueryCursor = None,
) -> dict[str, Any]:
    """The images in a collection."""
    position = decode_cursor(cursor)
    page = collections.collection_images(
        db, caller, collection_id, order=ordering, limit=limit, offset=offset, cursor=position
    )
    return image_page(request, page, limit=limit, offset=offset, cursor=position)
