"""Running a pipeline again over photos it analysed: how many of a job's selection a pipeline
version analysed already, which a job skips unless it reprocesses (``JobParams.reprocess``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from trapline.db.engine import Database
from trapline.domain.core.records import User
from trapline.domain.core.roles import Role
from trapline.services.core.access import project_for
from trapline.services.processing.job_selection import (
    check_selection,
    selected_count,
    selection_filter,
)


@dataclass(frozen=True)
class Analysed:
    """Of a job's selection, how many photos a pipeline version analysed already."""

    slug: str
    version: int
    #: The photos the selection names.
    selected: int
    #: Those of them the version completed an analysis of: a job skips them unless it
    #: reprocesses.
    analysed: int


def analysed_before(
    db: Database,
    caller: User,
    project_id: int,
    *,
    pipeline_slug: str,
    pipeline_version: int | None,
    selection: dict[str, Any],
) -> Analysed | None:
    """How many of the photos ``selection`` names (as ``create_job`` takes it) the pipeline's
    ``pipeline_version`` (None: its newest enabled) analysed already (viewers); None when the
    project has no such version enabled. InvalidInput for a selection outside the project."""
    with db.read() as repos:
        project_for(repos, caller, project_id, Role.VIEWER)
        pipeline = repos.pipelines.pipelines.resolve(project_id, pipeline_slug, pipeline_version)
        if pipeline is None:
            return None
        check_selection(repos, project_id, selection)
        flt, collection_id = selection_filter(repos, selection)
        done = repos.processing.selection.analysed(
            project_id,
            pipeline.id,
            flt,
            collection_id=collection_id,
            image_ids=selection.get("image_ids"),
        )
        return Analysed(
            pipeline.slug, pipeline.version, selected_count(repos, project_id, selection), done
        )
