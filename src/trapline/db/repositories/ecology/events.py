"""Events: grouping a deployment's photos with SQL, keeping the groups current as photos come
and go, and reading them.

A whole deployment (or a span of it) is grouped by one pass of window functions over its
photos in time order: ``LAG``/``LEAD`` mark where an event starts and ends, a running ``SUM``
numbers the events, and two statements write them (the events, then each photo's link to its
event in ``image_events``). One new photo only looks at its two neighbours and their events.

Whoever changes a deployment's events holds its row first, so two uploads into one
deployment never extend the same event side by side.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    DateTime,
    bindparam,
    delete,
    func,
    insert,
    literal,
    select,
    text,
    tuple_,
    union_all,
    update,
)
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session

from trapline.db.repositories.core.rows import to_image
from trapline.db.repositories.ecology.grouping_sql import (
    GAIN,
    INSERT,
    INSERT_AND_POINT,
    KEEP,
    POINT,
    REPOINT,
    UNLINKED,
    flagged_sql,
)
from trapline.db.repositories.ecology.handover import hand_over
from trapline.db.tables import (
    DeploymentRow,
    EventRow,
    ImageEventRow,
    ImageRow,
    ProjectRow,
)
from trapline.db.types import chunks
from trapline.domain.core.event_rules import EventRule, Grouping
from trapline.domain.core.records import Image
from trapline.domain.ecology.events import (
    Event,
    Moment,
    Neighbour,
    Nights,
    Placement,
    placement,
)

#: A span of a deployment's photos: its id and the first and last wall-clock time.
Span = tuple[int, datetime, datetime]

#: Placing one photo runs on every upload: its statements are built once, here.
#: The new photo and the rule of its deployment, whose row it holds (see ``grouping_of``).
_PLACED = (
    select(
        ImageRow.id,
        ImageRow.project_id,
        ImageRow.deployment_id,
        ImageRow.captured_at,
        ImageRow.captured_offset_minutes,
        ImageRow.captured_sort,
        ImageRow.event_id,
        func.coalesce(DeploymentRow.event_rule, ProjectRow.event_rule).label("rule"),
        func.coalesce(DeploymentRow.event_gap_seconds, ProjectRow.event_gap_seconds).label("gap"),
    )
    .join(DeploymentRow, DeploymentRow.id == ImageRow.deployment_id)
    .join(ProjectRow, ProjectRow.id == DeploymentRow.project_id)
    .where(ImageRow.id == bindparam("image"), ImageRow.captured_at.is_not(None))
    .with_for_update(of=DeploymentRow)
)


def _neighbour_query(*, before: bool) -> Any:
    """The dated photo just before (or after) a photo of its deployment, in time order."""
    key = tuple_(ImageRow.captured_sort, ImageRow.id)
    mine = tuple_(bindparam("sort", type_=DateTime), bindparam("image"))
    order = (ImageRow.captured_sort, ImageRow.id)
    return (
        select(
            literal(before).label("before"),
            ImageRow.captured_at,
            ImageRow.captured_offset_minutes,
            ImageRow.event_id,
        )
        .where(
            ImageRow.project_id == bindparam("project"),
            ImageRow.deployment_id == bindparam("deployment"),
            ImageRow.captured_at.is_not(None),
            key < mine if before else key > mine,
        )
        .order_by(*(column.desc() for column in order) if before else order)
        .limit(1)
    )


#: Both neighbours in one round trip.
_NEIGHBOURS = union_all(
    select(_neighbour_query(before=True).subquery()),
    select(_neighbour_query(before=False).subquery()),
)
_POINT_ONE = text(
    "INSERT INTO image_events (image_id, event_id) VALUES (:image, :event)"  # noqa: S608
    + REPOINT
)
_NEW_EVENT = insert(EventRow).returning(EventRow.id)


#: What an event's record is made of: a page of events reads these columns, not whole rows
#: (no ORM instances for a deployment's hundreds of nights).
EVENT_COLUMNS = (
    *(EventRow.id, EventRow.project_id, EventRow.deployment_id, EventRow.image_count),
    *(EventRow.starts_at, EventRow.start_offset_minutes, EventRow.ends_at),
    *(EventRow.end_offset_minutes, EventRow.first_image_id),
    *(EventRow.tracking_version, EventRow.tracked_version, EventRow.untracked_boxes),
    *(EventRow.tracking_error, EventRow.tracking_retry_at),
)


def to_event(row: EventRow | Row[*tuple[Any, ...]]) -> Event:
    """The record of an event's row (or of its ``EVENT_COLUMNS``)."""
    return Event(
        id=row.id,
        project_id=row.project_id,
        deployment_id=row.deployment_id,
        starts_at=row.starts_at,
        start_offset_minutes=row.start_offset_minutes,
        ends_at=row.ends_at,
        end_offset_minutes=row.end_offset_minutes,
        image_count=row.image_count,
        first_image_id=row.first_image_id,
        tracking_due=row.tracking_version > row.tracked_version,
        untracked_boxes=row.untracked_boxes,
        tracking_error=row.tracking_error,
        tracking_retry_at=row.tracking_retry_at,
    )


class EventRepo:
    """Events of deployments."""

    def __init__(self, session: Session) -> None:
        self.session = session

    # -- rules ---------------------------------------------------------------------------

    def grouping_of(self, deployment_id: int, *, lock: bool = False) -> Grouping | None:
        """The rule a deployment's photos are grouped by (its own, else its project's);
        ``lock``: holding the deployment's row until the transaction ends, as whoever changes
        its events does."""
        query = (
            select(
                func.coalesce(DeploymentRow.event_rule, ProjectRow.event_rule),
                func.coalesce(DeploymentRow.event_gap_seconds, ProjectRow.event_gap_seconds),
            )
            .join(ProjectRow, ProjectRow.id == DeploymentRow.project_id)
            .where(DeploymentRow.id == deployment_id)
        )
        if lock:
            query = query.with_for_update(of=DeploymentRow)
        found = self.session.execute(query).first()
        return Grouping(EventRule(found[0]), int(found[1])) if found else None

    def set_project_rule(self, project_id: int, grouping: Grouping) -> None:
        """Set the rule of a project's deployments that name none."""
        self.session.execute(
            update(ProjectRow)
            .where(ProjectRow.id == project_id)
            .values(event_rule=grouping.rule.value, event_gap_seconds=grouping.gap_seconds)
        )

    def set_deployment_rule(self, deployment_id: int, grouping: Grouping | None) -> None:
        """Set a deployment's own rule (None: follow its project's)."""
        self.session.execute(
            update(DeploymentRow)
            .where(DeploymentRow.id == deployment_id)
            .values(
                event_rule=grouping.rule.value if grouping else None,
                event_gap_seconds=grouping.gap_seconds if grouping else None,
            )
        )

    # -- grouping ------------------------------------------------------------------------

    def regroup(
        self, deployment_id: int, lo: datetime | None = None, hi: datetime | None = None
    ) -> list[str]:
        """Group a deployment's photos into events again (only those from ``lo`` to ``hi``,
        which must be a union of whole events); what of its occurrences could not be kept
        (``handover.py``)."""
        project_id = self.session.scalar(
            select(DeploymentRow.project_id).where(DeploymentRow.id == deployment_id)
        )
        if project_id is None:
            return []
        # The project's row before the deployment's, in the order uploads, moves and deletes
        # take them: a delete (which holds the project's row) never waits on a regrouping
        # that waits on the photo it deletes.
        self.session.execute(
            select(ProjectRow.id).where(ProjectRow.id == project_id).with_for_update(key_share=True)
        )
        grouping = self.grouping_of(deployment_id, lock=True)
        if grouping is None:
            return []
        old = [EventRow.deployment_id == deployment_id]
        span = ""
        params: dict[str, Any] = {
            "project": project_id,
            "deployment": deployment_id,
            "gap_ms": grouping.gap_seconds * 1000,
        }
        if lo is not None and hi is not None:
            old += [EventRow.starts_at <= hi, EventRow.ends_at >= lo]
            span = "AND captured_sort >= :lo AND captured_sort <= :hi"
            params |= {"lo": lo, "hi": hi}
        dialect = self.session.get_bind().dialect.name
        flagged = flagged_sql(dialect, grouping, span)
        # Bound as the column's type, so SQLite compares the same text it stores.
        times = (bindparam("lo", type_=DateTime), bindparam("hi", type_=DateTime)) if span else ()
        # The old events go once their photos point at the new ones: deleted first, their
        # key would delete every photo's link only for it to be written again, and their
        # occurrences with them. (New events take higher ids, and no one else adds to a
        # deployment held here.)
        newest_old = self.session.scalar(select(func.max(EventRow.id)).where(*old)) or 0
        if newest_old:
            # An old event whose photos all stay in one group, with no photo of another event,
            # stays: it takes the group's photos that are in no event, then its times.
            unlinked = text(UNLINKED.format(span=span)).bindparams(*times)
            kept = (GAIN, KEEP) if self.session.scalar(unlinked, params) else (KEEP,)
            for statement in kept:
                self.session.execute(text(flagged + statement).bindparams(*times), params)
        if dialect == "postgresql":
            self.session.execute(text(flagged + INSERT_AND_POINT).bindparams(*times), params)
        else:
            self.session.execute(text(flagged + INSERT).bindparams(*times), params)
            # (The driver's rowcount is -1 for a statement that starts with WITH.)
            if self.session.scalar(text("SELECT changes()")):  # new events: photos to point
                self.session.execute(
                    text(flagged + POINT).bindparams(*times), params | {"newest": newest_old}
                )
        if not newest_old:
            return []
        return hand_over(self.session, deployment_id, [*old, EventRow.id <= newest_old])

    def add(self, image_id: int) -> None:
        """Put a new (or newly dated, or moved) photo into its event, touching only its
        neighbours' events; a photo that joins two events or splits one regroups their span."""
        image = self.session.execute(_PLACED, {"image": image_id}).first()
        if image is None:  # no such photo, or no time or deployment: in no event
            return
        if image.event_id is not None:
            return  # in an event already (its span was just regrouped)
        deployment_id = image.deployment_id
        grouping = Grouping(EventRule(image.rule), int(image.gap))
        here = Moment(image.captured_at, image.captured_offset_minutes or 0)
        around = {
            "project": image.project_id,
            "deployment": deployment_id,
            "sort": image.captured_sort,
            "image": image.id,
        }
        prev, after = self._neighbours(around)
        if (prev and prev[1] is None) or (after and after[1] is None):
            self.regroup(deployment_id)  # its neighbours were never grouped
            return
        place, event_id = placement(grouping, here, prev, after)
        if place is Placement.INSIDE:
            self._extend(event_id, image.id)
        elif place is Placement.LAST:
            self._extend(event_id, image.id, ends=here)
        elif place is Placement.FIRST:
            self._extend(event_id, image.id, starts=here)
        elif place is Placement.ALONE:
            self._new_event(image, here)
        else:  # it joins two events into one, or splits one
            events = [n[1] for n in (prev, after) if n is not None and n[1] is not None]
            self._regroup_events(deployment_id, events, here)

    def spans(self, image_ids: Sequence[int]) -> list[Span]:
        """The spans of the events these photos are in (taken before they go or move)."""
        if not image_ids:
            return []
        theirs = select(ImageEventRow.event_id).where(ImageEventRow.image_id.in_(list(image_ids)))
        rows = self.session.execute(
            select(EventRow.deployment_id, EventRow.starts_at, EventRow.ends_at)
            .where(EventRow.id.in_(theirs))
            .distinct()
        )
        return [(d, lo, hi) for d, lo, hi in rows]

    def leave_moved(self, image_ids: Sequence[int]) -> None:
        """These photos moved: those now in another deployment than their event's (or in
        none) leave it, so that they can be placed in their new deployment's events before
        the old ones are regrouped (which hands an occurrence of those photos on to the
        events they are in now: ``handover.py``)."""
        mine = select(EventRow.id).where(
            EventRow.id == ImageEventRow.event_id,
            EventRow.deployment_id == ImageRow.deployment_id,
            ImageRow.id == ImageEventRow.image_id,
        )
        for part in chunks(list(image_ids)):
            self.session.execute(
                delete(ImageEventRow)
                .where(ImageEventRow.image_id.in_(part), ~mine.exists())
                .execution_options(synchronize_session=False)
            )

    def deployments_of(self, image_ids: Sequence[int]) -> list[int]:
        """The deployments these photos are in."""
        query = select(ImageRow.deployment_id).where(ImageRow.id.in_(list(image_ids)))
        placed = query.where(ImageRow.deployment_id.is_not(None)).distinct()
        return list(self.session.scalars(placed.order_by(ImageRow.deployment_id)))

    def regroup_spans(self, spans: Iterable[Span]) -> None:
        """Group the photos left in these spans again (after some left them)."""
        for deployment_id, lo, hi in sorted(set(spans)):
            self.regroup(deployment_id, lo, hi)

    def _neighbours(self, around: dict[str, Any]) -> tuple[Neighbour | None, Neighbour | None]:
        """The dated photos just before and just after a photo, each with its event."""
        found: dict[bool, Neighbour] = {}
        for before, local, offset, event_id in self.session.execute(_NEIGHBOURS, around):
            assert local is not None  # only dated photos are neighbours
            found[bool(before)] = (Moment(local, offset or 0), event_id)
        return found.get(True), found.get(False)

    def _extend(
        self,
        event_id: int,
        image_id: int,
        *,
        starts: Moment | None = None,
        ends: Moment | None = None,
    ) -> None:
        # A photo between two of the event's changes which photos are consecutive: tracked again.
        values: dict[str, Any] = {
            "image_count": EventRow.image_count + 1,
            "tracking_version": EventRow.tracking_version + 1,
        }
        if starts is not None:
            values |= {
                "starts_at": starts.local,
                "start_offset_minutes": starts.offset_minutes,
                "first_image_id": image_id,
            }
        if ends is not None:
            values |= {"ends_at": ends.local, "end_offset_minutes": ends.offset_minutes}
        self.session.execute(update(EventRow).where(EventRow.id == event_id).values(**values))
        self.session.execute(_POINT_ONE, {"image": image_id, "event": event_id})

    def _new_event(self, image: Any, here: Moment) -> None:
        event_id = self.session.execute(
            _NEW_EVENT,
            {
                "project_id": image.project_id,
                "deployment_id": image.deployment_id,
                "first_image_id": image.id,
                "starts_at": here.local,
                "start_offset_minutes": here.offset_minutes,
                "ends_at": here.local,
                "end_offset_minutes": here.offset_minutes,
                "image_count": 1,
            },
        ).scalar_one()
        self.session.execute(_POINT_ONE, {"image": image.id, "event": event_id})

    def _regroup_events(self, deployment_id: int, event_ids: list[int], here: Moment) -> None:
        found = self.session.execute(
            select(func.min(EventRow.starts_at), func.max(EventRow.ends_at)).where(
                EventRow.id.in_(event_ids)
            )
        ).one()
        lo = min(found[0] or here.local, here.local)
        hi = max(found[1] or here.local, here.local)
        self.regroup(deployment_id, lo, hi)

    # -- reading -------------------------------------------------------------------------

    def get(self, event_id: int) -> Event | None:
        """One event."""
        row = self.session.get(EventRow, event_id)
        return to_event(row) if row else None

    def page(
        self, deployment_id: int, *, limit: int, offset: int, nights: Nights | None = None
    ) -> tuple[int, list[Event]]:
        """How many events a deployment has, and a page of them (of those starting in these
        nights) in time order."""
        where = [EventRow.deployment_id == deployment_id]
        total = self.session.scalar(select(func.count()).where(*where)) or 0
        if nights is not None:
            start, end = nights.wall_clock()
            where += [EventRow.starts_at >= start, EventRow.starts_at < end]
        rows = self.session.execute(
            select(*EVENT_COLUMNS)
            .where(*where)
            .order_by(EventRow.starts_at, EventRow.id)
            .limit(limit)
            .offset(offset)
        )
        return total, [to_event(r) for r in rows]

    def images(self, event_id: int, *, limit: int, offset: int) -> list[Image]:
        """An event's photos in time order."""
        rows = self.session.scalars(
            select(ImageRow)
            .join(ImageEventRow, ImageEventRow.image_id == ImageRow.id)
            .where(ImageEventRow.event_id == event_id)
            .order_by(ImageRow.captured_sort, ImageRow.id)
            .limit(limit)
            .offset(offset)
        )
        return [to_image(r) for r in rows]
