"""Which pipeline a page's counts are of: the project's counting pipeline, or another of its
pipelines a person picks (``?pipeline=slug``, docs/counting.md). The species view, a taxon's
page and an event's page show the choice with one GET form, ``_pipeline_choice.html``, that
keeps the page's other query parameters."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Query

from trapline.protocol.base import ONE_LINE
from trapline.services.ecology import counting
from trapline.web.pages import Page

#: The query parameter that names the pipeline.
PARAMETER = "pipeline"
#: Other query parameters the form carries over, at most (a page takes a few).
MAX_KEPT = 20
#: The pipeline as the selector sends it (a slug: up to 255 characters).
PipelineText = Annotated[str, Query(max_length=255, pattern=ONE_LINE)]


@dataclass(frozen=True)
class PipelineChoice:
    """What the selector shows."""

    #: The pipeline asked for, as sent ("" when none was).
    asked: str
    #: The pipeline every deployment counts by (None: nothing tracked yet, or ``mixed``).
    counting: str | None
    #: The project's pipelines, to choose from.
    choices: tuple[str, ...]
    #: The page's address, and its other query parameters, kept by the form.
    action: str
    kept: tuple[tuple[str, str], ...]
    #: When the deployments count by different pipelines: (deployment, pipeline) of each.
    mixed: tuple[tuple[str, str], ...] = ()
    #: The deployments whose counts mix versions of their pipeline, a line each.
    mixed_versions: tuple[str, ...] = ()
    project_id: int = 0

    @property
    def shown(self) -> str | None:
        """The pipeline the page's counts are of (None: nothing is counted yet)."""
        return self.asked or self.counting

    @property
    def known(self) -> bool:
        """Whether the pipeline shown is one of the project's (else the page refuses it)."""
        return self.shown is not None and self.shown in self.choices

    @property
    def each_own(self) -> bool:
        """The page counts each deployment by its own pipeline (none was asked for)."""
        return not self.asked and bool(self.mixed)

    @property
    def pipeline(self) -> str | None:
        """What to hand the services: the pipeline asked for, else None (theirs)."""
        return self.asked or None


def pipeline_choice(page: Page, project_id: int, asked: str) -> PipelineChoice:
    """The selector of a page of the project's counts (viewers), for ``asked`` as sent."""
    summary = counting.counting_summary(page.db, page.me, project_id, tracked=False)
    query = page.request.query_params.multi_items()
    # A page of a paged list is of the list counted by the pipeline it replaces.
    kept = tuple((k, v) for k, v in query if k not in (PARAMETER, "offset"))[:MAX_KEPT]
    return PipelineChoice(
        asked=asked.strip(),
        counting=summary.pipeline,
        choices=tuple(summary.choices),
        action=page.request.url.path,
        kept=kept,
        mixed=tuple(
            (d.name, d.pipeline) for d in summary.deployments if d.pipeline and summary.mixed
        ),
        mixed_versions=summary.mixed_versions,
        project_id=project_id,
    )
