"""When a photo was taken, read from its file name or its EXIF tags."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from PIL import Image

#: Years outside this range are taken to be some other number (a serial, a counter), not a date.
MIN_YEAR, MAX_YEAR = 1970, 2100

# Date and time digits either run together ("20220622000459", optionally split once between
# date and time) or come with separators ("2022-06-22_00-04-59"). The look-arounds stop a
# match inside a longer run of digits such as a 20-digit serial number.
_FILENAME_PATTERNS = (
    re.compile(r"(?<!\d)(\d{4})(\d{2})(\d{2})[-_T ]?(\d{2})(\d{2})(\d{2})(?!\d)"),
    re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})[-_T ](\d{2})[-:._](\d{2})[-:._](\d{2})(?!\d)"),
)

_EXIF_DATETIME = re.compile(r"(\d{4})[:-](\d{2})[:-](\d{2})[ T](\d{2}):(\d{2}):(\d{2})")
_EXIF_OFFSET = re.compile(r"([+-])(\d{2}):?(\d{2})")
_EXIF_SUBSECONDS = re.compile(r"\d{1,6}")

_EXIF_IFD = 0x8769
_DATETIME = 306
# Each capture-time tag with the sub-second and UTC-offset tags that belong to it, in the
# order they are trusted: when the shutter fired, when it was digitised, when last written.
_EXIF_TIME_TAGS = (
    (36867, 37521, 36881),  # DateTimeOriginal, SubSecTimeOriginal, OffsetTimeOriginal
    (36868, 37522, 36882),  # DateTimeDigitized, SubSecTimeDigitized, OffsetTimeDigitized
    (_DATETIME, 37520, 36880),  # DateTime (IFD0), SubSecTime, OffsetTime
)


def parse_filename_timestamp(name: str) -> datetime | None:
    """Return the capture time written in a file name, or None when it has none or several."""
    basename = name.replace("\\", "/").rsplit("/", 1)[-1]
    found: set[datetime] = set()
    for pattern in _FILENAME_PATTERNS:
        for match in pattern.finditer(basename):
            moment = _datetime_from_parts(match.groups())
            if moment is not None:
                found.add(moment)
    # Two different valid times in one name (a start and an end, say) cannot be told apart.
    return found.pop() if len(found) == 1 else None


def exif_timestamp(exif: Image.Exif) -> tuple[datetime, int | None] | None:
    """Return the EXIF capture time and its UTC offset in minutes (None if unknown), or None."""
    try:
        exif_ifd = dict(exif.get_ifd(_EXIF_IFD))
    except Exception:
        # Pillow's EXIF reader raises many kinds of error on a corrupt IFD; the
        # capture time is a nicety, so a broken block just means "unknown".
        exif_ifd = {}
    for time_tag, subsecond_tag, offset_tag in _EXIF_TIME_TAGS:
        raw = exif.get(time_tag) if time_tag == _DATETIME else exif_ifd.get(time_tag)
        moment = _parse_exif_datetime(raw)
        if moment is None:
            continue
        microseconds = _parse_exif_subseconds(exif_ifd.get(subsecond_tag))
        return moment.replace(microsecond=microseconds), _parse_exif_offset(
            exif_ifd.get(offset_tag)
        )
    return None


def _datetime_from_parts(parts: Sequence[str]) -> datetime | None:
    year, month, day, hour, minute, second = (int(part) for part in parts)
    if not MIN_YEAR <= year <= MAX_YEAR:
        return None
    try:
        return datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None


def _exif_text(value: object) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("ascii", errors="replace")
    if not isinstance(value, str):
        return None
    # Cameras pad fixed-length ASCII fields with NULs or spaces.
    return value.strip("\x00 \t\r\n")


def _parse_exif_datetime(value: object) -> datetime | None:
    text = _exif_text(value)
    match = _EXIF_DATETIME.fullmatch(text) if text else None
    return _datetime_from_parts(match.groups()) if match else None


def _parse_exif_subseconds(value: object) -> int:
    text = _exif_text(value)
    if not text or not _EXIF_SUBSECONDS.fullmatch(text):
        return 0
    # SubSecTime holds the decimal digits after the point: "5" is half a second.
    return int(text.ljust(6, "0"))


def _parse_exif_offset(value: object) -> int | None:
    text = _exif_text(value)
    if text in ("Z", "z"):  # UTC as ISO 8601 writes it (some phones and converters do)
        return 0
    match = _EXIF_OFFSET.fullmatch(text) if text else None
    if match is None:
        return None
    sign, hours, minutes = match.group(1), int(match.group(2)), int(match.group(3))
    if hours > 14 or minutes >= 60:
        return None
    return (-1 if sign == "-" else 1) * (hours * 60 + minutes)
