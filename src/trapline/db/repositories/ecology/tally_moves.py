"""One occurrence counted under another label or taxon, or no longer counted or counted again
(an identification, a rejection, a withdrawn one): its event's tallies and the kept sums change
by one occurrence, a row or two of each, however many occurrences the event holds. Counting the
event again would read all of them: thousands on a crowded night, for each identification a
person makes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from trapline.db.nights import night_of, sql_date
from trapline.db.repositories.ecology.counts import SumKey, sums_change
from trapline.db.tables import OccurrenceRow, OccurrenceTallyRow
from trapline.db.types import affected


@dataclass(frozen=True)
class Counted:
    """Where an occurrence is counted: its tally row's key, and its detections."""

    event_id: int
    project_id: int
    deployment_id: int
    pipeline: str
    night: date
    label: str | None
    taxon_id: int | None
    detections: int

    def sum_key(self) -> SumKey:
        return (self.project_id, self.pipeline, self.deployment_id, self.label or "",
                self.taxon_id or 0)  # fmt: skip


def counted(session: Session, occurrence_id: int) -> Counted | None:
    """Where the occurrence is counted now; None when it is counted nowhere (a person rejected
    it) or gone."""
    o = OccurrenceRow
    row = session.execute(
        select(o.event_id, o.project_id, o.deployment_id, o.pipeline,
               night_of(session, o.first_seen_at), o.label, o.taxon_id, o.detection_count)
        .where(o.id == occurrence_id, o.rejected.is_(None))
    ).first()  # fmt: skip
    if row is None:
        return None
    event, project, deployment, pipeline, night, label, taxon, detections = row
    return Counted(int(event), int(project), int(deployment), str(pipeline), sql_date(night),
                   label, None if taxon is None else int(taxon), int(detections or 0))  # fmt: skip


def move(session: Session, was: Counted | None, now: Counted | None) -> None:
    """The occurrence counted at ``was`` is counted at ``now`` (None: nowhere): one off the one
    tally, one onto the other, and the sums by as much as the tallies changed. A tally not
    counted yet (its event is counted again at commit anyway) loses nothing, and its sums stay
    as they are, so the event's count at commit still changes them by the rest."""
    if was == now:
        return
    changes: dict[SumKey, tuple[int, int]] = {}
    if was is not None and _add(session, was, -1):
        changes[was.sum_key()] = (-1, -was.detections)
    if now is not None:
        _add(session, now, 1)
        key = now.sum_key()
        before = changes.get(key, (0, 0))
        changes[key] = (before[0] + 1, before[1] + now.detections)
    sums_change(session, changes)


def _add(session: Session, place: Counted, occurrences: int) -> bool:
    """Add ``occurrences`` (one or minus one) to the place's tally, made when adding to one
    there is none of; False when there was none to take from."""
    t = OccurrenceTallyRow
    key = (
        t.event_id == place.event_id,
        t.pipeline == place.pipeline,
        t.night == place.night,
        t.label.is_not_distinct_from(place.label),
        t.taxon_id.is_not_distinct_from(place.taxon_id),
    )
    changed = affected(session.execute(
        update(t)
        .where(*key)
        .values(occurrences=t.occurrences + occurrences,
                detections=t.detections + occurrences * place.detections)
        .execution_options(synchronize_session=False)
    ))  # fmt: skip
    if changed:
        session.execute(delete(t).where(*key, t.occurrences <= 0))
        return True
    if occurrences > 0:
        session.execute(
            insert(t).values(
                event_id=place.event_id, project_id=place.project_id,
                deployment_id=place.deployment_id, pipeline=place.pipeline, night=place.night,
                label=place.label, taxon_id=place.taxon_id, occurrences=occurrences,
                detections=occurrences * place.detections,
            )
        )  # fmt: skip
    return False
