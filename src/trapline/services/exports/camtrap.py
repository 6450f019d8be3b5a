"""A project's camtrapR tables (viewers; docs/analysis.md): its record table, the operation
of its cameras, and one taxon's detection history. They count what every count counts
(``counting.viewable_scope``: one pipeline, without the labels mapped as no object).

Their ``since`` and ``until`` are days of the cameras' clocks (camtrapR's dates), not nights.
The record table streams: a project's table is read a few thousand rows at a time in one
read, which runs without the request time limit (it is bounded by the project's size and
memory stays flat), so a client can take a million photos' table as it comes.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, replace
from datetime import date

from trapline.db.engine import Database
from trapline.db.repositories import Repos
from trapline.db.repositories.exports.same_names import NameScope
from trapline.db.time_limit import request_time_limit
from trapline.domain.core.records import Deployment, User
from trapline.domain.ecology.species import Scope
from trapline.domain.exports.camera_operation import (
    EmptyDays,
    History,
    Occasions,
    Operation,
    SetupDays,
    StationDays,
    camera_operation,
    check_days,
    detection_history,
)
from trapline.domain.exports.record_table import Independence, Record, Sighting, records
from trapline.domain.taxa.taxa import Taxon
from trapline.errors import InvalidInput
from trapline.exports.base import deployment_folders, safe_folder
from trapline.exports.file_names import FileNames
from trapline.services.ecology.counting import viewable_scope
from trapline.services.exports.file_names import file_names
from trapline.services.taxa.taxa import taxon_of_project


@dataclass(frozen=True)
class RecordTable:
    """A record table: what it counts, and its records, streamed (read them once, in
    order, while the request lasts)."""

    #: The pipeline counted by (None: nothing tracked yet, and no records).
    pipeline: str | None
    rule: Independence
    records: Iterator[Record]


@dataclass(frozen=True)
class DetectionHistory:
    """One taxon's detection history, with the camera operation it was cut from."""

    pipeline: str | None
    taxon: Taxon
    occasions: Occasions
    rule: Independence
    operation: Operation
    history: History
    #: What the caller should know (a taxon never recorded: every cell 0 where cameras ran).
    warnings: list[str]


def record_table(
    db: Database, caller: User, scope: Scope, taxon_id: int | None, rule: Independence
) -> RecordTable:
    """The scope's records (of a taxon and every taxon under it, when given), one per
    station, species and independent sighting (viewers). ``scope.since`` and ``until`` are
    days. A deployment or taxon of another project answers as one that does not exist."""
    _check_days(scope)
    with db.read() as repos:
        scope = _viewable(repos, caller, scope)
        taxon = taxon_of_project(repos, scope.project_id, taxon_id, "taxon") if taxon_id else None
    kept = records(sightings(db, scope, taxon), rule) if not scope.counts_nothing else iter(())
    return RecordTable(scope.counted_by, rule, kept)


def operation(
    db: Database, caller: User, scope: Scope, empty_days: EmptyDays, setup_days: SetupDays
) -> Operation:
    """The camera-operation matrix of the project's deployments (or the scope's one), a
    column per day from ``scope.since`` to ``until`` within the survey (viewers)."""
    _check_days(scope)
    with db.read() as repos:
        scope = _viewable(repos, caller, scope)
        return operation_matrix(repos, scope, empty_days, setup_days)


def history(
    db: Database,
    caller: User,
    scope: Scope,
    taxon_id: int,
    occasions: Occasions,
    rule: Independence,
    empty_days: EmptyDays,
    setup_days: SetupDays,
) -> DetectionHistory:
    """The detection history of a taxon (and every taxon under it) from the record table's
    records and the camera operation (viewers). A taxon the project never recorded gives a
    matrix of zeros where cameras operated, with a warning."""
    _check_days(scope)
    with db.read() as repos:
        scope = _viewable(repos, caller, scope)
        taxon = taxon_of_project(repos, scope.project_id, taxon_id, "taxon")
        matrix = operation_matrix(repos, scope, empty_days, setup_days)
    return cut_history(db, scope, taxon, matrix, occasions, rule)


def cut_history(
    db: Database,
    scope: Scope,
    taxon: Taxon,
    matrix: Operation,
    occasions: Occasions,
    rule: Independence,
) -> DetectionHistory:
    """The taxon's history cut from ``matrix`` and the records of a counting scope (one
    streamed read of them; only their days are kept)."""
    days: dict[int, list[date]] = defaultdict(list)
    if not scope.counts_nothing:
        for r in records(sightings(db, scope, taxon, paths=False), rule):
            days[r.sighting.deployment_id].append(r.sighting.seen_at.date())
    warnings = []
    if not days:
        warnings.append(
            f"taxon {taxon.id} ({taxon.scientific_name}) has no records in project "
            f"{scope.project_id} for these filters: every cell is 0 where a camera operated"
        )
    made = detection_history(matrix, days, occasions)
    return DetectionHistory(scope.counted_by, taxon, occasions, rule, matrix, made, warnings)


def _check_days(scope: Scope) -> None:
    try:
        check_days(scope.since, scope.until)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None


def _viewable(repos: Repos, caller: User, scope: Scope) -> Scope:
    """The scope counted as every count counts, keeping its days (which ``viewable_scope``
    would read as nights, and which these tables read themselves)."""
    counted = viewable_scope(repos, caller, replace(scope, since=None, until=None))
    return replace(counted, since=scope.since, until=scope.until)


def operation_matrix(
    repos: Repos, scope: Scope, empty_days: EmptyDays, setup_days: SetupDays
) -> Operation:
    deployments = _deployments(repos, scope)
    photo_days = repos.exports.camtrap.photo_days(scope.project_id, scope.deployment_id)
    stations = [
        StationDays(
            d.id,
            d.name,
            d.started_at.date() if d.started_at else None,
            d.ended_at.date() if d.ended_at else None,
            frozenset(photo_days.get(d.id, ())),
        )
        for d in sorted(deployments, key=lambda d: (d.name, d.id))
    ]
    try:
        return camera_operation(stations, empty_days, scope.since, scope.until, setup_days)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None


def _deployments(repos: Repos, scope: Scope) -> list[Deployment]:
    if scope.deployment_id is not None:
        one = repos.core.deployments.get(scope.deployment_id)
        return [one] if one is not None else []
    found: list[Deployment] = []
    while True:  # a project has a few hundred at most
        _, page = repos.core.deployments.page(scope.project_id, limit=1000, offset=len(found))
        found += page
        if len(page) < 1000:
            return found


def sightings(
    db: Database, scope: Scope, taxon: Taxon | None, *, paths: bool = True
) -> Iterator[Sighting]:
    """The scope's sightings in the record table's order, streamed from one read; each first
    photo named by its path in the photo exports (``paths``: else no path is read)."""
    stack = ExitStack()
    try:
        # The read's connection is taken (and its first rows read) without the request's
        # time limit, which a whole project's table may pass; the limit is a context
        # variable, set and reset here before the first row is handed on.
        with request_time_limit(None):
            repos = stack.enter_context(db.streaming_read())
            under = repos.ecology.species.under(taxon) if taxon is not None else None
            rows = repos.exports.camtrap.sightings(scope, under, scope.since, scope.until)
            first = next(rows, None)
            # Folders and file names as the photo exports give them (kept apart where two
            # would be one).
            every = _deployments(repos, replace(scope, deployment_id=None))
            folders = deployment_folders((d.id, d.name) for d in every)
            names = FileNames()
            if paths and first is not None:
                names = file_names(repos, NameScope(scope.project_id, scope.deployment_id))
        if first is None:
            return
        for (
            n,
            deployment,
            name,
            taxon_id,
            scientific,
            label,
            seen,
            offset,
            photo_id,
            photo,
        ) in itertools.chain([first], rows):
            folder = folders.get(deployment)
            if folder is None:
                folder = folders[deployment] = safe_folder(name, deployment)
            file_name = names.of(photo_id, deployment, photo or "") if photo_id and paths else ""
            species = scientific or label or ""
            yield Sighting(n, deployment, name, species, taxon_id if scientific else None,
                           seen, offset, folder, file_name)  # fmt: skip
    finally:
        stack.close()
