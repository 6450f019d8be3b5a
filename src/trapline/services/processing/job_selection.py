"""The images a job selects: checked when it is made, counted, and as the filter they stand
for."""

from __future__ import annotations

from typing import Any

from trapline.db.repositories import Repos
from trapline.domain.core.records import ImageFilter
from trapline.domain.pipelines.pipelines import IMPORT_SERVICE, REFIT_SERVICE, Pipeline
from trapline.domain.processing.jobs import DispatchMode, Job
from trapline.errors import InvalidInput


def check_selection(repos: Repos, project_id: int, selection: dict[str, Any]) -> None:
    """InvalidInput unless every collection, deployment and image the selection names is the
    project's."""
    if "collection_id" in selection:
        collection = repos.core.collections.get(selection["collection_id"])
        if collection is None or collection.project_id != project_id:
            raise InvalidInput(
                f"collection {selection['collection_id']} is not in project {project_id}"
            )
    deployment_id = selection.get("deployment_id") or selection.get("filter", {}).get(
        "deployment_id"
    )
    if deployment_id is not None:
        deployment = repos.core.deployments.get(deployment_id)
        if deployment is None or deployment.project_id != project_id:
            raise InvalidInput(f"deployment {deployment_id} is not in project {project_id}")
    if "image_ids" in selection:
        ids = selection["image_ids"]
        missing = sorted(set(ids) - repos.core.images.existing_ids(project_id, ids))
        if missing:
            shown = ", ".join(str(i) for i in missing[:10])
            raise InvalidInput(f"images not in project {project_id}: {shown}")


def selected_count(repos: Repos, project_id: int, selection: dict[str, Any]) -> int:
    """How many images a job's selection names (before any are skipped)."""
    if "image_ids" in selection:
        return len(selection["image_ids"])
    flt, collection_id = selection_filter(repos, selection)
    return repos.processing.selection.count(
        project_id, flt, collection_id=collection_id, image_ids=None
    )


def selection_filter(repos: Repos, selection: dict[str, Any]) -> tuple[ImageFilter, int | None]:
    """The image filter and explicit collection a job's selection stands for."""
    if "filter" in selection:
        return ImageFilter.from_json(selection["filter"]), None
    if "deployment_id" in selection:
        return ImageFilter(deployment_id=selection["deployment_id"]), None
    if "collection_id" in selection:
        collection = repos.core.collections.get(selection["collection_id"])
        if collection is not None and collection.kind == "filter" and collection.filter:
            return collection.filter, None
        return ImageFilter(), selection["collection_id"]
    return ImageFilter(), None


def check_boxes_from(
    repos: Repos, project_id: int, pipeline: Pipeline, selection: dict[str, Any], source: str
) -> None:
    """InvalidInput (on ``params``) unless ``pipeline`` can classify the boxes of pipeline
    ``source`` and some photo of the selection has boxes of it."""
    named = f"pipeline {pipeline.slug!r} v{pipeline.version}"
    if not pipeline.classifies_boxes:
        raise InvalidInput(
            f"params.boxes_from: {named} does not classify boxes it is given (its registration "
            "does not say classifies_boxes); it can only detect",
            field="boxes_from",
        )
    if source == pipeline.slug:
        raise InvalidInput(
            f"params.boxes_from: {named} would classify its own boxes; name the pipeline whose "
            "boxes it should classify",
            field="boxes_from",
        )
    if not repos.pipelines.pipelines.named(project_id, source):
        raise InvalidInput(
            f"params.boxes_from: project {project_id} has no pipeline {source!r}",
            field="boxes_from",
        )
    flt, collection_id = selection_filter(repos, selection)
    ids = selection.get("image_ids")
    if not repos.processing.selection.boxed(
        project_id, source, flt, collection_id=collection_id, image_ids=ids
    ):
        raise InvalidInput(
            f"params.boxes_from: none of the selected photos has boxes of {source!r}; run it "
            "over them first, or choose other photos",
            field="boxes_from",
        )


def skipped_note(repos: Repos, job: Job, count: int) -> str:
    """What a started job's history says of the selected images it made no task for (empty
    when there are none)."""
    params = job.params
    if params.reprocess and params.boxes_from is None:
        return ""
    skipped = selected_count(repos, job.project_id, job.selection) - count
    if skipped <= 0:
        return ""
    analysed = f"already analysed by {job.pipeline_slug} v{job.pipeline_version}"
    if params.boxes_from is not None:
        why = f"without boxes of {params.boxes_from}"
        why += "" if params.reprocess else f" or {analysed}"
        return f"; {skipped} images skipped: {why}"
    return (
        f'; {skipped} images skipped: {analysed} (to run them again, tick "Re-run the photos '
        "already analysed\" in the web app's job form, or pass reprocess: true)"
    )


def check_runnable(services: set[str], slug: str, mode: DispatchMode) -> None:
    """InvalidInput unless something runs a job of the pipeline its registering ``services``
    name: imported results run nowhere; a promoted refit only as the platform's own job."""
    if services == {IMPORT_SERVICE}:
        raise InvalidInput(
            f"pipeline: {slug!r} holds imported results ({IMPORT_SERVICE}); nothing runs it "
            "here: pick a pipeline a worker or a processing service offers",
            field="pipeline",
        )
    if (services == {REFIT_SERVICE}) != (mode is DispatchMode.INTERNAL):
        raise InvalidInput(
            f"pipeline: {slug!r} is a promoted refit, which runs when a person promotes it "
            "(POST /api/v2/classifiers/{id}/promote, or /api/v2/detection-scorers/{id}/promote)"
            if services == {REFIT_SERVICE}
            else f"dispatch_mode: {mode.value} jobs are a promoted refit's own",
            field="pipeline",
        )
