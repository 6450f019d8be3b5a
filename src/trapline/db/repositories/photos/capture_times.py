"""Capture times read in local time zones: the zone an image's time is read in, re-readings
after a zone changes (claimed and advanced batch by batch), and images moving between
deployments.

Whoever reads a zone to store offsets holds the project's row first (uploads, re-reading
batches, moves, zone changes), so an upload that read the old zone has committed before the
change does, and the re-reading that follows the change finds its images.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, false, func, or_, select, update
from sqlalchemy.orm import Session

from trapline.db.leased_rows import STEPPED_RUN_ATTEMPTS, LeasedRows
from trapline.db.photo_findings import moved_photos
from trapline.db.tables import DeploymentRow, ImageRow, ProjectRow, RereadRow
from trapline.db.types import affected
from trapline.domain.photos.local_times import Reread, RereadStatus, offset_minutes

#: Images whose time is read from a zone: dated, with no offset of their own.
_READ_FROM_ZONE = (ImageRow.captured_at.is_not(None), ImageRow.file_offset_minutes.is_(None))
_ZONE = func.coalesce(DeploymentRow.time_zone, ProjectRow.time_zone)
#: Whether the image's camera keeps standard time all year (false without a deployment).
_STANDARD = func.coalesce(DeploymentRow.standard_time, false())
#: An image read from a zone: id, capture time, zone, standard time all year.
_Dated = tuple[int, datetime, str, bool]
_OPEN = (RereadStatus.QUEUED.value, RereadStatus.RUNNING.value)
#: Re-readings are runs: claimed by a server, kept by its heartbeat, handed back or failed.
_RUNS = LeasedRows(
    RereadRow.id,
    RereadRow.runner,
    RereadRow.heartbeat_at,
    status=RereadRow.status,
    attempts=RereadRow.attempts,
    max_attempts=STEPPED_RUN_ATTEMPTS,
)


def _to_reread(row: RereadRow) -> Reread:
    return Reread(
        id=row.id,
        project_id=row.project_id,
        deployment_id=row.deployment_id,
        time_zone=row.time_zone,
        status=RereadStatus(row.status),
        images_total=row.images_total,
        images_done=row.images_done,
        error=row.error,
        created_at=row.created_at,
        finished_at=row.finished_at,
    )


def _scope(project_id: int, deployment_id: int | None) -> list[ColumnElement[bool]]:
    """The images a re-reading takes: a deployment's, or those following the project's zone."""
    terms: list[ColumnElement[bool]] = [ImageRow.project_id == project_id, *_READ_FROM_ZONE]
    if deployment_id is not None:
        terms.append(ImageRow.deployment_id == deployment_id)
    else:
        terms.append(or_(ImageRow.deployment_id.is_(None), DeploymentRow.time_zone.is_(None)))
    return terms


class CaptureTimeRepo:
    """Zones, offsets and re-readings of capture times."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def zone_for(self, project_id: int, deployment_id: int | None) -> str | None:
        """The zone new images of the project (in the deployment) are read in, holding the
        project's row until the transaction ends; None when the project is gone."""
        clock = self.clock_for(project_id, deployment_id)
        return clock[0] if clock is not None else None

    def clock_for(self, project_id: int, deployment_id: int | None) -> tuple[str, bool] | None:
        """The zone new images of the project (in the deployment) are read in and whether
        their camera keeps standard time all year, holding the project's row until the
        transaction ends; None when the project is gone."""
        self.session.execute(
            select(ProjectRow.id).where(ProjectRow.id == project_id).with_for_update(key_share=True)
        )
        query = select(_ZONE, _STANDARD).select_from(ProjectRow).where(ProjectRow.id == project_id)
        query = query.outerjoin(
            DeploymentRow,
            (DeploymentRow.id == deployment_id) & (DeploymentRow.project_id == ProjectRow.id),
        )
        found = self.session.execute(query).first()
        return (str(found[0]), bool(found[1])) if found is not None else None

    def reread_images(self, project_id: int, image_ids: Sequence[int]) -> int:
        """Read these images' times again in their deployments' zones now; how many changed."""
        if not image_ids:
            return 0
        rows = self._dated(ImageRow.project_id == project_id, ImageRow.id.in_(list(image_ids)))
        return self._set_offsets(rows)

    def move(self, project_id: int, image_ids: Sequence[int], deployment_id: int | None) -> int:
        """Put the project's images with these ids into a deployment (None: none) and read their
        times in its zone; how many of the ids were the project's images."""
        moved = affected(
            self.session.execute(
                update(ImageRow)
                .where(ImageRow.project_id == project_id, ImageRow.id.in_(list(image_ids)))
                .values(deployment_id=deployment_id)
            )
        )
        moved_photos(self.session, project_id, image_ids, deployment_id)
        self.reread_images(project_id, image_ids)
        return moved

    def start(
        self, project_id: int, deployment_id: int | None, time_zone: str, now: datetime
    ) -> Reread:
        """A new re-reading of the scope; unfinished ones of the same scope are superseded (the
        new one reads every image of the scope in the zone as it is when it gets there)."""
        self.session.execute(
            update(RereadRow)
            .where(
                RereadRow.project_id == project_id,
                RereadRow.deployment_id.is_(None)
                if deployment_id is None
                else RereadRow.deployment_id == deployment_id,
                RereadRow.status.in_(_OPEN),
            )
            .values(status=RereadStatus.SUPERSEDED.value, runner=None, finished_at=now)
        )
        row = RereadRow(
            project_id=project_id,
            deployment_id=deployment_id,
            time_zone=time_zone,
            status=RereadStatus.QUEUED.value,
            images_done=0,
            after_image_id=0,
            attempts=0,
            created_at=now,
        )
        self.session.add(row)
        self.session.flush()
        return _to_reread(row)

    def get(self, reread_id: int) -> Reread | None:
        """One re-reading."""
        row = self.session.get(RereadRow, reread_id)
        return _to_reread(row) if row else None

    def page(self, project_id: int, *, limit: int, offset: int) -> tuple[int, list[Reread]]:
        """A project's re-readings, newest first."""
        where = RereadRow.project_id == project_id
        total = self.session.scalar(select(func.count()).where(where)) or 0
        rows = self.session.scalars(
            select(RereadRow).where(where).order_by(RereadRow.id.desc()).limit(limit).offset(offset)
        )
        return total, [_to_reread(r) for r in rows]

    def fail_exhausted(self, stale: datetime, now: datetime) -> int:
        """Fail the re-readings whose servers died in them ``STEPPED_RUN_ATTEMPTS`` times."""
        reason = (
            f"the server running this re-reading stopped {STEPPED_RUN_ATTEMPTS} times in it; "
            "the server log says why"
        )
        return _RUNS.fail_exhausted(self.session, stale, now, reason)

    def claimable(self, stale: datetime) -> list[int]:
        """Re-readings waiting, or running under a runner gone silent since ``stale``."""
        return _RUNS.claimable(self.session, stale)

    def claim(self, reread_id: int, holder: str, now: datetime, stale: datetime) -> bool:
        """Take a waiting re-reading (or one whose runner went silent) for ``holder``."""
        if not _RUNS.claim(self.session, reread_id, holder, now, stale):
            return False
        row = self.session.get(RereadRow, reread_id)
        if row is not None and row.images_total is None:
            row.images_total = self._count(row.project_id, row.deployment_id)
        return True

    def heartbeat(self, reread_id: int, holder: str, now: datetime) -> bool:
        """Renew ``holder``'s claim; False when the re-reading is no longer its own."""
        return _RUNS.renew(self.session, reread_id, holder, now)

    def release(self, reread_id: int, holder: str) -> None:
        """Hand a running re-reading back to the queue (this server is stopping)."""
        _RUNS.release(self.session, reread_id, holder)

    def step(self, reread_id: int, holder: str, now: datetime, limit: int) -> bool | None:
        """Re-read the next ``limit`` images; True when none were left (it succeeded), None
        when the re-reading is no longer ``holder``'s (superseded, deleted, taken over)."""
        project_id = self.session.scalar(
            select(RereadRow.project_id).where(RereadRow.id == reread_id)
        )
        if project_id is None:
            return None
        # The project's row before the re-reading's, as every offset writer and a project's
        # delete take them.
        self.zone_for(project_id, None)
        row: RereadRow | None = _RUNS.held(self.session, reread_id, holder, now)
        if row is None:
            return None
        rows = self._dated(
            *_scope(row.project_id, row.deployment_id),
            ImageRow.id > row.after_image_id,
            limit=limit,
        )
        self._set_offsets(rows)
        if not rows:
            done = {"images_total": row.images_done}
            _RUNS.finish(self.session, reread_id, holder, RereadStatus.SUCCEEDED.value, now, done)
            return True
        row.after_image_id = rows[-1][0]
        row.images_done += len(rows)
        return False

    def fail(self, reread_id: int, holder: str, reason: str, now: datetime) -> None:
        """Record that ``holder``'s run failed for good."""
        _RUNS.fail(self.session, reread_id, holder, reason, now)

    def _count(self, project_id: int, deployment_id: int | None) -> int:
        query = (
            select(func.count())
            .select_from(ImageRow)
            .outerjoin(DeploymentRow, DeploymentRow.id == ImageRow.deployment_id)
            .where(*_scope(project_id, deployment_id))
        )
        return self.session.scalar(query) or 0

    def _dated(self, *terms: Any, limit: int | None = None) -> list[_Dated]:
        """(id, capture time, zone, standard time all year) of the images matching ``terms``
        read from a zone, by id."""
        query = (
            select(ImageRow.id, ImageRow.captured_at, _ZONE, _STANDARD)
            .join(ProjectRow, ProjectRow.id == ImageRow.project_id)
            .outerjoin(DeploymentRow, DeploymentRow.id == ImageRow.deployment_id)
            .where(*_READ_FROM_ZONE, *terms)
            .order_by(ImageRow.id)
        )
        if limit is not None:
            query = query.limit(limit)
        rows = self.session.execute(query)
        return [
            (int(i), at, str(zone), bool(standard))
            for i, at, zone, standard in rows
            if at is not None
        ]

    def _set_offsets(self, rows: Sequence[_Dated]) -> int:
        """Write each image's offset in its zone: one statement per distinct offset (a batch
        has one or two: a zone's standard and summer time)."""
        by_offset: dict[int, list[int]] = defaultdict(list)
        for image_id, captured_at, zone, standard in rows:
            by_offset[offset_minutes(captured_at, zone, standard_time=standard)].append(image_id)
        for minutes, ids in by_offset.items():
            self.session.execute(
                update(ImageRow).where(ImageRow.id.in_(ids)).values(captured_offset_minutes=minutes)
            )
        return len(rows)
