"""The images a job selects: checked when it is made, counted, and as the filter they stand
for."""

from __future__ import annotations

from typing import Any

from trapline.db.repositories import Repos
from trapline.domain.core.records import ImageFilter
from trapline.errors import InvalidInput


def check_selection(repos: Repos, project_id: int, selection: dict[str, Any]) -> None:
    """InvalidInput unless every collection, deployment and image the selection names is the
    project's."""
    if "collection_id" in selection:
        collection = repos.collections.get(selection["collection_id"])
        if collection is None or collection.project_id != project_id:
            raise InvalidInput(
                f"collection {selection['collection_id']} is not in project {project_id}"
            )
    deployment_id = selection.get("deployment_id") or selection.get("filter", {}).get(
        "deployment_id"
    )
    if deployment_id is not None:
        deployment = repos.deployments.get(deployment_id)
        if deployment is None or deployment.project_id != project_id:
            raise InvalidInput(f"deployment {deployment_id} is not in project {project_id}")
    if "image_ids" in selection:
        ids = selection["image_ids"]
        missing = sorted(set(ids) - repos.images.existing_ids(project_id, ids))
        if missing:
            shown = ", ".join(str(i) for i in missing[:10])
            raise InvalidInput(f"images not in project {project_id}: {shown}")


def selected_count(repos: Repos, project_id: int, selection: dict[str, Any]) -> int:
    """How many images a job's selection names (before any are skipped)."""
    if "image_ids" in selection:
        return len(selection["image_ids"])
    flt, collection_id = selection_filter(repos, selection)
    return repos.images.count(project_id, flt, collection_id=collection_id)


def selection_filter(repos: Repos, selection: dict[str, Any]) -> tuple[ImageFilter, int | None]:
    """The image filter and explicit collection a job's selection stands for."""
    if "filter" in selection:
        return ImageFilter.from_json(selection["filter"]), None
    if "deployment_id" in selection:
        return ImageFilter(deployment_id=selection["deployment_id"]), None
    if "collection_id" in selection:
        collection = repos.collections.get(selection["collection_id"])
        if collection is not None and collection.kind == "filter" and collection.filter:
            return collection.filter, None
        return ImageFilter(), selection["collection_id"]
    return ImageFilter(), None
