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
from typing import Any, cast

from sqlalchemy import (
    DateTime,
    Table,
    bindparam,
    delete,
    func,
    insert,
    literal,
    select,
    text,
    true,
    tuple_,
    union_all,
    update,
)
from sqlalchemy.orm import Session, aliased

from trapline.db.repositories.images import to_image
from trapline.db.repositories.nights import NIGHT_SQL
from trapline.db.repositories.occurrences import chunks
from trapline.db.tables import (
    AnnotationRow,
    DeploymentRow,
    EventRow,
    ImageEventRow,
    ImageRow,
    OccurrenceDetectionRow,
    OccurrenceRow,
    ProjectRow,
)
from trapline.domain.events import Event, EventRule, Grouping, Moment, together
from trapline.domain.records import Image

_IMAGE_EVENTS = cast(Table, ImageEventRow.__table__)

#: A span of a deployment's photos: its id and the first and last wall-clock time.
Span = tuple[int, datetime, datetime]

#: Where photo ``{b}`` starts a new event after photo ``{a}``, per rule and dialect (SQL over
#: their wall clocks and, for gaps, offsets ``{a}off`` and ``{b}off``).
_NEW_NIGHT = {
    dialect: night.format(x="{b}") + " <> " + night.format(x="{a}")
    for dialect, night in NIGHT_SQL.items()
}
#: Milliseconds between two instants (wall clocks less their offsets), more than the gap.
_NEW_SEQUENCE = {
    "sqlite": "ROUND((julianday({b}) - julianday({a})) * 86400000.0) - ({b}off - {a}off) * 60000"
    " > :gap_ms",
    "postgresql": "ROUND(EXTRACT(EPOCH FROM ({b} - {a})) * 1000) - ({b}off - {a}off) * 60000"
    " > :gap_ms",
}

#: The photos of a scope in time order, each marked where an event starts (s) and ends (e),
#: and numbered by event (grp). ``{new}`` and ``{new_next}`` say where a new event starts.
_FLAGGED = """
WITH ordered AS (
    SELECT id, captured_at AS t, COALESCE(captured_offset_minutes, 0) AS toff,
           LAG(captured_at) OVER w AS p,
           LAG(COALESCE(captured_offset_minutes, 0)) OVER w AS poff,
           LEAD(captured_at) OVER w AS n,
           LEAD(COALESCE(captured_offset_minutes, 0)) OVER w AS noff
    FROM images
    WHERE project_id = :project AND deployment_id = :deployment AND captured_at IS NOT NULL
          {span}
    WINDOW w AS (ORDER BY captured_sort, id)
), marked AS (
    SELECT id, t, toff AS off,
           CASE WHEN p IS NULL OR ({new}) THEN 1 ELSE 0 END AS s,
           CASE WHEN n IS NULL OR ({new_next}) THEN 1 ELSE 0 END AS e
    FROM ordered
), flagged AS (
    SELECT id, t, off, s, e, SUM(s) OVER (ORDER BY t, id ROWS UNBOUNDED PRECEDING) AS grp
    FROM marked
)
"""
_INSERT = """
INSERT INTO events (project_id, deployment_id, first_image_id, starts_at,
                    start_offset_minutes, ends_at, end_offset_minutes, image_count)
SELECT :project, :deployment, MIN(CASE WHEN s = 1 THEN id END), MIN(t),
       MAX(CASE WHEN s = 1 THEN off END), MAX(t), MAX(CASE WHEN e = 1 THEN off END), COUNT(*)
FROM flagged GROUP BY grp
"""
#: Each photo with the first photo of its event.
_FIRSTS = """
, firsts AS (
    SELECT id, MIN(CASE WHEN s = 1 THEN id END) OVER (PARTITION BY grp) AS first_id FROM flagged
)
"""
#: Pointing a photo at an event, replacing the event it was in.
_REPOINT = " ON CONFLICT (image_id) DO UPDATE SET event_id = excluded.event_id"
#: Each photo pointed at its event, found by the event's first photo (SQLite; ``WHERE true``
#: tells its parser that ``ON CONFLICT`` is not the join's).
_POINT = f"""{_FIRSTS}
INSERT INTO image_events (image_id, event_id)
SELECT firsts.id, events.id
FROM firsts JOIN events ON events.first_image_id = firsts.first_id
    AND events.deployment_id = :deployment AND events.id > :newest
WHERE true{_REPOINT}"""  # noqa: S608
#: PostgreSQL writes the events and points the photos at them in one statement (the windows
#: run once), beside the events it replaces.
_INSERT_AND_POINT = (
    ", made AS ("
    + _INSERT
    + " RETURNING id, first_image_id)"
    + _FIRSTS
    + """
INSERT INTO image_events (image_id, event_id)
SELECT firsts.id, made.id FROM firsts JOIN made ON made.first_image_id = firsts.first_id"""
    + _REPOINT
)


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
        func.coalesce(DeploymentRow.event_rule, ProjectRow.event_rule),
        func.coalesce(DeploymentRow.event_gap_seconds, ProjectRow.event_gap_seconds),
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
    + _REPOINT
)
_NEW_EVENT = insert(EventRow).returning(EventRow.id)


def _to_event(row: EventRow) -> Event:
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
    )


def _new_event_sql(dialect: str, grouping: Grouping, earlier: str, later: str) -> str:
    """Where photo ``later`` starts a new event after photo ``earlier`` (column names)."""
    rules = _NEW_NIGHT if grouping.rule is EventRule.NIGHT else _NEW_SEQUENCE
    return rules[dialect].format(a=earlier, b=later)


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
    ) -> None:
        """Group a deployment's photos into events again (only those from ``lo`` to ``hi``,
        which must be a union of whole events)."""
        project_id = self.session.scalar(
            select(DeploymentRow.project_id).where(DeploymentRow.id == deployment_id)
        )
        if project_id is None:
            return
        # The project's row before the deployment's, in the order uploads, moves and deletes
        # take them: a delete (which holds the project's row) never waits on a regrouping
        # that waits on the photo it deletes.
        self.session.execute(
            select(ProjectRow.id).where(ProjectRow.id == project_id).with_for_update(key_share=True)
        )
        grouping = self.grouping_of(deployment_id, lock=True)
        if grouping is None:
            return
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
        flagged = _FLAGGED.format(
            span=span,
            new=_new_event_sql(dialect, grouping, "p", "t"),
            new_next=_new_event_sql(dialect, grouping, "t", "n"),
        )
        # Bound as the column's type, so SQLite compares the same text it stores.
        times = (bindparam("lo", type_=DateTime), bindparam("hi", type_=DateTime)) if span else ()
        # The old events go once their photos point at the new ones: deleted first, their
        # key would delete every photo's link only for it to be written again, and their
        # occurrences with them. (New events take higher ids, and no one else adds to a
        # deployment held here.)
        newest_old = self.session.scalar(select(func.max(EventRow.id)).where(*old)) or 0
        if dialect == "postgresql":
            self.session.execute(text(flagged + _INSERT_AND_POINT).bindparams(*times), params)
        else:
            self.session.execute(text(flagged + _INSERT).bindparams(*times), params)
            self.session.execute(
                text(flagged + _POINT).bindparams(*times), params | {"newest": newest_old}
            )
        if newest_old:
            self._hand_over(deployment_id, [*old, EventRow.id <= newest_old], newest_old)

    def _hand_over(self, deployment_id: int, old: list[Any], newest_old: int) -> None:
        """Replace the old events of a regrouping by the new ones, keeping what people and
        links rely on: an old event the regrouping made again photo for photo stays (its id,
        occurrences and tracking; the copy goes), and the other old events' occurrences move
        to the new event holding most of their detections, where tracking finds them and
        hands their ids and a reviewer's splits on (``track_event``). Then the rest go."""
        again = aliased(EventRow)
        same = self.session.execute(
            select(EventRow.id, again.id)
            .join(
                again,
                (again.deployment_id == deployment_id)
                & (again.id > newest_old)
                & (again.first_image_id == EventRow.first_image_id)
                & (again.image_count == EventRow.image_count)
                & (again.starts_at == EventRow.starts_at)
                & (again.ends_at == EventRow.ends_at),
            )
            .where(*old)
        ).all()
        kept = [int(o) for o, _ in same]
        if same:
            self.session.execute(
                # The table, not the mapped class: an ORM update of many rows needs their keys.
                update(_IMAGE_EVENTS)
                .where(_IMAGE_EVENTS.c.event_id == bindparam("copy"))
                .values(event_id=bindparam("kept")),
                [{"copy": int(c), "kept": int(o)} for o, c in same],
            )
            for part in chunks([int(c) for _, c in same]):
                self.session.execute(delete(EventRow).where(EventRow.id.in_(part)))
        gone = select(EventRow.id).where(*old, EventRow.id.not_in(kept) if kept else true())
        holder = (
            select(ImageEventRow.event_id)
            .select_from(OccurrenceDetectionRow)
            .join(AnnotationRow, AnnotationRow.id == OccurrenceDetectionRow.annotation_id)
            .join(ImageEventRow, ImageEventRow.image_id == AnnotationRow.image_id)
            .where(OccurrenceDetectionRow.occurrence_id == OccurrenceRow.id)
            .group_by(ImageEventRow.event_id)
            .order_by(func.count().desc(), ImageEventRow.event_id)
            .limit(1)
            .scalar_subquery()
        )
        self.session.execute(
            update(OccurrenceRow)
            .where(OccurrenceRow.event_id.in_(gone), holder.is_not(None))
            .values(event_id=holder)
            .execution_options(synchronize_session=False)
        )
        self.session.execute(delete(EventRow).where(EventRow.id.in_(gone)))

    def add(self, image_id: int) -> None:
        """Put a new (or newly dated, or moved) photo into its event, touching only its
        neighbours' events; a photo that joins two events or splits one regroups their span."""
        image = self.session.execute(_PLACED, {"image": image_id}).first()
        if image is None:  # no such photo, or no time or deployment: in no event
            return
        if image.event_id is not None:
            return  # in an event already (its span was just regrouped)
        deployment_id = image.deployment_id
        grouping = Grouping(EventRule(image[7]), int(image[8]))
        here = Moment(image.captured_at, image.captured_offset_minutes or 0)
        around = {
            "project": image.project_id,
            "deployment": deployment_id,
            "sort": image.captured_sort,
            "image": image.id,
        }
        prev, after = self._neighbours(around)
        join_prev = prev is not None and together(grouping, prev[0], here)
        join_next = after is not None and together(grouping, here, after[0])
        prev_event = prev[1] if prev else None
        next_event = after[1] if after else None
        if (prev and prev_event is None) or (after and next_event is None):
            self.regroup(deployment_id)  # its neighbours were never grouped
            return
        inside = prev_event is not None and prev_event == next_event
        if join_prev and join_next and inside and prev_event:
            self._extend(prev_event, image.id)
        elif join_prev and not join_next and not inside and prev_event:
            self._extend(prev_event, image.id, ends=here)
        elif join_next and not join_prev and not inside and next_event:
            self._extend(next_event, image.id, starts=here)
        elif not join_prev and not join_next and not inside:
            self._new_event(image, here)
        else:  # it joins two events into one, or splits one
            self._regroup_events(deployment_id, [e for e in (prev_event, next_event) if e], here)

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

    def deployments_of(self, image_ids: Sequence[int]) -> list[int]:
        """The deployments these photos are in."""
        return list(
            self.session.scalars(
                select(ImageRow.deployment_id)
                .where(ImageRow.id.in_(list(image_ids)), ImageRow.deployment_id.is_not(None))
                .distinct()
                .order_by(ImageRow.deployment_id)
            )
        )

    def regroup_spans(self, spans: Iterable[Span]) -> None:
        """Group the photos left in these spans again (after some left them)."""
        for deployment_id, lo, hi in sorted(set(spans)):
            self.regroup(deployment_id, lo, hi)

    def _neighbours(
        self, around: dict[str, Any]
    ) -> tuple[tuple[Moment, int | None] | None, tuple[Moment, int | None] | None]:
        """The dated photos just before and just after a photo, each with its event."""
        found: dict[bool, tuple[Moment, int | None]] = {}
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
        return _to_event(row) if row else None

    def page(self, deployment_id: int, *, limit: int, offset: int) -> tuple[int, list[Event]]:
        """A deployment's events in time order."""
        where = EventRow.deployment_id == deployment_id
        total = self.session.scalar(select(func.count()).where(where)) or 0
        rows = self.session.scalars(
            select(EventRow)
            .where(where)
            .order_by(EventRow.starts_at, EventRow.id)
            .limit(limit)
            .offset(offset)
        )
        return total, [_to_event(r) for r in rows]

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
