"""Canonical time zone names, and what to use instead of a name that is not one.

The zone database keeps old names as aliases of today's (links: ``US/Eastern`` is
``America/New_York``, ``Asia/Calcutta`` is ``Asia/Kolkata``) and a few names that are not
places at all (``EST``, ``CET``, ``GMT+5``, whose sign is the reverse of what it seems). A
deployment's zone is taken in canonical form only, so that the same place is always written
the same way in pages and exports: an ``Area/Location`` zone of the database, a zone
``zone.tab`` lists for a country (``Europe/Amsterdam``, also where a build of the database makes
it an alias of a neighbour's), or ``UTC``. Any other name the database knows is refused with
the name to use, never rewritten (docs/web.md, Time zones).

The database's source, ``tzdata.zi``, is read where ``zoneinfo`` reads its zones: the first
folder of its search path that has it, else the ``tzdata`` package. Without it every known name
is taken, as nothing tells aliases apart.
"""

from __future__ import annotations

import contextlib
import re
import zoneinfo
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

#: The name of the zone at UTC+00:00 that projects start with.
UTC_NAME = "UTC"
#: Two moments, winter and summer of either hemisphere: a zone whose offset is the same at
#: both keeps one offset all year.
_PROBES = (datetime(2025, 1, 15, tzinfo=UTC), datetime(2025, 7, 15, tzinfo=UTC))
#: An offset written as people write it: ``GMT+5``, ``UTC-03``, ``+03:00``.
_OFFSET = re.compile(r"(?:GMT|UTC)?\s*([+-])(\d{1,2})(?::?00)?", re.IGNORECASE)
_PLACE = "use the place's own zone, an Area/Location name such as Europe/Paris or America/New_York"


@dataclass(frozen=True)
class ZoneNames:
    """What the zone database says of its names."""

    #: Zones (``Z`` lines of tzdata.zi) and the zones zone.tab lists.
    zones: frozenset[str]
    #: Alias → the zone it names.
    links: dict[str, str]

    def canonical(self, name: str) -> bool:
        """Whether ``name`` is taken as it is."""
        return name == UTC_NAME or ("/" in name and name in self.zones)


def parse(tzdata_zi: str, zone_tab: str = "") -> ZoneNames:
    """The names of a ``tzdata.zi`` file, with those of a ``zone.tab`` file as zones."""
    zones: set[str] = set()
    links: dict[str, str] = {}
    for line in tzdata_zi.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] == "Z":
            zones.add(parts[1])
        elif len(parts) == 3 and parts[0] == "L":
            links[parts[2]] = parts[1]
    for line in zone_tab.splitlines():
        columns = line.split("\t")
        if len(columns) >= 3 and not line.startswith("#"):
            zones.add(columns[2])
            links.pop(columns[2], None)
    return ZoneNames(frozenset(zones), links)


@lru_cache(maxsize=1)
def zone_names() -> ZoneNames | None:
    """The names of the zone database ``zoneinfo`` reads (None: its source is nowhere)."""
    folders: list[Traversable] = [Path(folder) for folder in zoneinfo.TZPATH]
    with contextlib.suppress(ModuleNotFoundError):  # the tzdata package, zoneinfo's fallback
        folders.append(resources.files("tzdata") / "zoneinfo")
    for folder in folders:
        source, tab = folder / "tzdata.zi", folder / "zone.tab"
        if source.is_file():
            return parse(source.read_text("utf-8"), tab.read_text("utf-8") if tab.is_file() else "")
    return None


def not_canonical(name: str, names: ZoneNames | None = None) -> str | None:
    """Why a known zone name is not the one to store, with the one to use; None when it is
    canonical (or nothing tells)."""
    names = names if names is not None else zone_names()
    if names is None or names.canonical(name):
        return None
    target = names.links.get(name)
    if "/" in name and target is not None and names.canonical(target):
        return f"{name} is an old alias; use {target}"
    offsets = {zoneinfo.ZoneInfo(name).utcoffset(moment) for moment in _PROBES}
    if len(offsets) > 1 or None in offsets:
        return f"{name} is a rule, not a place: {_PLACE}"
    (offset,) = offsets
    assert offset is not None
    hours, rest = divmod(int(offset.total_seconds()), 3600)
    if rest or not -12 <= hours <= 14:
        return f"{name} is not a place: {_PLACE}"
    return f"{name} is {_fixed(hours)}"


def offset_name(name: str) -> str | None:
    """What to use for a UTC offset given as a zone (``GMT+5``, ``+03:00``), read as people
    mean it (``GMT+5``: five hours ahead of UTC); None when ``name`` is no such offset."""
    written = _OFFSET.fullmatch(name.strip())
    if written is None:
        return None
    hours = int(written[2]) * (-1 if written[1] == "-" else 1)
    if not -12 <= hours <= 14:
        return None
    return f"{name} is {_fixed(hours)}"


def _fixed(hours: int) -> str:
    """The rest of a sentence on a name for a fixed offset of ``hours`` from UTC."""
    if hours == 0:
        return "UTC+00:00, not a place: use UTC, or the place's own zone"
    # The Etc names have POSIX signs: Etc/GMT+5 is five hours behind UTC.
    return (
        f"a fixed offset (UTC{hours:+03d}:00), not a place: {_PLACE}, or Etc/GMT{-hours:+d} "
        f"for a clock kept at UTC{hours:+03d}:00 all year"
    )
