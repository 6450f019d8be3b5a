"""The pipelines a project's job forms offer, and the one they start on: the enabled pipelines
that run from a job (the platform's own imports and refits do not), and the pipeline of the
project's last job (processing's) when it is among them."""

from __future__ import annotations

from typing import NamedTuple

from trapline.db.engine import Database
from trapline.db.types import utcnow
from trapline.domain.core.event_rules import ProjectKind
from trapline.domain.core.records import User
from trapline.domain.core.roles import Role
from trapline.domain.pipelines.pipelines import (
    IMPORT_SERVICE,
    ONLINE_WINDOW,
    REFIT_SERVICE,
    TEST_PIPELINES,
    ProjectPipeline,
    always_offered,
    preselected,
)
from trapline.services.core.access import project_for


class Offered(NamedTuple):
    """The pipelines a project's job forms offer, and the one they start on."""

    pipelines: list[ProjectPipeline]
    preselected: str | None
    #: Built-in pipelines the project's kind is offered that no worker registered in it (a
    #: camera trap's MegaDetector): a job for one is refused until a worker serves it.
    unregistered: tuple[str, ...] = ()
    #: The slugs of every pipeline enabled in the project, imported results included: those
    #: whose boxes a job of a pipeline that classifies boxes may be given.
    box_sources: tuple[str, ...] = ()


def offered_pipelines(
    db: Database,
    caller: User,
    project_id: int,
    *,
    with_tests: bool,
    with_unregistered: bool = False,
) -> Offered:
    """The project's enabled pipelines (the test ones only ``with_tests``), starting on the
    pipeline of its last job when offered, else on the built-in real one its kind prefers
    (``preselected``). ``with_unregistered``: also the built-ins its kind is always offered
    that no worker registered in it, which may be the one preselected."""
    with db.read() as repos:
        project, _ = project_for(repos, caller, project_id, Role.VIEWER)
        found = repos.pipelines.pipelines.for_project(
            project_id, utcnow(), push_window=ONLINE_WINDOW
        )
        _, last = repos.processing.jobs.page(project_ids=[project_id], limit=1, offset=0)
    kind = ProjectKind(project.kind)
    offered = [
        p
        for p in found
        if p.enabled
        and (with_tests or p.pipeline.slug not in TEST_PIPELINES)
        and not _not_for_jobs({s.name for s in p.services})
    ]
    registered = {p.pipeline.slug for p in found}
    missing = tuple(s for s in always_offered(kind) if with_unregistered and s not in registered)
    slugs = [p.pipeline.slug for p in offered] + list(missing)
    sources = tuple(sorted({p.pipeline.slug for p in found if p.enabled}))
    return Offered(
        offered, preselected(slugs, last[0].pipeline_slug if last else None, kind), missing, sources
    )


def _not_for_jobs(services: set[str]) -> bool:
    """Whether only the import's or the refits' service offers a pipeline: imported results
    run nowhere, and a promoted refit runs when it is promoted, not from a job form."""
    return bool(services) and services <= {IMPORT_SERVICE, REFIT_SERVICE}
