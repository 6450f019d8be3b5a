"""What a regrouping hands over from its old events to the new ones, and the occurrences it
parts: one individual whose detections now lie in several events.

A regrouping moves each occurrence of its old events to the new event holding most of its
detections; the detections it holds in other events are let go of, so that tracking each of those
events makes them an occurrence of its own there. The occurrence keeps its id where most of it is
(the re-run rule of ``domain/ecology/succession.py``), and people's identifications belong to the
individual: each part that lacks one gets a copy on one of its detections. What could not be kept is
described, one line an occurrence.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session

from trapline.db.repositories.ecology.counts import forget_events, untallied
from trapline.db.tables import (
    EventRow,
    IdentificationRow,
    ImageEventRow,
    ImageRow,
    OccurrenceDetectionRow,
    OccurrenceRow,
    OccurrenceTallyRow,
)
from trapline.db.types import chunks

#: The columns of an identification its copy repeats (all but its id, detection and occurrence).
_COPIED = (
    IdentificationRow.project_id,
    IdentificationRow.taxon_id,
    IdentificationRow.rejected,
    IdentificationRow.agreed_with,
    IdentificationRow.comment,
    IdentificationRow.user_id,
    IdentificationRow.withdrawn,
    IdentificationRow.created_at,
)

#: What makes one person's word: an identification and the copies partings made of it (onto
#: the parts of an individual tracking parted) have all of these alike.
WORD = (
    IdentificationRow.project_id,
    IdentificationRow.user_id,
    IdentificationRow.taxon_id,
    IdentificationRow.rejected,
    IdentificationRow.agreed_with,
    IdentificationRow.comment,
    IdentificationRow.created_at,
)


def hand_over(session: Session, deployment_id: int, old: list[Any]) -> list[str]:
    """The old events of a regrouping go once their photos point at the new ones, keeping
    what people rely on: their occurrences first move to the new event holding most of
    their detections, where tracking finds them and hands their ids and a reviewer's
    splits on (``track_event``); the detections one holds in other events leave it
    (``part_occurrences``). What could not be kept, one line an occurrence. (An old event a
    group holds whole, with no photo of another event, stayed: ``grouping_sql.KEEP``.)"""
    old_ids = list(session.scalars(select(EventRow.id).where(*old)))
    # A photo moved away or no longer dated still points at its old event until then.
    kept: set[int] = set()
    for part in chunks(old_ids):
        kept.update(
            session.scalars(
                select(ImageEventRow.event_id)
                .join(ImageRow, ImageRow.id == ImageEventRow.image_id)
                .where(
                    ImageEventRow.event_id.in_(part),
                    ImageRow.deployment_id == deployment_id,
                    ImageRow.captured_at.is_not(None),
                )
                .distinct()
            )
        )
    holder = (
        select(ImageEventRow.event_id)
        .select_from(OccurrenceDetectionRow)
        .join(ImageEventRow, ImageEventRow.image_id == OccurrenceDetectionRow.image_id)
        .where(OccurrenceDetectionRow.occurrence_id == OccurrenceRow.id)
        .group_by(ImageEventRow.event_id)
        .order_by(func.count().desc(), ImageEventRow.event_id)
        .limit(1)
        .scalar_subquery()
    )
    not_kept = []
    for part in chunks([i for i in old_ids if i not in kept]):
        # The events first, as a tracking holds its event before it writes occurrences
        # (``OccurrenceRepo.hold``): the other order deadlocks with one.
        session.execute(
            select(EventRow.id).where(EventRow.id.in_(part)).order_by(EventRow.id).with_for_update()
        ).all()
        moved = list(
            session.scalars(
                select(OccurrenceRow.id).where(
                    OccurrenceRow.event_id.in_(part), holder.is_not(None)
                )
            )
        )
        session.execute(
            update(OccurrenceRow)
            .where(OccurrenceRow.event_id.in_(part), holder.is_not(None))
            .values(event_id=holder)
            .execution_options(synchronize_session=False)
        )
        _follow_events(session, moved)
        not_kept += part_occurrences(session, moved)
        forget_events(session, OccurrenceTallyRow.event_id.in_(part))
        session.execute(delete(EventRow).where(EventRow.id.in_(part)))
    return not_kept


def _follow_events(session: Session, occurrence_ids: Sequence[int]) -> None:
    """Occurrences just handed on are counted in their new events, and those whose photos
    moved to another deployment (``EventRepo.leave_moved``) are of that deployment now."""
    theirs = (
        select(EventRow.deployment_id)
        .where(EventRow.id == OccurrenceRow.event_id)
        .scalar_subquery()
    )
    for part in chunks(occurrence_ids):
        session.execute(
            update(OccurrenceRow)
            .where(OccurrenceRow.id.in_(part), OccurrenceRow.deployment_id != theirs)
            .values(deployment_id=theirs)
            .execution_options(synchronize_session=False)
        )
        untallied(
            session,
            session.scalars(
                select(OccurrenceRow.event_id).where(OccurrenceRow.id.in_(part)).distinct()
            ),
        )


def part_occurrences(session: Session, occurrence_ids: Sequence[int]) -> list[str]:
    """Let these occurrences (just moved to their new events) go of the detections they hold
    in other events, copying their identifications to each part; what could not be kept."""
    strays: dict[int, dict[int, list[int]]] = defaultdict(lambda: defaultdict(list))
    edited: set[int] = set()
    for part in chunks(occurrence_ids):
        rows = session.execute(
            select(
                OccurrenceDetectionRow.occurrence_id,
                OccurrenceDetectionRow.annotation_id,
                ImageEventRow.event_id,
                OccurrenceRow.edited,
            )
            .join(OccurrenceRow, OccurrenceRow.id == OccurrenceDetectionRow.occurrence_id)
            .join(ImageEventRow, ImageEventRow.image_id == OccurrenceDetectionRow.image_id)
            .where(
                OccurrenceDetectionRow.occurrence_id.in_(part),
                ImageEventRow.event_id != OccurrenceRow.event_id,
            )
            .order_by(OccurrenceDetectionRow.annotation_id)
        )
        for occurrence_id, annotation_id, event_id, was_edited in rows:
            strays[int(occurrence_id)][int(event_id)].append(int(annotation_id))
            if was_edited:
                edited.add(int(occurrence_id))
    notes = []
    for occurrence_id, elsewhere in sorted(strays.items()):
        notes.append(_part(session, occurrence_id, elsewhere, occurrence_id in edited))
    return notes


def _part(
    session: Session, occurrence_id: int, elsewhere: dict[int, list[int]], edited: bool
) -> str:
    """Part one occurrence: its detections in other events (by event) leave it."""
    let_go = [a for ids in elsewhere.values() for a in ids]
    stays = sorted(
        set(
            session.scalars(
                select(OccurrenceDetectionRow.annotation_id).where(
                    OccurrenceDetectionRow.occurrence_id == occurrence_id
                )
            )
        )
        - set(let_go)
    )
    named = sorted(
        (
            row
            for chunk in chunks([*stays, *let_go])
            for row in session.execute(
                select(IdentificationRow.id, IdentificationRow.annotation_id, *_COPIED).where(
                    IdentificationRow.annotation_id.in_(chunk)
                )
            )
        ),
        key=lambda row: int(row.id),
    )
    for chunk in chunks(let_go):
        session.execute(
            delete(OccurrenceDetectionRow).where(OccurrenceDetectionRow.annotation_id.in_(chunk))
        )
        # An identification made on the occurrence whose detection left it now names the part
        # that holds its detection; the occurrence keeps a copy (below).
        session.execute(
            update(IdentificationRow)
            .where(
                IdentificationRow.annotation_id.in_(chunk),
                IdentificationRow.occurrence_id == occurrence_id,
            )
            .values(occurrence_id=None)
        )
    copied = 0
    for members in (stays, *elsewhere.values()):
        if members:
            copied += _copy_missing(session, named, members)
    moved = ", ".join(
        f"{len(ids)} in event {event_id}" for event_id, ids in sorted(elsewhere.items())
    )
    note = (
        f"occurrence {occurrence_id} was parted: of its {len(stays) + len(let_go)} detections, "
        f"{moved} are tracked there as an occurrence of their own"
    )
    if copied:
        note += f" ({copied} identification{'s' if copied > 1 else ''} copied to the parts)"
    if edited:
        note += "; a reviewer's split or merge of it holds only within one event"
    return note


def _word(row: Row[*tuple[Any, ...]]) -> tuple[Any, ...]:
    """What makes an identification row one person's word (``WORD``)."""
    return tuple(getattr(row, column.key) for column in WORD)


def _copy_missing(
    session: Session, named: Sequence[Row[*tuple[Any, ...]]], members: list[int]
) -> int:
    """Copy onto a part (its detections ``members``) the identifications of the occurrence
    it lacks that are newer than any it holds (an older one is outranked there anyway, and
    stays with the part that holds it); how many were copied. Withdrawn words rank nothing
    and are not copied: they stay in the history of the part that holds them."""
    held = set(members)
    live = [row for row in named if not row.withdrawn]
    newest_held = max((row.id for row in live if row.annotation_id in held), default=0)
    # One person's word once (its copies are the same word: ``WORD``), however many times the
    # individual parted and was joined again.
    words = {_word(row) for row in live if row.annotation_id in held}
    missing = []
    for row in live:
        if row.annotation_id not in held and row.id > newest_held and _word(row) not in words:
            words.add(_word(row))
            missing.append(row)
    for row in missing:  # in id order, so the part ranks them as the occurrence did
        values = {column.key: getattr(row, column.key) for column in _COPIED}
        session.execute(
            insert(IdentificationRow).values(**values, annotation_id=members[0], occurrence_id=None)
        )
    return len(missing)
