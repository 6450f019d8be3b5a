"""What the species view counts: occurrences and detections per taxon, read from the
occurrence tallies (kept with the occurrences, so a project of millions of photos is counted
over its tallies, not its detections), and a taxon's occurrences over nights and hours."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session

from trapline.db.nights import hour_of, night_of, sql_date
from trapline.db.repositories.ecology.choices import pipeline_terms
from trapline.db.repositories.ecology.counts import occurrence_terms, sums_of, tally_terms
from trapline.db.repositories.ecology.occurrences import to_occurrence
from trapline.db.repositories.taxa.taxa import to_taxon
from trapline.db.tables import OccurrenceRow, OccurrenceTallyRow, TaxonRow
from trapline.db.types import chunks
from trapline.domain.ecology.occurrences import Occurrence
from trapline.domain.ecology.species import Scope, SpeciesCount, TaxonTally
from trapline.domain.taxa.taxa import Rank, Taxon


class SpeciesRepo:
    """Counts per taxon, and a taxon's occurrences."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def tallies(self, scope: Scope, under: Select[Any] | None = None) -> list[TaxonTally]:
        """Per taxon (None: no taxon) and deployment: occurrences, detections, and the first
        and last night (``under``: of these taxa only, a query of their ids)."""
        t = OccurrenceTallyRow
        terms = tally_terms(scope)
        if under is not None:
            terms.append(t.taxon_id.in_(under))
        rows = self.session.execute(
            select(
                t.taxon_id,
                t.deployment_id,
                func.sum(t.occurrences),
                func.sum(t.detections),
                func.min(t.night),
                func.max(t.night),
            )
            .where(*terms)
            .group_by(t.taxon_id, t.deployment_id)
        )
        return [
            TaxonTally(
                int(taxon) if taxon is not None else None,
                int(deployment),
                int(n),
                int(d or 0),
                sql_date(first),
                sql_date(last),
            )
            for taxon, deployment, n, d, first, last in rows
        ]

    def counted(self, scope: Scope, limit: int, offset: int) -> tuple[int, list[SpeciesCount]]:
        """The species view's rows without rolling up, counted and ordered by the database
        (most occurrences first, then by name; the occurrences that name no taxon of the
        list last, in one row): how many rows there are, and those from ``offset`` on, at
        most ``limit``, without their best crop."""
        s = sums_of(scope)
        # By taxon and deployment first (a row per label and deployment over all nights),
        # then by taxon: the taxa's names are joined to the (taxon, deployment) rows, and a
        # deployment counted once per taxon over those few rows. A taxon gone from the list
        # joins no name and falls in the row of occurrences that name no taxon, as a tally
        # without one does. The first and last nights are read for the page's rows only.
        by_deployment = (
            select(
                s.taxon_id.label("taxon"),
                s.deployment_id.label("deployment"),
                func.sum(s.occurrences).label("n"),
                func.sum(s.detections).label("d"),
            )
            .where(*s.terms)
            .group_by(s.taxon_id, s.deployment_id)
            .subquery()
        )
        c = by_deployment.c
        grouped = (
            select(
                TaxonRow.id.label("taxon"),
                TaxonRow.scientific_name.label("name"),
                func.sum(c.n).label("n"),
                func.sum(c.d).label("d"),
                func.count(c.deployment.distinct()).label("deployments"),
            )
            .select_from(by_deployment)
            .outerjoin(TaxonRow, TaxonRow.id == c.taxon)
            .group_by(TaxonRow.id, TaxonRow.scientific_name)
            .subquery()
        )
        g = grouped.c
        # The number of rows comes with each row (a window over the grouped rows, counted
        # before the page is cut): one grouped read, not two, but past the end.
        found = list(
            self.session.execute(
                select(g.taxon, g.n, g.d, g.deployments, func.count().over())
                .order_by(g.taxon.is_(None), g.n.desc(), g.name, g.taxon)
                .offset(offset)
                .limit(limit)
            )
        )
        rows = [r[:-1] for r in found]
        if found:
            total = found[0][-1]
        elif offset:
            total = self.session.scalar(select(func.count()).select_from(grouped))
        else:
            total = 0
        wanted = [int(r[0]) for r in rows if r[0] is not None]
        taxa = {
            r.id: to_taxon(r)
            for r in (
                self.session.scalars(select(TaxonRow).where(TaxonRow.id.in_(wanted)))
                if wanted
                else ()
            )
        }
        nights = self._nights(scope, wanted, any(r[0] is None for r in rows))
        return int(total or 0), [
            SpeciesCount(
                taxon=taxa[int(taxon)] if taxon is not None else None,
                occurrences=int(n),
                detections=int(d or 0),
                deployments=int(deployments),
                first_night=nights.get(taxon, (None, None))[0],
                last_night=nights.get(taxon, (None, None))[1],
                members=(int(taxon),) if taxon is not None else (),
            )
            for taxon, n, d, deployments in rows
        ]

    def _nights(
        self, scope: Scope, taxon_ids: Sequence[int], nameless: bool
    ) -> dict[int | None, tuple[date, date]]:
        """The first and last night of each of these taxa in the scope (None, when
        ``nameless``: of the occurrences that name no taxon of the list): each the end of a
        range of the tallies' index by taxon and night, not a read of the taxon's tallies."""
        t = OccurrenceTallyRow
        terms = tally_terms(scope)
        found: dict[int | None, tuple[date, date]] = {}
        for part in chunks(list(taxon_ids)):

            def edge(end: Any) -> Any:
                return select(end(t.night)).where(*terms, t.taxon_id == TaxonRow.id)

            rows = self.session.execute(
                select(TaxonRow.id, edge(func.min).scalar_subquery(),
                       edge(func.max).scalar_subquery()).where(TaxonRow.id.in_(part))
            )  # fmt: skip
            found.update({int(i): (sql_date(a), sql_date(b)) for i, a, b in rows if a is not None})
        if nameless:
            # No taxon, or one gone from the list (a few, found among the scope's sums).
            sums = sums_of(scope)
            named = select(TaxonRow.id).where(TaxonRow.id == sums.taxon_id).exists()
            gone = self.session.scalars(
                select(sums.taxon_id)
                .distinct()
                .where(*sums.terms, sums.taxon_id.is_not(None), ~named)
            )
            ends = [
                self.session.execute(
                    select(func.min(t.night), func.max(t.night)).where(*terms, matches)
                ).one()
                for matches in [t.taxon_id.is_(None), *(t.taxon_id == i for i in gone)]
            ]
            firsts = [sql_date(a) for a, _ in ends if a is not None]
            if firsts:
                found[None] = (min(firsts), max(sql_date(b) for _, b in ends if b is not None))
        return found

    def best(
        self, scope: Scope, taxon_ids: Sequence[int]
    ) -> dict[int, tuple[int, int, float | None]]:
        """Per taxon of these that has occurrences: its most confident one (its crop shows the
        taxon), else its first (a person's, which has no score), as (occurrence id, best
        annotation id, score). One index lookup per taxon, all in one statement."""
        o = OccurrenceRow
        terms = [
            o.project_id == scope.project_id,
            o.taxon_id == TaxonRow.id,
            *pipeline_terms(scope, o.pipeline, o.deployment_id),
        ]
        if scope.deployment_id is not None:
            terms.append(o.deployment_id == scope.deployment_id)
        surest = (
            select(o.id)
            .where(*terms, o.score.is_not(None))
            .order_by(o.score.desc(), o.id)
            .limit(1)
            .scalar_subquery()
        )
        first = select(o.id).where(*terms).order_by(o.id).limit(1).scalar_subquery()
        chosen: dict[int, int] = {}
        for part in chunks(list(taxon_ids)):
            rows = self.session.execute(
                select(TaxonRow.id, func.coalesce(surest, first)).where(TaxonRow.id.in_(part))
            )
            chosen.update({int(t): int(found) for t, found in rows if found is not None})
        found_by_id: dict[int, tuple[int, int, float | None]] = {}
        for part in chunks(sorted(set(chosen.values()))):
            for oid, annotation, score in self.session.execute(
                select(o.id, o.best_annotation_id, o.score).where(o.id.in_(part))
            ):
                found_by_id[int(oid)] = (int(oid), int(annotation), score)
        return {t: found_by_id[oid] for t, oid in chosen.items() if oid in found_by_id}

    def per_night(self, scope: Scope, taxon_ids: Sequence[int]) -> list[tuple[date, int]]:
        """Occurrences of these taxa per night first seen, in night order (from tallies).
        Summed here: grouped by night, the database read the night index, every tally of the
        pipeline, rather than the taxa's in the index by taxon."""
        t = OccurrenceTallyRow
        rows = self.session.execute(
            select(t.night, t.occurrences).where(
                *tally_terms(scope), t.taxon_id.in_(list(taxon_ids))
            )
        )
        found: dict[Any, int] = defaultdict(int)
        for night, n in rows:
            found[night] += n
        return [(sql_date(night), n) for night, n in sorted(found.items())]

    def per_deployment(self, scope: Scope, taxon_ids: Sequence[int]) -> list[tuple[int, int]]:
        """Occurrences of these taxa per deployment (from tallies), most first."""
        t = OccurrenceTallyRow
        total = func.sum(t.occurrences)
        rows = self.session.execute(
            select(t.deployment_id, total)
            .where(*tally_terms(scope), t.taxon_id.in_(list(taxon_ids)))
            .group_by(t.deployment_id)
            .order_by(total.desc(), t.deployment_id)
        )
        return [(int(d), int(n)) for d, n in rows]

    def per_hour(self, scope: Scope, taxon_ids: Sequence[int]) -> dict[int, int]:
        """Occurrences of these taxa by the hour (local wall clock) they were first seen."""
        o = OccurrenceRow
        hour = hour_of(self.session, o.first_seen_at)
        rows = self.session.execute(
            select(hour, func.count())
            .where(*_occurrence_terms(self.session, scope), o.taxon_id.in_(list(taxon_ids)))
            .group_by(hour)
        )
        return {int(h): int(n) for h, n in rows}

    def recent(self, scope: Scope, taxon_ids: Sequence[int], limit: int) -> list[Occurrence]:
        """The latest occurrences of these taxa, the latest first (the latest of each taxon
        from its index, then merged)."""
        o = OccurrenceRow
        found: list[OccurrenceRow] = []
        for taxon_id in taxon_ids:
            found += self.session.scalars(
                select(o)
                .where(*_occurrence_terms(self.session, scope), o.taxon_id == taxon_id)
                .order_by(o.first_seen_at.desc(), o.id.desc())
                .limit(limit)
            )
        found.sort(key=lambda r: (r.first_seen_at, r.id), reverse=True)
        return [to_occurrence(r) for r in found[:limit]]

    def outlines(self, taxon_ids: Iterable[int]) -> dict[int, Taxon]:
        """These taxa with what ordering and rolling up read (names, ranks, lineages), not
        their vernacular names or ids elsewhere: one column read, no objects per row."""
        t = TaxonRow
        found: dict[int, Taxon] = {}
        for part in chunks(sorted(set(taxon_ids))):
            rows = self.session.execute(
                select(t.id, t.list_id, t.scientific_name, t.rank, t.parent_id, t.lineage).where(
                    t.id.in_(part)
                )
            )
            for taxon_id, list_id, name, rank, parent_id, lineage in rows:
                path = tuple(int(i) for i in str(lineage or "").strip("/").split("/") if i)
                found[int(taxon_id)] = Taxon(
                    int(taxon_id), int(list_id), name, Rank(rank), parent_id, path
                )
        return found

    def under(self, taxon: Taxon) -> Select[Any]:
        """The ids of a taxon and of every taxon under it in its list: a range of the
        lineages' index."""
        prefix = "/" + "".join(f"{i}/" for i in (*taxon.lineage, taxon.id))
        return select(TaxonRow.id).where(
            TaxonRow.list_id == taxon.list_id,
            (TaxonRow.id == taxon.id)
            | ((TaxonRow.lineage >= prefix) & (TaxonRow.lineage < prefix + "\uffff")),
        )


def _occurrence_terms(session: Session, scope: Scope) -> list[ColumnElement[bool]]:
    o = OccurrenceRow
    terms = occurrence_terms(scope)
    night = night_of(session, o.first_seen_at)
    if scope.since is not None:
        terms.append(night >= _sql_date(session, scope.since))
    if scope.until is not None:
        terms.append(night <= _sql_date(session, scope.until))
    return terms


def _sql_date(session: Session, day: date) -> Any:
    """A night as ``night_of`` gives it in this dialect (SQLite's ``date()`` is text)."""
    return day.isoformat() if session.get_bind().dialect.name == "sqlite" else day
