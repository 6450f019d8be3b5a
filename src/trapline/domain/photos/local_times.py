"""Local times: a deployment's IANA time zone, and the UTC offset a capture time is read with.

A camera's clock shows the local wall-clock time and most cameras write no UTC offset, so a
capture time without one is read in its deployment's time zone (the project's default for an
image without a deployment). A time the file gave an offset for keeps that offset.

Some cameras keep standard time all year: their clock never follows daylight saving. A
deployment that says so (``standard_time``) has its times read at the zone's standard offset,
its winter time, all year; a clock change then skips or repeats none of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from trapline.domain.photos.zone_names import not_canonical, offset_name

#: The zone of a project that names none.
DEFAULT_ZONE = "UTC"
#: Longest zone name stored (the longest IANA name is 32 characters).
MAX_ZONE_LENGTH = 64


@lru_cache(maxsize=1)
def _known_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def is_time_zone(name: str) -> bool:
    """Whether ``name`` is an IANA time zone name (``Africa/Dar_es_Salaam``, ``UTC``)."""
    return name in _known_zones()


def zone_error(name: str) -> str | None:
    """What is wrong with a time zone name a person gave, or None when it is a canonical IANA
    name (an old alias or a name that is no place is refused with the name to use)."""
    if is_time_zone(name):
        problem = not_canonical(name)
        return None if problem is None else f"an IANA time zone name in canonical form: {problem}"
    shown = name if len(name) <= 40 else name[:39] + "…"
    if (offset := offset_name(shown)) is not None:
        return f"an IANA time zone name: {offset}"
    if (spelled := _spelled_zones().get(_folded(name))) is not None:
        # Typed in other letters or with spaces: the name as the database spells it.
        said = zone_error(spelled)
        use = f"use {spelled}, as the zone database spells it"
        return said or f"an IANA time zone name: {use} (got {shown!r})"
    return f"an IANA time zone name such as Africa/Dar_es_Salaam or UTC (got {shown!r})"


def _folded(name: str) -> str:
    """A zone name as people may type it, folded: any case, spaces for underscores."""
    return "_".join(name[:MAX_ZONE_LENGTH].lower().split())


@lru_cache(maxsize=1)
def _spelled_zones() -> dict[str, str]:
    """Each known zone by its folded name (no two known zones fold alike)."""
    return {_folded(zone): zone for zone in _known_zones()}


@lru_cache(maxsize=256)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def offset_minutes(local: datetime, zone: str, *, standard_time: bool = False) -> int:
    """The UTC offset, in minutes, of the wall-clock time ``local`` (naive) in ``zone``; with
    ``standard_time``, of a clock that keeps the zone's standard time all year.

    A time a clock change skips or repeats is read as the clocks showed it before the change
    (``fold=0``). An unknown zone reads as UTC (the names stored were checked when set).
    """
    try:
        tz = _zone(zone)
    except (ZoneInfoNotFoundError, ValueError):
        return 0
    moment = local.replace(tzinfo=tz)
    delta = _standard_offset(moment) if standard_time else moment.utcoffset()
    return int(delta.total_seconds() // 60) if delta is not None else 0


def _standard_offset(moment: datetime) -> timedelta:
    """The offset of the zone's standard time (its winter time) at ``moment`` (aware).

    tzdata gives a few zones daylight saving below their standard time (Europe/Dublin: Irish
    Standard Time in summer, winter's GMT as negative saving); there winter time is the one a
    camera without daylight saving keeps, as it is everywhere else.
    """
    offset, saving = moment.utcoffset() or _NONE, moment.dst() or _NONE
    if saving > _NONE:
        return offset - saving
    if saving < _NONE:
        return offset
    winter_saving = (moment + _HALF_YEAR).dst() or _NONE
    return offset + winter_saving if winter_saving < _NONE else offset


_NONE = timedelta(0)
_HALF_YEAR = timedelta(days=182)


def capture_offset(
    local: datetime | None, file_offset: int | None, zone: str, *, standard_time: bool = False
) -> int | None:
    """The UTC offset a capture time is read with: the file's own, else ``zone``'s at that
    time (its standard time's with ``standard_time``); None for an image with no capture time."""
    if local is None or file_offset is not None:
        return file_offset
    return offset_minutes(local, zone, standard_time=standard_time)


def unclear_in_zone(local: datetime, zone: str, *, standard_time: bool = False) -> bool:
    """Whether a clock change of ``zone`` skips or repeats the wall-clock time ``local``
    (naive): such a time is no instant, or two (it is read with ``fold=0``). A clock on
    standard time all year (``standard_time``) changes never."""
    if standard_time:
        return False
    key = (zone, local.toordinal())
    near = _CHANGES_NEAR.get(key)
    if near is None:
        if len(_CHANGES_NEAR) >= _MAX_DAYS:
            _CHANGES_NEAR.clear()
        near = _CHANGES_NEAR[key] = _changes_near(zone, local.date())
    if not near:
        return False
    tz = _zone(zone)
    return local.replace(tzinfo=tz).utcoffset() != local.replace(tzinfo=tz, fold=1).utcoffset()


#: Whether a clock change is on or next to a day, by zone and day (``toordinal``): most photos'
#: days have none, and a look-up here is all they cost (a tenth of working it out each time).
_CHANGES_NEAR: dict[tuple[str, int], bool] = {}
_MAX_DAYS = 100_000


def _changes_near(zone: str, day: date) -> bool:
    """Whether ``zone``'s offset on the noon before ``day`` differs from the noon after."""
    try:
        tz = _zone(zone)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    before = datetime.combine(day - timedelta(days=1), time(12), tz).utcoffset()
    return before != datetime.combine(day + timedelta(days=1), time(12), tz).utcoffset()


class RereadStatus(StrEnum):
    """Where a re-reading of capture times stands."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    #: A later change of the same zone started another re-reading, which does this one's work.
    SUPERSEDED = "superseded"

    @property
    def finished(self) -> bool:
        """Whether it will not run again."""
        return self not in (RereadStatus.QUEUED, RereadStatus.RUNNING)


@dataclass(frozen=True)
class Reread:
    """A re-reading of capture times after a time zone changed: a deployment's images, or
    (``deployment_id`` None) those that follow the project's default zone."""

    id: int
    project_id: int
    deployment_id: int | None
    #: The zone the change set (the project's default when the deployment follows it).
    time_zone: str
    status: RereadStatus
    images_total: int | None
    images_done: int
    error: str | None
    created_at: datetime
    finished_at: datetime | None
