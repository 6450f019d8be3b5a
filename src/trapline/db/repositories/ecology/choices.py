"""Which pipeline each deployment counts by (``domain/ecology/choices.py``): set when its
first results are tallied, then changed only by a person, for the deployment or the project."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import ColumnElement, Select, SQLColumnExpression, func, select, update
from sqlalchemy.orm import Session, aliased

from trapline.db.tables import (
    AnalysisRow,
    DeploymentRow,
    ImageRow,
    LabelTallyRow,
    PipelinePinRow,
    PipelineRow,
    PipelineTallyRow,
    ProjectRow,
)
from trapline.domain.core.records import Deployment
from trapline.domain.ecology.choices import (
    Chosen,
    DeploymentCounting,
    VersionShare,
    first_choice,
)
from trapline.domain.ecology.species import Scope
from trapline.domain.processing.results import AnalysisStatus

#: Deployments listed on one page of counting choices, at most.
MAX_LISTED = 1000


def choose_first(session: Session, arrived: Mapping[int, Mapping[str, int]]) -> None:
    """Deployments that counted by nothing and now have occurrences (``arrived``: each
    pipeline's tracked detections, by deployment) count by their first results."""
    if not arrived:
        return
    d = DeploymentRow
    unset = session.execute(
        select(d.id, ProjectRow.counting_pipeline)
        .join(ProjectRow, ProjectRow.id == d.project_id)
        .where(d.id.in_(sorted(arrived)), d.counting_pipeline.is_(None))
        .order_by(d.id)
    )
    for deployment_id, project_choice in unset.all():
        session.execute(
            update(d)
            .where(d.id == deployment_id, d.counting_pipeline.is_(None))
            .values(
                counting_pipeline=first_choice(arrived[deployment_id], project_choice),
                counting_chosen=Chosen.RESULTS.value,
            )
        )


def pipeline_terms(
    scope: Scope,
    pipeline: SQLColumnExpression[str],
    deployment_id: SQLColumnExpression[int],
) -> list[ColumnElement[bool]]:
    """The terms that keep a scope's pipeline of rows with these columns: its one pipeline,
    else each deployment's own (none when the scope names neither: every pipeline)."""
    if scope.pipeline is not None:
        return [pipeline == scope.pipeline]
    if scope.chosen:
        # Aliased: a statement that joins the deployments itself (the record table's) would
        # take the subquery's deployments for its own and leave the subquery none.
        chooser = aliased(DeploymentRow)
        own = select(chooser.counting_pipeline).where(chooser.id == deployment_id)
        return [pipeline == own.scalar_subquery()]
    return []


def place_terms(
    scope: Scope,
    project_id: SQLColumnExpression[int],
    deployment_id: SQLColumnExpression[int],
    within_event: bool,
) -> list[ColumnElement[bool]]:
    """A scope's project and deployment, of rows with these columns. ``within_event``: the rows
    are also of one event or of a page's events, and the terms are written (``+ 0``) so that
    SQLite walks the events' index: it walked the project's, every tally or occurrence of the
    project, 20-215 ms for the busiest night at 1,000,000 photos where the event's takes
    under 1."""
    if within_event:
        project_id, deployment_id = project_id + 0, deployment_id + 0
    terms = [project_id == scope.project_id]
    if scope.deployment_id is not None:
        terms.append(deployment_id == scope.deployment_id)
    return terms


def kept_total(scope: Scope) -> Select[Any]:
    """How many occurrences the scope counts over the whole project (its deployment, nights and
    labels mapped as no object aside), from the kept sums: its pipeline's one row, else each
    deployment's own pipeline's sums."""
    if scope.pipeline is not None:
        p = PipelineTallyRow
        return select(p.occurrences).where(
            p.project_id == scope.project_id, p.pipeline == scope.pipeline
        )
    k = LabelTallyRow
    return select(func.sum(k.occurrences)).where(
        k.project_id == scope.project_id, *pipeline_terms(scope, k.pipeline, k.deployment_id)
    )


class ChoiceRepo:
    """The pipelines deployments count by."""

    def __init__(self, session: Session) -> None:
        self.session = session
        #: ``of_project`` by project, read once a transaction (only a person's choice in it,
        #: below, changes it).
        self._chosen: dict[int, dict[int, str]] = {}

    def of_project(self, project_id: int) -> dict[int, str]:
        """Each deployment of the project that counts by a pipeline, with it."""
        if project_id not in self._chosen:
            self._chosen[project_id] = self._of_project(project_id)
        return self._chosen[project_id]

    def _of_project(self, project_id: int) -> dict[int, str]:
        d = DeploymentRow
        rows = self.session.execute(
            select(d.id, d.counting_pipeline)
            .where(d.project_id == project_id, d.counting_pipeline.is_not(None))
            .order_by(d.id)
        )
        return {int(i): str(p) for i, p in rows}

    def counting_of(self, deployment_id: int) -> str | None:
        """The pipeline a deployment counts by (None: nothing tracked on it yet)."""
        return self.session.scalar(
            select(DeploymentRow.counting_pipeline).where(DeploymentRow.id == deployment_id)
        )

    def counted(self, scope: Scope) -> Scope:
        """The scope with what it counts filled in, unless it names a pipeline: a
        deployment's own pipeline; over the project, the one every deployment counts by,
        else each deployment's own."""
        if scope.pipeline is not None:
            return scope
        if scope.deployment_id is not None:  # its row, as the access check read it
            row = self.session.get(DeploymentRow, scope.deployment_id)
            return replace(scope, pipeline=row.counting_pipeline if row else None, chosen=())
        chosen = self.of_project(scope.project_id)
        if len(set(chosen.values())) == 1:
            return replace(scope, pipeline=next(iter(chosen.values())), chosen=())
        return replace(scope, chosen=tuple(chosen.items()))

    def versions(self, deployment: Deployment) -> VersionShare:
        """Which versions of the pipeline the deployment counts by its photos' current results
        are of (``shares``)."""
        found = self.shares(deployment.project_id, [deployment.id])
        return found.get(deployment.id, VersionShare(deployment.counting_pipeline, (), 0))

    def shares(
        self, project_id: int, deployment_ids: Sequence[int] | None = None
    ) -> dict[int, VersionShare]:
        """Per deployment of the project (or these of it) that counts by a pipeline: which
        versions of it its photos' current results are of (each photo's newest completed
        one). Read photo by photo, in one grouped read, only for the deployments whose
        pipeline has several versions in the project and none pinned (else one version is
        current, and nothing is listed)."""
        d, a, p = DeploymentRow, AnalysisRow, PipelineRow
        wanted = select(d.id, d.counting_pipeline).where(
            d.project_id == project_id, d.counting_pipeline.is_not(None)
        )
        if deployment_ids is not None:
            wanted = wanted.where(d.id.in_(list(deployment_ids)))
        counting = {int(i): str(s) for i, s in self.session.execute(wanted)}
        found = {i: VersionShare(s, (), 0) for i, s in counting.items()}
        several = set(
            self.session.scalars(
                select(p.slug)
                .where(p.project_id == project_id, p.slug.in_(set(counting.values())))
                .group_by(p.slug)
                .having(func.count() > 1)
            )
        ) - set(
            self.session.scalars(
                select(PipelinePinRow.slug).where(PipelinePinRow.project_id == project_id)
            )
        )
        read = sorted(i for i, s in counting.items() if s in several)
        if not read:
            return found
        photos: dict[int | None, int] = {
            i: int(n)
            for i, n in self.session.execute(
                select(ImageRow.deployment_id, func.count())
                .where(ImageRow.deployment_id.in_(read))
                .group_by(ImageRow.deployment_id)
            )
        }
        newest = (
            select(
                ImageRow.deployment_id.label("deployment"),
                func.max(p.version).label("version"),
            )
            .select_from(a)
            .join(p, p.id == a.pipeline_id)
            .join(ImageRow, ImageRow.id == a.image_id)
            .join(d, d.id == ImageRow.deployment_id)
            .where(
                ImageRow.deployment_id.in_(read),
                a.project_id == project_id,
                p.slug == d.counting_pipeline,
                a.status == AnalysisStatus.COMPLETED.value,
            )
            .group_by(ImageRow.deployment_id, a.image_id)
            .subquery()
        )
        shares: dict[int, list[tuple[int, int]]] = {i: [] for i in read}
        for deployment, version, n in self.session.execute(
            select(newest.c.deployment, newest.c.version, func.count())
            .group_by(newest.c.deployment, newest.c.version)
            .order_by(newest.c.deployment, newest.c.version.desc())
        ):
            shares[int(deployment)].append((int(version), int(n)))
        for i in read:
            found[i] = VersionShare(counting[i], tuple(shares[i]), int(photos.get(i, 0)))
        return found

    def stated(self, project_id: int, deployment_id: int | None = None) -> tuple[str, ...]:
        """What the project's deployments (or the one) count, a line each in order of name
        (``VersionShare.line``): what exports state they count."""
        d = DeploymentRow
        named = select(d.id, d.name).where(d.project_id == project_id).order_by(d.name, d.id)
        if deployment_id is not None:
            named = named.where(d.id == deployment_id)
        names = [(int(i), str(n)) for i, n in self.session.execute(named.limit(MAX_LISTED))]
        shares = self.shares(project_id, [i for i, _ in names])
        return tuple(shares.get(i, VersionShare(None, (), 0)).line(str(name)) for i, name in names)

    def tracked(
        self, project_id: int, deployment_id: int | None = None
    ) -> dict[int, list[tuple[str, int, int]]]:
        """(pipeline, occurrences, detections) of every pipeline tracked on each deployment
        of the project (or the one), most detections first."""
        k = LabelTallyRow
        terms = [k.project_id == project_id]
        if deployment_id is not None:
            terms.append(k.deployment_id == deployment_id)
        occurrences, detections = func.sum(k.occurrences), func.sum(k.detections)
        rows = self.session.execute(
            select(k.deployment_id, k.pipeline, occurrences, detections)
            .where(*terms)
            .group_by(k.deployment_id, k.pipeline)
            .having(occurrences > 0)
            .order_by(k.deployment_id, detections.desc(), k.pipeline)
        )
        found: dict[int, list[tuple[str, int, int]]] = {}
        for deployment, pipeline, n, m in rows:
            found.setdefault(int(deployment), []).append((str(pipeline), int(n), int(m or 0)))
        return found

    def listed(self, project_id: int, *, tracked: bool = True) -> list[DeploymentCounting]:
        """What each of the project's deployments counts by (the first ``MAX_LISTED``), with
        the pipelines tracked on each unless ``tracked`` is false (one read of the kept sums
        by label saved)."""
        d = DeploymentRow
        rows = self.session.execute(
            select(d.id, d.name, d.counting_pipeline, d.counting_chosen, d.counting_not_carried)
            .where(d.project_id == project_id)
            .order_by(d.id)
            .limit(MAX_LISTED)
        ).all()
        found = self.tracked(project_id) if rows and tracked else {}
        return [
            DeploymentCounting(
                int(i),
                str(name),
                pipeline,
                Chosen(chosen) if chosen else None,
                tuple(found.get(int(i), ())),
                tuple(not_carried.splitlines()) if not_carried else (),
            )
            for i, name, pipeline, chosen, not_carried in rows
        ]

    def choose(self, deployment_id: int, pipeline: str, chosen: Chosen) -> None:
        """A person chose what one deployment counts by."""
        self._chosen.clear()
        self.session.execute(
            update(DeploymentRow)
            .where(DeploymentRow.id == deployment_id)
            .values(counting_pipeline=pipeline, counting_chosen=chosen.value)
        )

    def not_carried(self, deployment_id: int, said: str | None) -> None:
        """Keep what the change of a deployment's pipeline could not carry (None: nothing)."""
        self.session.execute(
            update(DeploymentRow)
            .where(DeploymentRow.id == deployment_id)
            .values(counting_not_carried=said)
        )

    def project_choice(self, project_id: int, pipeline: str) -> list[tuple[int, str | None]]:
        """The deployments a choice of ``pipeline`` for the project applies to: those with
        its occurrences, but those a person chose for on their own; each with the pipeline
        it counts by now."""
        d, k = DeploymentRow, LabelTallyRow
        ran = select(k.deployment_id).where(
            k.project_id == project_id, k.pipeline == pipeline, k.occurrences > 0
        )
        rows = self.session.execute(
            select(d.id, d.counting_pipeline)
            .where(
                d.project_id == project_id,
                d.id.in_(ran),
                d.counting_chosen.is_distinct_from(Chosen.PERSON.value),
            )
            .order_by(d.id)
        )
        return [(int(i), before) for i, before in rows]
