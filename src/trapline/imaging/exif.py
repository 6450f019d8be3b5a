"""A photo's EXIF tags as a person reads them: names, and values as short text."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

from PIL import ExifTags, Image, UnidentifiedImageError

#: Bytes read from the start of a file: a JPEG's EXIF block (APP1) is at most 64 KiB and comes
#: first; a TIFF's tags are near its start too.
HEAD_BYTES = 1 << 20
#: Most tags shown, and longest value text.
MAX_TAGS = 300
MAX_VALUE = 200

_EXIF_IFD = 0x8769
_GPS_IFD = 0x8825
#: Tags whose values are blobs (thumbnails, maker data) no person reads.
_SKIPPED = {0x927C, 0x9286, 0x0201, 0x0202, 0xA302, 0x8773}


def exif_tags(head: bytes) -> list[tuple[str, str]]:
    """(name, value) of each EXIF tag in the first bytes of an image file, in file order;
    none when the file has none or is not an image PIL reads."""
    try:
        with Image.open(io.BytesIO(head)) as image:
            exif = image.getexif()
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return []
    found = []
    for name, value in _tags(exif):
        found.append((name, _text(value)))
        if len(found) >= MAX_TAGS:
            break
    return found


def _tags(exif: Image.Exif) -> Iterator[tuple[str, Any]]:
    for tag, value in exif.items():
        if tag not in (_EXIF_IFD, _GPS_IFD) and tag not in _SKIPPED:
            yield ExifTags.TAGS.get(tag, f"0x{tag:04x}"), value
    for tag, value in exif.get_ifd(_EXIF_IFD).items():
        if tag not in _SKIPPED:
            yield ExifTags.TAGS.get(tag, f"0x{tag:04x}"), value
    for tag, value in exif.get_ifd(_GPS_IFD).items():
        yield "GPS " + ExifTags.GPSTAGS.get(tag, f"0x{tag:04x}"), value


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        decoded = value.rstrip(b"\x00")
        if decoded.isascii() and decoded.decode().isprintable():
            value = decoded.decode()
        else:
            return f"({len(value)} bytes)"
    text = str(value).strip().replace("\x00", "")
    return text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 1] + "…"
