"""What a grouping reads: the individuals (occurrences) of a scope nobody identified, their
detections, and the feature vectors one pipeline posted with them.

An individual is unidentified when no person's identification determines it (none made, or
all withdrawn) and nobody rejected it. Only occurrences that count are taken: those of the
pipeline each deployment counts by, without the labels mapped as no object, as every count
takes them. Every read is bounded: occurrences are walked ``OCCURRENCE_ROWS`` at a time by id,
detections and vectors in chunks (``refit_examples.py`` reads the vectors).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from trapline.db.nights import night_of
from trapline.db.repositories.ecology.counts import occurrence_terms
from trapline.db.repositories.review.refit_examples import RefitExampleRepo
from trapline.db.tables import OccurrenceDetectionRow, OccurrenceRow
from trapline.db.types import chunks
from trapline.domain.ecology.species import Scope
from trapline.evaluation.heads import Ids

#: Occurrences read per statement.
OCCURRENCE_ROWS = 10_000


@dataclass(frozen=True, eq=False)
class UnidentifiedFeatures:
    """The unidentified individuals with a vector of the pipeline (``individuals``: their
    occurrence ids, in order), and their detections that carry one, one a row: the
    annotation holding the vector, its individual (an index into ``individuals``), the
    pipeline's version and the vector's length."""

    individuals: Ids
    sources: Ids
    owners: Ids
    versions: Ids
    lengths: Ids


class UnidentifiedRepo:
    """The unidentified individuals of a scope and their feature vectors."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def occurrences(self, scope: Scope) -> list[int]:
        """The scope's counted occurrences nobody identified or rejected, by id."""
        if scope.counts_nothing:
            return []
        o = OccurrenceRow
        terms = [*occurrence_terms(scope), o.identified_by.is_(None)]
        night = night_of(self.session, o.first_seen_at)
        dialect = self.session.get_bind().dialect.name
        for bound, keep in ((scope.since, night.__ge__), (scope.until, night.__le__)):
            if bound is not None:
                terms.append(keep(bound.isoformat() if dialect == "sqlite" else bound))
        query = select(o.id).where(*terms).order_by(o.id).limit(OCCURRENCE_ROWS)
        found: list[int] = []
        while True:
            after = found[-1] if found else 0
            rows = [int(i) for i in self.session.scalars(query.where(o.id > after))]
            found += rows
            if len(rows) < OCCURRENCE_ROWS:
                return found

    def features(
        self, occurrences: list[int], slug: str, version: int | None
    ) -> UnidentifiedFeatures:
        """The detections of ``occurrences`` with a vector posted by the pipeline ``slug`` (of
        ``version`` only, when given), and the occurrences that have one."""
        owner: dict[int, int] = {}
        od = OccurrenceDetectionRow
        for chunk in chunks(occurrences):
            rows = self.session.execute(
                select(od.annotation_id, od.occurrence_id).where(od.occurrence_id.in_(chunk))
            )
            owner.update((int(a), int(o)) for a, o in rows)
        sources = RefitExampleRepo(self.session).vector_sources(sorted(owner), slug, version)
        kept = sorted(sources)
        individuals = np.unique(np.asarray([owner[d] for d in kept], dtype=np.int64))
        index = {int(o): n for n, o in enumerate(individuals.tolist())}
        columns = [
            [sources[d][0] for d in kept],
            [index[owner[d]] for d in kept],
            [sources[d][1] for d in kept],
            [sources[d][2] for d in kept],
        ]
        return UnidentifiedFeatures(individuals, *(np.asarray(c, dtype=np.int64) for c in columns))
