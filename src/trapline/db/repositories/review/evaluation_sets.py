"""Evaluation sets: freezing a project's identifications (and the box reviews of the same
photos) into stored items, and reading them back photo by photo.

Every read is bounded: identifications are walked in ``FREEZE_ROWS`` at a time by id, photos
in ``chunks``, and items written ``WRITE_ROWS`` to a statement; a set of 100,000 boxes costs a
few hundred statements, never one a box.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from trapline.db.repositories.core.users import USER_NAME
from trapline.db.tables import (
    AnnotationRow,
    EvaluationItemRow,
    EvaluationSetRow,
    IdentificationRow,
    ImageRow,
    OccurrenceDetectionRow,
    ReviewRow,
    TaxonRow,
    UserRow,
)
from trapline.db.types import BIGINT_MAX, chunks
from trapline.domain.ecology.occurrences import no_object
from trapline.domain.ecology.reviews import Verdict
from trapline.evaluation.sets import EvaluationSet, ItemKind, SetItem

#: Identifications read per statement while freezing.
FREEZE_ROWS = 5_000
#: Items written per statement.
WRITE_ROWS = 1_000


@dataclass(frozen=True)
class Scope:
    """What a set freezes: the project's identifications, of a deployment and dates (both
    included, by the photos' capture dates on the camera's clock) when given, and of these
    taxa (ids) and those under them when given."""

    project_id: int
    deployment_id: int | None = None
    since: date | None = None
    until: date | None = None
    taxa: tuple[int, ...] = ()


class EvaluationSetRepo:
    """Evaluation sets and their frozen items."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def create(
        self, scope: Scope, name: str, taxa_names: Sequence[str], user_id: int, at: datetime
    ) -> int:
        row = EvaluationSetRow(
            project_id=scope.project_id, name=name, deployment_id=scope.deployment_id,
            since=scope.since, until=scope.until, taxa=list(taxa_names), size=0, reviewed=0,
            created_by=user_id, created_at=at,
        )  # fmt: skip
        self.session.add(row)
        self.session.flush()
        return row.id

    def named(self, project_id: int, name: str) -> bool:
        """Whether the project has a set of this name."""
        found = select(EvaluationSetRow.id).where(
            EvaluationSetRow.project_id == project_id, EvaluationSetRow.name == name
        )
        return self.session.scalar(found) is not None

    def get(self, set_id: int) -> EvaluationSet | None:
        """One set (None for an id no row can have, as for one no row has)."""
        if not 1 <= set_id <= BIGINT_MAX:
            return None
        found = self._read(EvaluationSetRow.id == set_id)
        return found[0] if found else None

    def of_project(self, project_id: int) -> list[EvaluationSet]:
        """The project's sets, newest first."""
        return self._read(EvaluationSetRow.project_id == project_id)

    def _read(self, where: Any) -> list[EvaluationSet]:
        rows = self.session.execute(
            select(EvaluationSetRow, USER_NAME)
            .outerjoin(UserRow, UserRow.id == EvaluationSetRow.created_by)
            .where(where)
            .order_by(EvaluationSetRow.id.desc())
        )
        return [
            EvaluationSet(
                id=r.id,
                project_id=r.project_id,
                name=r.name,
                deployment_id=r.deployment_id,
                since=r.since,
                until=r.until,
                taxa=tuple(str(t) for t in r.taxa or ()),
                size=r.size,
                reviewed=r.reviewed,
                created_by=user,
                created_at=r.created_at,
            )
            for r, user in rows
        ]

    # -- freezing ---------------------------------------------------------------------------

    def freeze(self, set_id: int, scope: Scope, hidden: Collection[str]) -> tuple[int, int]:
        """Copy the scope's identified boxes into the set, then the reviews of their photos
        (``hidden``: labels mapped as no object, a relabel to which rejects the box): how many
        identified and how many reviewed boxes it holds."""
        latest = self._latest_identifications(scope)
        identified = [
            row for row in latest.values() if _within(row, scope.taxa) and _taken(row, scope)
        ]
        identified.sort(key=lambda row: (row["image_id"], row["identification_id"]))
        for row in identified:
            del row["lineage"], row["place"]
        self._write(set_id, identified)
        photos = sorted({row["image_id"] for row in identified})
        taken = {row["annotation_id"] for row in identified}
        reviewed = self.reviewed_boxes(photos, taken, frozenset(hidden))
        self._write(set_id, reviewed)
        self.session.execute(
            update(EvaluationSetRow)
            .where(EvaluationSetRow.id == set_id)
            .values(size=len(identified), reviewed=len(reviewed))
        )
        return len(identified), len(reviewed)

    def _latest_identifications(self, scope: Scope) -> dict[tuple[str, int], dict[str, Any]]:
        """Per individual (the occurrence holding the detection; else the detection), its
        latest identification not withdrawn, as an item to write (with the taxon's lineage);
        an individual whose latest is a rejection is left out."""
        i, a, t = IdentificationRow, AnnotationRow, TaxonRow
        # The photos' scope is applied to each individual's latest identification, after this
        # read: an occurrence can span two dates (a night), and an older identification on a
        # photo within them must not stand in for a newer one on a photo outside.
        where = [i.project_id == scope.project_id, i.withdrawn.is_(False), a.x1.is_not(None)]
        query = (
            select(
                i.id,
                i.annotation_id,
                i.taxon_id,
                t.scientific_name,
                t.rank,
                t.lineage,
                a.image_id,
                a.x1,
                a.y1,
                a.x2,
                a.y2,
                OccurrenceDetectionRow.occurrence_id,
                ImageRow.deployment_id,
                ImageRow.captured_at,
            )
            .join(a, a.id == i.annotation_id)
            .join(ImageRow, ImageRow.id == a.image_id)
            .outerjoin(t, t.id == i.taxon_id)
            .outerjoin(
                OccurrenceDetectionRow, OccurrenceDetectionRow.annotation_id == i.annotation_id
            )
            .where(*where)
            .order_by(i.id)
            .limit(FREEZE_ROWS)
        )
        latest: dict[tuple[str, int], dict[str, Any] | None] = {}
        after = 0
        while True:
            rows = self.session.execute(query.where(i.id > after)).all()
            for ident, aid, taxon, name, rank, lineage, image, x1, y1, x2, y2, occ, *at in rows:
                key = ("occurrence", int(occ)) if occ is not None else ("detection", int(aid))
                if taxon is None:  # a rejection: the individual is of no taxon, not in the set
                    latest[key] = None
                    continue
                latest[key] = {
                    "image_id": int(image),
                    "kind": ItemKind.IDENTIFIED.value,
                    "x1": x1,
                    "y1": y1,
                    "x2": x2,
                    "y2": y2,
                    "taxon_id": int(taxon),
                    "scientific_name": name,
                    "rank": rank,
                    "annotation_id": int(aid),
                    "identification_id": int(ident),
                    "review_id": None,
                    "lineage": lineage,
                    "place": at,
                }
            if len(rows) < FREEZE_ROWS:
                return {key: item for key, item in latest.items() if item is not None}
            after = int(rows[-1][0])

    def reviewed_boxes(
        self, photos: Sequence[int], taken: Collection[int], hidden: frozenset[str]
    ) -> list[dict[str, Any]]:
        """The boxes people confirmed, rejected (their latest review of a detection) or drew
        on these photos, besides the identified ones (``taken``)."""
        r, a = ReviewRow, AnnotationRow
        latest: dict[int, dict[str, Any]] = {}
        drawn: list[dict[str, Any]] = []
        for chunk in chunks(photos):
            rows = self.session.execute(
                select(
                    r.id,
                    r.annotation_id,
                    r.image_id,
                    r.verdict,
                    r.label,
                    r.x1,
                    r.y1,
                    r.x2,
                    r.y2,
                    a.x1,
                    a.y1,
                    a.x2,
                    a.y2,
                )
                .outerjoin(a, a.id == r.annotation_id)
                .where(r.image_id.in_(chunk))
                .order_by(r.id)
            )
            for rid, aid, image, verdict, label, *boxes in rows:
                own, machine = boxes[:4], boxes[4:]
                if aid is None:
                    if None not in own:
                        drawn.append(_item(image, ItemKind.DRAWN, own, review_id=rid))
                    continue
                if aid in taken or None in machine:
                    continue
                rejects = Verdict(verdict) is Verdict.FALSE_DETECTION or (
                    Verdict(verdict) is Verdict.RELABEL and no_object(label, hidden)
                )
                kind = ItemKind.REJECTED if rejects else ItemKind.CONFIRMED
                latest[int(aid)] = _item(image, kind, machine, review_id=rid, annotation_id=aid)
        return sorted(
            [*latest.values(), *drawn], key=lambda row: (row["image_id"], row["review_id"])
        )

    def _write(self, set_id: int, rows: Sequence[dict[str, Any]]) -> None:
        for start in range(0, len(rows), WRITE_ROWS):
            part = [{"set_id": set_id, **row} for row in rows[start : start + WRITE_ROWS]]
            self.session.execute(insert(EvaluationItemRow), part)

    # -- reading back -----------------------------------------------------------------------

    def photos(self, set_id: int, after: int, limit: int) -> list[int]:
        """The next ``limit`` photos of the set after photo id ``after``, by id."""
        return [
            int(i)
            for i in self.session.scalars(
                select(EvaluationItemRow.image_id)
                .where(EvaluationItemRow.set_id == set_id, EvaluationItemRow.image_id > after)
                .distinct()
                .order_by(EvaluationItemRow.image_id)
                .limit(limit)
            )
        ]

    def items(self, set_id: int, image_ids: Sequence[int]) -> list[SetItem]:
        """The set's items on these photos, by photo."""
        e = EvaluationItemRow
        rows = self.session.execute(
            select(
                e.id, e.image_id, e.kind, e.x1, e.y1, e.x2, e.y2, e.taxon_id, e.scientific_name,
                e.annotation_id, e.identification_id,
            )
            .where(e.set_id == set_id, e.image_id.in_(list(image_ids)))
            .order_by(e.image_id, e.id)
        )  # fmt: skip
        return [
            SetItem(int(i), int(image), ItemKind(kind), (x1, y1, x2, y2), taxon, name, box, ident)
            for i, image, kind, x1, y1, x2, y2, taxon, name, box, ident in rows
        ]


def _taken(row: dict[str, Any], scope: Scope) -> bool:
    """Whether an identification's photo is of the scope's deployment and dates (a photo
    without a capture time is of no dates)."""
    deployment_id, captured_at = row["place"]
    if scope.deployment_id is not None and deployment_id != scope.deployment_id:
        return False
    if scope.since is None and scope.until is None:
        return True
    if captured_at is None:
        return False
    day = captured_at.date()
    return (scope.since is None or scope.since <= day) and (
        scope.until is None or day <= scope.until
    )


def _within(row: dict[str, Any], taxa: tuple[int, ...]) -> bool:
    """Whether an identification names one of ``taxa`` or a taxon under one (all: none)."""
    if not taxa:
        return True
    lineage = str(row["lineage"] or "/")
    return row["taxon_id"] in taxa or any(f"/{t}/" in lineage for t in taxa)


def _item(
    image_id: int,
    kind: ItemKind,
    box: Sequence[float],
    *,
    review_id: int,
    annotation_id: int | None = None,
) -> dict[str, Any]:
    x1, y1, x2, y2 = box
    return {
        "image_id": int(image_id),
        "kind": kind.value,
        "x1": x1,
        "y1": y1,
        "x2": x2,
        "y2": y2,
        "taxon_id": None,
        "scientific_name": None,
        "rank": None,
        "annotation_id": annotation_id,
        "identification_id": None,
        "review_id": int(review_id),
    }
