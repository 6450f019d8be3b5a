"""Counting's repository: the tallies every page, count and export reads, kept by the
repository whenever occurrences change, and the pipeline a project counts by.

A tally is per event, pipeline, night first seen, label and taxon: counts never add two
pipelines' individuals. Whatever changes occurrences calls ``untallied`` with their events;
the events are counted again just before the transaction commits, once each however many
changes it made, so no caller has to remember to. Each pipeline's sums over a project's tallies
are kept beside them (``pipeline_tallies``), and so are the sums over events and nights of
each pipeline's tallies by deployment, label and taxon (``label_tallies``), changed by what the
tallies changed by: choosing the pipeline a project counts by reads a few rows, and a count by
label or taxon over all nights (``sums_of``) a row per label. Whatever deletes events calls
``forget_events`` first, as their tallies go with them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    SQLColumnExpression,
    and_,
    case,
    delete,
    func,
    insert,
    literal_column,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from trapline.db.nights import night_of, sql_date
from trapline.db.repositories.ecology.choices import choose_first, pipeline_terms, place_terms
from trapline.db.tables import (
    EventRow,
    ImageEventRow,
    ImageRow,
    LabelTallyRow,
    OccurrenceDetectionRow,
    OccurrenceRow,
    OccurrenceTallyRow,
    PipelineTallyRow,
    ReviewRow,
)
from trapline.db.types import before_commit
from trapline.domain.core.paging import UNKNOWN_CAPTURE_SORT
from trapline.domain.ecology.reviews import ImageCounts
from trapline.domain.ecology.species import Scope

#: Ids in one ``IN`` (under SQLite's bound parameter limit).
_IN_SIZE = 900
#: Where a transaction keeps the events whose tallies are to be counted again.
_UNTALLIED = "trapline.untallied_events"
#: Where it keeps how much each (project, pipeline)'s sums change by.
_CHANGES = "trapline.pipeline_tally_changes"

#: What the kept sums are by: (project, pipeline, deployment, label or "", taxon or 0).
SumKey = tuple[int, str, int, str, int]

_TALLY_COLUMNS = (
    "event_id", "project_id", "deployment_id", "pipeline", "night", "label", "taxon_id",
    "occurrences", "detections",
)  # fmt: skip


def untallied(session: Session, event_ids: Iterable[int]) -> None:
    """These events' occurrences changed: count them again before the transaction commits."""
    before_commit(session, _UNTALLIED, _count_pending).update(event_ids)


def forget_events(session: Session, *terms: ColumnElement[bool]) -> None:
    """The events whose tallies match ``terms`` are about to be deleted (their tallies with
    them): take their sums off their pipelines' and labels' before the transaction commits."""
    gone = _sums(session, *terms)
    sums_change(session, {key: (-o, -d) for key, (o, d) in gone.items()})


def sums_change(session: Session, changes: dict[SumKey, tuple[int, int]]) -> None:
    """Tallies changed by as much as ``changes`` says, by key: change the sums by as much
    before the transaction commits."""
    untallied(session, ())
    pending = session.info.setdefault(_CHANGES, {})
    for key, (occurrences, detections) in changes.items():
        before = pending.get(key, (0, 0))
        pending[key] = (before[0] + occurrences, before[1] + detections)


def tally_events(session: Session, event_ids: Iterable[int]) -> None:
    """Count these events again (``tally``) and change their pipelines' and labels' sums by
    as much."""
    ids = sorted(set(event_ids))
    changes: dict[SumKey, tuple[int, int]] = session.info.pop(_CHANGES, {})
    for part in (ids[i : i + _IN_SIZE] for i in range(0, len(ids), _IN_SIZE)):
        before = _sums(session, OccurrenceTallyRow.event_id.in_(part))
        for event_id in part:
            tally(session, event_id)
        after = _sums(session, OccurrenceTallyRow.event_id.in_(part))
        for key in before.keys() | after.keys():
            old, new = before.get(key, (0, 0)), after.get(key, (0, 0))
            was = changes.get(key, (0, 0))
            changes[key] = (was[0] + new[0] - old[0], was[1] + new[1] - old[1])
    _add_to_sums(session, changes)


def _count_pending(session: Session) -> None:
    tally_events(session, session.info.pop(_UNTALLIED, ()))


def _sums(session: Session, *terms: ColumnElement[bool]) -> dict[SumKey, tuple[int, int]]:
    t = OccurrenceTallyRow
    keys = (t.project_id, t.pipeline, t.deployment_id, t.label, t.taxon_id)
    rows = session.execute(
        select(*keys, func.sum(t.occurrences), func.sum(t.detections)).where(*terms).group_by(*keys)
    )
    found: dict[SumKey, tuple[int, int]] = {}
    for project, pipeline, deployment, label, taxon, occurrences, detections in rows:
        key = (int(project), str(pipeline), int(deployment), label or "", int(taxon or 0))
        was = found.get(key, (0, 0))  # a label of None and one of "" are one key
        found[key] = (was[0] + int(occurrences or 0), was[1] + int(detections or 0))
    return found


def _add_to_sums(session: Session, changes: dict[SumKey, tuple[int, int]]) -> None:
    """Add the changes to the sums by label and, summed, to the pipelines' sums, each in one
    statement that adds to a row or makes it (two first tallies of a key at once add up
    instead of colliding). In key order, last in the transaction: two transactions take the
    rows in one order and hold them only until they commit."""
    by_pipeline: dict[tuple[int, str], tuple[int, int]] = {}
    for (project, pipeline, *_), (occurrences, detections) in changes.items():
        was = by_pipeline.get((project, pipeline), (0, 0))
        by_pipeline[(project, pipeline)] = (was[0] + occurrences, was[1] + detections)
    _upsert(session, PipelineTallyRow, ("project_id", "pipeline"), sorted(by_pipeline.items()))
    _upsert(session, LabelTallyRow, _KEY_COLUMNS, sorted(changes.items()))
    arrived: dict[int, dict[str, int]] = {}
    for (_, pipeline, deployment, *_), (occurrences, detections) in changes.items():
        if occurrences > 0:
            found = arrived.setdefault(deployment, {})
            found[pipeline] = found.get(pipeline, 0) + detections
    choose_first(session, arrived)


_KEY_COLUMNS = ("project_id", "pipeline", "deployment_id", "label", "taxon_id")


def _upsert(
    session: Session,
    table: type[PipelineTallyRow] | type[LabelTallyRow],
    keys: Sequence[str],
    changes: Sequence[tuple[Sequence[Any], tuple[int, int]]],
) -> None:
    rows = [
        dict(zip(keys, key, strict=True), occurrences=occurrences, detections=detections)
        for key, (occurrences, detections) in changes
        if occurrences or detections
    ]
    if not rows:
        return
    factory = (
        postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    )
    added = factory(table)
    session.execute(
        added.on_conflict_do_update(
            index_elements=list(keys),
            set_={
                "occurrences": table.occurrences + added.excluded.occurrences,
                "detections": table.detections + added.excluded.detections,
            },
        ),
        rows,
    )


def tally(session: Session, event_id: int) -> None:
    """Count an event's occurrences (and their detections) again, by pipeline, night first
    seen, label and taxon: those a person rejected count nowhere."""
    session.execute(delete(OccurrenceTallyRow).where(OccurrenceTallyRow.event_id == event_id))
    night = night_of(session, OccurrenceRow.first_seen_at)
    keys = (
        OccurrenceRow.event_id,
        OccurrenceRow.project_id,
        OccurrenceRow.deployment_id,
        OccurrenceRow.pipeline,
        night,
        OccurrenceRow.label,
        OccurrenceRow.taxon_id,
    )
    counted = (
        select(*keys, func.count(), func.sum(OccurrenceRow.detection_count))
        .where(OccurrenceRow.event_id == event_id, OccurrenceRow.rejected.is_(None))
        .group_by(*keys)
    )
    session.execute(insert(OccurrenceTallyRow).from_select(_TALLY_COLUMNS, counted))


def tally_terms(scope: Scope, *, within_event: bool = False) -> list[ColumnElement[bool]]:
    """The tallies a scope counts: its project's, of its pipeline, deployment and nights,
    without the labels mapped as no object (``within_event``: ``place_terms``)."""
    t = OccurrenceTallyRow
    terms = place_terms(scope, t.project_id, t.deployment_id, within_event)
    terms += pipeline_terms(scope, t.pipeline, t.deployment_id)
    if scope.since is not None:
        terms.append(t.night >= scope.since)
    if scope.until is not None:
        terms.append(t.night <= scope.until)
    if scope.hidden_labels:
        terms.append(t.label.is_(None) | t.label.not_in(scope.hidden_labels))
    return terms


@dataclass(frozen=True)
class Sums:
    """Where a scope's counts by deployment, label and taxon are read, column by column, and
    the terms that pick its rows: the kept sums when the scope spans every night, else the
    tallies (no label and no taxon are None in both)."""

    deployment_id: SQLColumnExpression[int]
    label: SQLColumnExpression[str | None]
    taxon_id: SQLColumnExpression[int | None]
    occurrences: SQLColumnExpression[int]
    detections: SQLColumnExpression[int]
    terms: list[ColumnElement[bool]]


def sums_of(scope: Scope) -> Sums:
    """The rows to count a scope's occurrences by deployment, label or taxon from."""
    if scope.since is not None or scope.until is not None:
        t = OccurrenceTallyRow
        return Sums(t.deployment_id, t.label, t.taxon_id, t.occurrences, t.detections,
                    tally_terms(scope))  # fmt: skip
    k = LabelTallyRow
    terms = [
        k.project_id == scope.project_id,
        k.occurrences > 0,
        *pipeline_terms(scope, k.pipeline, k.deployment_id),
    ]
    if scope.deployment_id is not None:
        terms.append(k.deployment_id == scope.deployment_id)
    if scope.hidden_labels:
        terms.append(k.label.not_in(scope.hidden_labels))
    # Literals, not parameters: PostgreSQL groups by an expression only when it is the same.
    label = func.nullif(k.label, literal_column("''"))
    taxon = func.nullif(k.taxon_id, literal_column("0"))
    return Sums(k.deployment_id, label, taxon, k.occurrences, k.detections, terms)


def occurrence_terms(scope: Scope, *, within_event: bool = False) -> list[ColumnElement[bool]]:
    """The occurrences a scope counts, but for its nights (which its readers bound each in
    their own way): its project's, of its pipeline and deployment, without the labels mapped
    as no object and those a person rejected (``within_event``: ``place_terms``)."""
    o = OccurrenceRow
    terms = place_terms(scope, o.project_id, o.deployment_id, within_event)
    terms += [o.rejected.is_(None), *pipeline_terms(scope, o.pipeline, o.deployment_id)]
    if scope.hidden_labels:
        terms.append(o.label.is_(None) | o.label.not_in(scope.hidden_labels))
    return terms


class CountRepo:
    """Counts read from the tallies, and the pipelines tracked in a project."""

    def __init__(self, session: Session) -> None:
        self.session = session
        #: ``pipelines`` by project, read once a transaction (tallies change only as it
        #: commits).
        self._pipelines: dict[int, list[tuple[str, int, int]]] = {}

    def pipelines(self, project_id: int) -> list[tuple[str, int, int]]:
        """The pipelines with occurrences in the project: (pipeline, occurrences,
        detections), most detections first."""
        if project_id not in self._pipelines:
            self._pipelines[project_id] = self._read_pipelines(project_id)
        return self._pipelines[project_id]

    def _read_pipelines(self, project_id: int) -> list[tuple[str, int, int]]:
        p = PipelineTallyRow
        rows = self.session.execute(
            select(p.pipeline, p.occurrences, p.detections)
            .where(p.project_id == project_id, p.occurrences > 0)
            .order_by(p.detections.desc(), p.pipeline)
        )
        return [(str(name), int(n), int(d)) for name, n, d in rows]

    def per_label(self, scope: Scope, limit: int | None = None) -> list[tuple[str | None, int]]:
        """The determinations' labels in the scope, most occurrences first."""
        s = sums_of(scope)
        total = func.sum(s.occurrences)
        query = (
            select(s.label, total).where(*s.terms).group_by(s.label).order_by(total.desc(), s.label)
        )
        rows = self.session.execute(query if limit is None else query.limit(limit))
        return [(label, int(n)) for label, n in rows]

    def label_sums(self, scope: Scope) -> list[tuple[str | None, int, int]]:
        """Every determination's label in the scope with its occurrences and their tracked
        detections (one grouped read, in label order)."""
        s = sums_of(scope)
        rows = self.session.execute(
            select(s.label, func.sum(s.occurrences), func.sum(s.detections))
            .where(*s.terms)
            .group_by(s.label)
        )
        return [(label, int(n), int(d or 0)) for label, n, d in rows]

    def labels(
        self, project_id: int, counting: Scope | None = None
    ) -> list[tuple[str | None, int]]:
        """Every label of the project's occurrences, whichever pipeline gave it, with how many
        occurrences of those ``counting`` counts (None: of every pipeline) carry it (most
        first): what the labels page maps."""
        s, k = sums_of(Scope(project_id)), LabelTallyRow
        kept = [] if counting is None else pipeline_terms(counting, k.pipeline, k.deployment_id)
        counted: Any = case((and_(*kept), k.occurrences), else_=0) if kept else k.occurrences
        total = func.sum(counted)
        rows = self.session.execute(
            select(s.label, total).where(*s.terms).group_by(s.label).order_by(total.desc(), s.label)
        )
        return [(label, int(n)) for label, n in rows]

    def per_event(
        self, scope: Scope, event_ids: Sequence[int]
    ) -> list[tuple[int, int | None, str | None, int]]:
        """The occurrences in the scope of these events per event, taxon and label: (event,
        taxon, label, occurrences), one grouped read of their tallies."""
        t = OccurrenceTallyRow
        ids, found = list(event_ids), []
        for start in range(0, len(ids), _IN_SIZE):
            chunk = ids[start : start + _IN_SIZE]
            rows = self.session.execute(
                select(t.event_id, t.taxon_id, t.label, func.sum(t.occurrences))
                .where(*tally_terms(scope, within_event=True), t.event_id.in_(chunk))
                .group_by(t.event_id, t.taxon_id, t.label)
            )
            found += [(int(e), taxon, label, int(n)) for e, taxon, label, n in rows]
        return found

    def per_night(self, scope: Scope) -> dict[date, tuple[int, int]]:
        """Occurrences and their detections in the scope per night the occurrences were
        first seen in."""
        t = OccurrenceTallyRow
        rows = self.session.execute(
            select(t.night, func.sum(t.occurrences), func.sum(t.detections))
            .where(*tally_terms(scope))
            .group_by(t.night)
        )
        return {sql_date(day): (int(n), int(d or 0)) for day, n, d in rows}

    def tracked_per_image(
        self, image_ids: Sequence[int], counting: Scope
    ) -> dict[int, ImageCounts]:
        """For those of these photos whose event is tracked up to date: the detections of
        the pipeline ``counting`` counts that its occurrences hold on each (not those of an
        occurrence a person rejected), how many of them a person reviewed, and how many of
        those occurrences a person identified (photos with none are 0)."""
        tracked = select(ImageEventRow.image_id).where(
            ImageEventRow.image_id.in_(list(image_ids)),
            ImageEventRow.event_id == EventRow.id,
            EventRow.tracked_version >= EventRow.tracking_version,
        )
        found = {int(i): ImageCounts(0, 0) for i in self.session.scalars(tracked)}
        if not found:
            return {}
        reviewed = select(ReviewRow.id).where(
            ReviewRow.annotation_id == OccurrenceDetectionRow.annotation_id
        )
        identified = case((OccurrenceRow.identified_by.is_not(None), OccurrenceRow.id))
        rows = self.session.execute(
            select(
                OccurrenceDetectionRow.image_id,
                func.count(),
                func.sum(case((reviewed.exists(), 1), else_=0)),
                func.count(func.distinct(identified)),
            )
            .join(OccurrenceRow, OccurrenceRow.id == OccurrenceDetectionRow.occurrence_id)
            .where(
                OccurrenceDetectionRow.image_id.in_(list(found)),
                OccurrenceRow.rejected.is_(None),
                *pipeline_terms(counting, OccurrenceRow.pipeline, OccurrenceRow.deployment_id),
            )
            .group_by(OccurrenceDetectionRow.image_id)
        )
        for image_id, n, k, people in rows:
            found[int(image_id)] = ImageCounts(int(n), int(k or 0), identified=int(people or 0))
        return found

    def images_per_night(
        self, project_id: int, deployment_id: int, span: tuple[datetime, datetime]
    ) -> list[tuple[date, int]]:
        """A deployment's photos taken within a wall-clock span (its end excluded) per night,
        oldest first (one grouped read of their capture times from the index of their sort
        keys: ``captured_sort`` is the capture time where there is one, so no photo's row is
        read)."""
        day = night_of(self.session, ImageRow.captured_sort)
        query = (
            select(day, func.count())
            .where(
                ImageRow.project_id == project_id,
                ImageRow.deployment_id == deployment_id,
                ImageRow.captured_sort >= span[0],
                ImageRow.captured_sort < min(span[1], UNKNOWN_CAPTURE_SORT),
            )
            .group_by(day)
            .order_by(day)
        )
        return [(sql_date(d), int(n)) for d, n in self.session.execute(query)]

    def dated(
        self,
        project_id: int,
        deployment_id: int,
        *,
        before: datetime = UNKNOWN_CAPTURE_SORT,
        after: datetime | None = None,
    ) -> datetime | None:
        """The wall-clock time of a deployment's latest dated photo taken before ``before``
        or, given ``after``, of its earliest from then on (one probe of the index of capture
        times)."""
        taken = ImageRow.captured_sort
        query = select(taken).where(
            ImageRow.project_id == project_id,
            ImageRow.deployment_id == deployment_id,
            taken < before,
        )
        if after is not None:
            return self.session.scalar(query.where(taken >= after).order_by(taken).limit(1))
        return self.session.scalar(query.order_by(taken.desc()).limit(1))

    def total(self, scope: Scope) -> tuple[int, int]:
        """Occurrences and their detections in the scope."""
        s = sums_of(scope)
        found = self.session.execute(
            select(func.sum(s.occurrences), func.sum(s.detections)).where(*s.terms)
        ).one()
        return int(found[0] or 0), int(found[1] or 0)
