"""What camtrapR's tables are made of (docs/analysis.md): each occurrence at its first photo,
walked in the record table's order, and the days each deployment has photos on."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Date, Select, cast, func, select
from sqlalchemy.orm import Session, aliased

from trapline.db.nights import sql_date
from trapline.db.repositories.ecology.counts import occurrence_terms
from trapline.db.tables import (
    DeploymentRow,
    ImageRow,
    OccurrenceDetectionRow,
    OccurrenceRow,
    TaxonRow,
)
from trapline.domain.ecology.species import Scope

#: Rows fetched from the database at a time while a table streams.
STREAM_ROWS = 2_000

#: A sighting as read: occurrence id, deployment id, deployment name, taxon id, scientific
#: name (None: no taxon), label, first seen (wall clock), its UTC offset, and its first
#: photo's id and file name (None without one).
SightingRow = tuple[
    int, int, str, int | None, str | None, str | None, datetime, int, int | None, str | None
]


class CamtrapRepo:
    """The reads behind the record table, camera operation and detection histories."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def sightings(
        self, scope: Scope, under: Select[Any] | None, since: date | None, until: date | None
    ) -> Iterator[SightingRow]:
        """The scope's determined occurrences (of the taxa ``under`` when given), first seen
        from day ``since`` to day ``until`` (camera's clock, both included), in the record
        table's order: by deployment name, species (scientific name, else label), time, id;
        each with the id and file name of its first photo. Streamed: ``STREAM_ROWS`` at a
        time."""
        o, d, t = OccurrenceRow, DeploymentRow, TaxonRow
        od, i = OccurrenceDetectionRow, ImageRow
        photo = aliased(ImageRow)
        first_photo = (
            select(i.id)
            .join(od, od.image_id == i.id)
            .where(od.occurrence_id == o.id)
            .order_by(i.captured_sort, i.id)
            .limit(1)
            .correlate(o)
            .scalar_subquery()
        )
        species = func.coalesce(t.scientific_name, o.label)
        query = (
            select(
                o.id,
                o.deployment_id,
                d.name,
                o.taxon_id,
                t.scientific_name,
                o.label,
                o.first_seen_at,
                o.first_offset_minutes,
                photo.id,
                photo.filename,
            )
            .join(d, d.id == o.deployment_id)
            .outerjoin(t, t.id == o.taxon_id)
            .outerjoin(photo, photo.id == first_photo)
            .where(*_terms(scope, since, until), species.is_not(None))
            .order_by(d.name, o.deployment_id, species, o.first_seen_at, o.id)
        )
        if under is not None:
            query = query.where(o.taxon_id.in_(under))
        rows = self.session.execute(query.execution_options(yield_per=STREAM_ROWS))
        for row in rows:
            yield (
                int(row[0]), int(row[1]), str(row[2]), row[3], row[4], row[5], row[6],
                int(row[7]), row[8], row[9],
            )  # fmt: skip

    def photo_days(self, project_id: int, deployment_id: int | None) -> dict[int, set[date]]:
        """The days (camera's clock) each deployment of the project (or this one) has photos
        on: one grouped read of the images."""
        i = ImageRow
        day = (
            func.date(func.substr(i.captured_at, 1, 19))
            if self.session.get_bind().dialect.name == "sqlite"
            else cast(i.captured_at, Date)
        )
        terms = [i.project_id == project_id, i.captured_at.is_not(None),
                 i.deployment_id.is_not(None)]  # fmt: skip
        if deployment_id is not None:
            terms.append(i.deployment_id == deployment_id)
        found: dict[int, set[date]] = defaultdict(set)
        for deployment, value in self.session.execute(
            select(i.deployment_id, day).where(*terms).group_by(i.deployment_id, day)
        ):
            found[int(deployment)].add(sql_date(value))
        return found


def _terms(scope: Scope, since: date | None, until: date | None) -> list[ColumnElement[bool]]:
    """The counting scope (as the listings count it), by days rather than nights."""
    o = OccurrenceRow
    terms = occurrence_terms(scope)
    if since is not None:
        terms.append(o.first_seen_at >= datetime.combine(since, time()))
    if until is not None and until < date.max:  # the day after the last would overflow
        terms.append(o.first_seen_at < datetime.combine(until, time()) + timedelta(days=1))
    return terms
