"""Groups of unknown individuals: the individuals nobody identified, grouped by the feature
vectors one pipeline posted with them, for a person to name a group at once (decision 072;
docs/evaluation.md).

A member asks for a grouping of the project's unidentified individuals (of a deployment, of
a range of nights, or all). The request checks what can be checked at once (the pipeline,
the scope, vectors of one length, enough individuals) and queues it; a background run
(``background/groupings.py``) reads the vectors a block of individuals at a time, groups them
(``evaluation/groups.py``) and stores each individual's group. Naming a group identifies its
individuals still unidentified with the taxon named, each as a person's identification,
through the bulk identification every identify page uses.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from datetime import date
from typing import Protocol

import numpy as np

from trapline.clock import Clock, SystemClock
from trapline.db.engine import Database
from trapline.db.repositories import Repos
from trapline.db.repositories.review.groupings import Member, Scope
from trapline.db.repositories.review.unidentified import UnidentifiedFeatures
from trapline.domain.core.records import User
from trapline.domain.core.roles import Role
from trapline.domain.ecology import species
from trapline.errors import InvalidInput
from trapline.evaluation.groupings import Grouping, GroupingStatus, GroupSummary
from trapline.evaluation.groups import MIN_INDIVIDUALS, GroupsFound, group, unit_means
from trapline.evaluation.heads import Floats, Ids
from trapline.services.core.access import project_for, require, require_person
from trapline.services.review.classifiers import check_features_from
from trapline.services.review.evaluation import parse_side
from trapline.services.review.identifications import MAX_BULK, identify_occurrences

SYSTEM_CLOCK = SystemClock()
FIELD = "features_from"
#: Groupings a project's listing shows (the newest).
LISTED = 200
#: Members of a group a page or answer shows (the most alike first).
SHOWN = 24


class Submits(Protocol):
    """Whatever runs a queued grouping soon (``background/groupings.GroupingRunner``)."""

    def submit(self, run_id: int) -> None: ...


@dataclass(frozen=True, eq=False)
class Usable:
    """The unidentified individuals a grouping takes, their vectors' sources, the vectors'
    length and (newest) version."""

    rows: UnidentifiedFeatures
    length: int
    version: int


@dataclass(frozen=True)
class Named:
    """A group named: how many of its individuals were identified (those still unidentified),
    and the taxon."""

    identified: int
    taxon_id: int


def create_grouping(
    db: Database,
    runner: Submits,
    caller: User,
    project_id: int,
    features_from: str,
    *,
    name: str = "",
    deployment_id: int | None = None,
    since: date | None = None,
    until: date | None = None,
    clock: Clock = SYSTEM_CLOCK,
) -> Grouping:
    """Queue a grouping of the project's unidentified individuals (of ``deployment_id`` and
    the nights from ``since`` to ``until`` when given) by the vectors of ``features_from`` (a
    pipeline's slug, or ``slug@N``) (members); InvalidInput saying what is wrong."""
    slug, version = parse_side(features_from, FIELD)
    if since is not None and until is not None and since > until:
        raise InvalidInput(f"until: {until} is before since ({since})", field="until")
    scope = Scope(deployment_id, since, until)
    with db.read() as repos:
        project_for(repos, require_person(caller), project_id, Role.MEMBER)
        check_features_from(repos, project_id, slug, version)
        _check_deployment(repos, project_id, deployment_id)
        usable(repos, project_id, features_from, scope)
    named = name.strip() or default_name(features_from, scope)
    with db.write() as repos:
        project_for(repos, require_person(caller), project_id, Role.MEMBER)
        made = repos.review.groupings.create(
            project_id, named[:200], features_from, scope, caller.id, clock.now()
        )
        found = repos.review.groupings.get(made)
        assert found is not None
    runner.submit(made)
    return found


def default_name(features_from: str, scope: Scope) -> str:
    """A grouping's name when the person gave none: what it reads and its scope."""
    where = f"deployment {scope.deployment_id}" if scope.deployment_id else "all deployments"
    nights = (
        f"nights {scope.since or 'first'} to {scope.until or 'last'}"
        if scope.since or scope.until
        else "all nights"
    )
    return f"Unknown individuals by {features_from}, {where}, {nights}"


def get_grouping(db: Database, caller: User, grouping_id: int) -> Grouping:
    """One grouping (viewers of its project; others are told it is not there)."""
    with db.read() as repos:
        return _grouping(repos, caller, grouping_id)


def list_groupings(db: Database, caller: User, project_id: int) -> list[Grouping]:
    """The project's groupings, newest first, the latest ``LISTED`` (viewers)."""
    with db.read() as repos:
        project_for(repos, caller, project_id, Role.VIEWER)
        return repos.review.groupings.of_project(project_id, LISTED)


@dataclass(frozen=True)
class GroupingView:
    """A grouping as its page and answer show it: per group (0: the ungrouped) how many of
    its individuals nobody identified since, and its members most alike its centre."""

    grouping: Grouping
    left: dict[int, int]
    samples: dict[int, list[Member]]


def view_grouping(db: Database, caller: User, grouping_id: int, shown: int = SHOWN) -> GroupingView:
    """A grouping with, once done, each group's unidentified count and first ``shown``
    members still there (viewers)."""
    with db.read() as repos:
        found = _grouping(repos, caller, grouping_id)
        if found.status is not GroupingStatus.DONE:
            return GroupingView(found, {}, {})
        left = repos.review.groupings.still_unidentified(grouping_id)
        numbers = [g.number for g in found.groups] + [0]
        samples = {n: repos.review.groupings.members(grouping_id, n, shown) for n in numbers}
        return GroupingView(found, left, samples)


def name_group(
    db: Database,
    caller: User,
    grouping_id: int,
    number: int,
    taxon_id: int,
    *,
    comment: str = "",
    clock: Clock = SYSTEM_CLOCK,
) -> Named:
    """Identify every individual of a group nobody identified since as ``taxon_id`` (members),
    each as the person's identification, by the bulk identification (``MAX_BULK`` at a time).
    InvalidInput when the grouping is not done, it has no such group, or the group has no
    unidentified individual left."""
    with db.read() as repos:
        found = _grouping(repos, caller, grouping_id)
        project_for(repos, require_person(caller), found.project_id, Role.MEMBER)
        if found.status is not GroupingStatus.DONE:
            raise InvalidInput(
                f"grouping {grouping_id} is {found.status.value}: name a group once it is done"
            )
        if number not in {g.number for g in found.groups}:
            raise InvalidInput(
                f"group: grouping {grouping_id} has groups 1 to {len(found.groups)} (got {number})",
                field="group",
            )
        left = repos.review.groupings.unidentified_members(grouping_id, number)
    if not left:
        raise InvalidInput(
            f"group: every individual of group {number} is identified or rejected already",
            field="group",
        )
    made = 0
    for start in range(0, len(left), MAX_BULK):
        made += len(
            identify_occurrences(
                db, caller, found.project_id, left[start : start + MAX_BULK],
                taxon_id=taxon_id, comment=comment, clock=clock,
            )
        )  # fmt: skip
    return Named(made, taxon_id)


def run_grouping(db: Database, grouping_id: int, holder: str, clock: Clock) -> bool | None:
    """Group the individuals of a grouping ``holder`` has claimed and store the groups: True
    when stored, None when the grouping is gone or no longer ``holder``'s; InvalidInput when
    its individuals will not do."""

    def progress(stage: str, share: float) -> None:
        with db.write() as repos:
            repos.review.groupings.progressed(grouping_id, holder, stage[:120], round(share, 4))

    progress("reading the unidentified individuals' features", 0.0)
    with db.read() as repos:
        found = repos.review.groupings.get(grouping_id)
        if found is None:
            return None
        scope = Scope(found.deployment_id, found.since, found.until)
        chosen = usable(repos, found.project_id, found.features_from, scope)
    rows = chosen.rows
    order = np.argsort(rows.owners, kind="stable")
    owners, sources = rows.owners[order], rows.sources[order]

    def read(individuals: Ids) -> Floats:
        picked = np.isin(owners, individuals)
        with db.read() as repos:
            vectors = repos.review.refit_examples.vectors(sources[picked], chosen.length)
        local = np.searchsorted(individuals, owners[picked])
        return unit_means(vectors, local, len(individuals))

    groups = group(read, len(rows.individuals), progress=progress)
    done = _done(found, chosen, groups)
    members = _members(rows.individuals, groups)
    with db.write() as repos:
        stored = repos.review.groupings.done(grouping_id, holder, clock.now(), done, members)
    return True if stored else None


def usable(repos: Repos, project_id: int, features_from: str, scope: Scope) -> Usable:
    """The unidentified individuals of the scope with a vector of ``features_from``;
    InvalidInput when the vectors are of several lengths or the individuals too few."""
    slug, version = parse_side(features_from, FIELD)
    hidden = tuple(repos.taxa.taxa.hidden_labels(project_id))
    counted = repos.ecology.choices.counted(
        species.Scope(project_id, scope.deployment_id, scope.since, scope.until, hidden)
    )
    occurrences = repos.review.unidentified.occurrences(counted)
    found = repos.review.unidentified.features(occurrences, slug, version)
    pairs = Counter(zip(found.versions.tolist(), found.lengths.tolist(), strict=True))
    if len({length for _, length in pairs}) > 1:
        shown = ", ".join(
            f"version {v}: {length:,} numbers ({n} detections)"
            for (v, length), n in sorted(pairs.items())
        )
        newest = max(v for v, _ in pairs)
        raise InvalidInput(
            f"features_from: the vectors {slug!r} posted with the unidentified individuals' "
            f"detections are not all of one length ({shown}); name one version, as "
            f"{slug}@{newest}",
            field=FIELD,
        )
    if len(found.individuals) < MIN_INDIVIDUALS:
        raise InvalidInput(
            f"features_from: grouping needs at least {MIN_INDIVIDUALS} unidentified "
            f"individuals with vectors of {features_from!r}; {_scope_words(scope)} has "
            f"{len(occurrences):,} unidentified individuals, {len(found.individuals):,} of "
            "them with such vectors (run the pipeline over their photos, or widen the scope)",
            field=FIELD,
        )
    return Usable(found, int(found.lengths[0]), int(found.versions.max()))


def _scope_words(scope: Scope) -> str:
    words = [f"deployment {scope.deployment_id}" if scope.deployment_id else "the project"]
    if scope.since:
        words.append(f"from the night of {scope.since}")
    if scope.until:
        words.append(f"to the night of {scope.until}")
    return " ".join(words)


def _done(found: Grouping, chosen: Usable, groups: GroupsFound) -> Grouping:
    summaries = tuple(GroupSummary(g.number, g.size, g.tightness) for g in groups.groups)
    return replace(
        found, features_version=chosen.version, features_length=chosen.length,
        individuals=len(chosen.rows.individuals), dimensions=groups.dimensions,
        groups=summaries, ungrouped=len(groups.ungrouped), tried=groups.tried,
    )  # fmt: skip


def _members(individuals: Ids, groups: GroupsFound) -> list[tuple[int, int, float]]:
    """(occurrence, group, similarity) for every individual; the ungrouped in group 0."""
    rows = [
        (int(individuals[m]), g.number, round(float(s), 4))
        for g in groups.groups
        for m, s in zip(g.members.tolist(), g.similarity.tolist(), strict=True)
    ]
    rows += [(int(individuals[m]), 0, 0.0) for m in groups.ungrouped.tolist()]
    return rows


def _grouping(repos: Repos, caller: User, grouping_id: int) -> Grouping:
    found = require(repos.review.groupings.get(grouping_id), "grouping", grouping_id)
    asked = ("grouping", grouping_id)
    project_for(repos, caller, found.project_id, Role.VIEWER, asked=asked)
    return found


def _check_deployment(repos: Repos, project_id: int, deployment_id: int | None) -> None:
    if deployment_id is None:
        return
    deployment = repos.core.deployments.get(deployment_id)
    if deployment is None or deployment.project_id != project_id:
        raise InvalidInput(
            f"deployment_id: {deployment_id} is not a deployment of project {project_id}",
            field="deployment_id",
        )
