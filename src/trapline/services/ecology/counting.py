"""What a count is of: every page, API count and export builds its scope here, so they count
the same occurrences (docs/counting.md): the project's counting pipeline (or one asked for),
without the labels a person mapped as no object.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date

from trapline.db.engine import Database
from trapline.db.repositories import Repos
from trapline.domain.core.records import User
from trapline.domain.core.roles import Role
from trapline.domain.ecology.choices import DeploymentCounting, VersionShare
from trapline.domain.ecology.species import Scope
from trapline.domain.taxa.taxa import LabelMapping
from trapline.errors import InvalidInput
from trapline.services.core.access import project_for, require


def counting_scope(
    repos: Repos,
    caller: User,
    project_id: int,
    *,
    pipeline: str | None = None,
    deployment_id: int | None = None,
    since: date | None = None,
    until: date | None = None,
) -> Scope:
    """The scope of a count the caller may see (viewers): ``pipeline``'s occurrences when
    given (one of the project's), else those of the pipeline each deployment counts by."""
    project_for(repos, caller, project_id, Role.VIEWER)
    if deployment_id is not None:
        deployment = repos.core.deployments.get(deployment_id)
        if deployment is None or deployment.project_id != project_id:
            require(None, "deployment", deployment_id)
    if pipeline is not None:
        check_pipeline(repos, project_id, pipeline, "pipeline")
    hidden = tuple(repos.taxa.taxa.hidden_labels(project_id))
    scope = Scope(project_id, deployment_id, since, until, hidden, pipeline=pipeline or None)
    return repos.ecology.choices.counted(scope)


def viewable_scope(repos: Repos, caller: User, scope: Scope) -> Scope:
    """A scope a page's or listing's filters made, once the caller may view its project,
    counted as ``counting_scope`` counts (its pipeline, else each deployment's counting
    pipeline; without the labels mapped as no object)."""
    return counting_scope(
        repos,
        caller,
        scope.project_id,
        pipeline=scope.pipeline,
        deployment_id=scope.deployment_id,
        since=scope.since,
        until=scope.until,
    )


def with_pipeline(repos: Repos, scope: Scope) -> Scope:
    """A scope made elsewhere (a page's filters), counted as ``counting_scope`` counts."""
    if scope.pipeline is not None:
        check_pipeline(repos, scope.project_id, scope.pipeline, "pipeline")
    hidden = tuple(repos.taxa.taxa.hidden_labels(scope.project_id))
    return repos.ecology.choices.counted(replace(scope, hidden_labels=hidden, chosen=()))


def project_pipelines(repos: Repos, project_id: int) -> list[str]:
    """The pipelines a project can count by: those its occurrences were tracked from, and
    those enabled for it."""
    tracked = [name for name, _, _ in repos.ecology.counts.pipelines(project_id)]
    enabled = repos.pipelines.pipelines.enabled_slugs(project_id)
    return list(dict.fromkeys([*tracked, *enabled]))


def check_pipeline(repos: Repos, project_id: int, pipeline: str, field: str) -> None:
    """Refuse a pipeline that is not one of the project's, naming it."""
    known = project_pipelines(repos, project_id)
    if pipeline not in known:
        offered = ", ".join(known[:20]) or "none yet"
        raise InvalidInput(
            f"{field}: {pipeline[:100]!r} is not a pipeline of project {project_id} "
            f"(its pipelines: {offered})",
            field=field,
        )


@dataclass(frozen=True)
class Counting:
    """What a project's counts are of."""

    #: The pipeline every deployment counts by now (None: nothing tracked yet, or the
    #: deployments count by different ones: ``deployments``).
    pipeline: str | None
    #: The pipeline a person chose for the project (None: none chosen).
    named: str | None
    #: (pipeline, occurrences, detections) of each tracked pipeline, most detections first.
    counted: list[tuple[str, int, int]]
    #: The pipelines the project may count by.
    choices: list[str]
    #: What each deployment counts by (the first ``MAX_LISTED``).
    deployments: list[DeploymentCounting]
    #: Which versions of its pipeline each deployment's photos' results are of, by id.
    shares: dict[int, VersionShare] = field(default_factory=dict)

    @property
    def mixed(self) -> bool:
        """The deployments count by different pipelines."""
        return len({d.pipeline for d in self.deployments if d.pipeline is not None}) > 1

    @property
    def mixed_versions(self) -> tuple[str, ...]:
        """The deployments whose counts mix versions of their pipeline, a line each."""
        return tuple(
            share.line(d.name)
            for d in self.deployments
            if (share := self.shares.get(d.deployment_id)) is not None and share.mixed
        )


def counting_summary(
    db: Database, caller: User, project_id: int, *, tracked: bool = True
) -> Counting:
    """The pipeline a project counts by and those it could count by (viewers); with
    ``tracked``, the pipelines tracked on each deployment too."""
    with db.read() as repos:
        project, _ = project_for(repos, caller, project_id, Role.VIEWER)
        return Counting(
            pipeline=repos.ecology.choices.counted(Scope(project_id)).pipeline,
            named=project.counting_pipeline,
            counted=repos.ecology.counts.pipelines(project_id),
            choices=project_pipelines(repos, project_id),
            deployments=repos.ecology.choices.listed(project_id, tracked=tracked),
            shares=repos.ecology.choices.shares(project_id),
        )


def version_share(db: Database, caller: User, deployment_id: int) -> VersionShare:
    """Which versions of the pipeline a deployment counts by its photos' results are of
    (viewers)."""
    with db.read() as repos:
        deployment = require(repos.core.deployments.get(deployment_id), "deployment", deployment_id)
        asked = ("deployment", deployment_id)
        project_for(repos, caller, deployment.project_id, Role.VIEWER, asked=asked)
        return repos.ecology.choices.versions(deployment)


@dataclass(frozen=True)
class EventCount:
    """An event's individuals, as the species view counts them, and what they are."""

    #: Occurrences of the counting pipeline, without the labels mapped as no object.
    individuals: int
    #: (name, taxon id or None, occurrences), most first: a taxon by its scientific name, or
    #: an unmapped label (None: undetermined) by itself.
    taxa: list[tuple[str | None, int | None, int]]


def event_counts(
    db: Database, caller: User, deployment_id: int, event_ids: Sequence[int]
) -> tuple[str | None, dict[int, EventCount]]:
    """The pipeline counted by, and what these events of a deployment hold (viewers), by
    event; an event with nothing counted is left out. One grouped read of the tallies for
    all of them."""
    with db.read() as repos:
        deployment = require(repos.core.deployments.get(deployment_id), "deployment", deployment_id)
        asked = ("deployment", deployment_id)
        project_for(repos, caller, deployment.project_id, Role.VIEWER, asked=asked)
        scope = counting_scope(repos, caller, deployment.project_id, deployment_id=deployment_id)
        return scope.pipeline, counted_events(repos, scope, event_ids)


def counted_events(repos: Repos, scope: Scope, event_ids: Sequence[int]) -> dict[int, EventCount]:
    """What these events hold in a counting scope, by event (an event with nothing counted is
    left out): one grouped read of their tallies."""
    rows = repos.ecology.counts.per_event(scope, event_ids)
    names = repos.ecology.listings.taxon_names(t for _, t, _, _ in rows if t is not None)
    per_event: dict[int, Counter[tuple[str | None, int | None]]] = defaultdict(Counter)
    for event_id, taxon_id, label, n in rows:
        name = names.get(taxon_id) if taxon_id is not None else None
        key = (name, taxon_id) if name is not None else (label, None)
        per_event[event_id][key] += n
    return {
        event_id: EventCount(
            individuals=sum(counted.values()),
            taxa=[
                (name, taxon_id, n)
                for (name, taxon_id), n in sorted(
                    counted.items(), key=lambda item: (-item[1], item[0][0] or "")
                )
            ],
        )
        for event_id, counted in per_event.items()
        if sum(counted.values())
    }


def label_mappings(
    db: Database, caller: User, project_id: int, *, limit: int | None = None, offset: int = 0
) -> tuple[int, list[LabelMapping]]:
    """The labels of the project's occurrences, most occurrences of the counting pipeline
    first, with what each stands for and how many of its occurrences carry it (viewers): how
    many there are, and those from ``offset`` on (at most ``limit``; None: all). Unmapped ones
    are for a person to map. Only those shown are resolved (the counts are one grouped read
    of the tallies)."""
    with db.read() as repos:
        project_for(repos, caller, project_id, Role.VIEWER)
        counted = repos.ecology.choices.counted(Scope(project_id))
        named = [
            (label, n) for label, n in repos.ecology.counts.labels(project_id, counted) if label
        ]
        shown = named[offset:] if limit is None else named[offset : offset + limit]
        resolver = repos.taxa.taxa.resolver(project_id, [label for label, _ in shown])
    return len(named), [
        LabelMapping(m.label, m.kind, m.taxon_id, m.how, n)
        for label, n in shown
        for m in [resolver.mapping(label)]
    ]
