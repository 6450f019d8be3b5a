"""EXIF tags as text a person reads: names, short values, blobs summarised, bad files empty."""

from __future__ import annotations

import io
from datetime import datetime

from PIL import Image

from trapline.imaging.exif import MAX_VALUE, exif_tags
from trapline.imaging.synthetic import light_trap_jpeg


def _jpeg_with(tags: dict[int, object], exif_ifd: dict[int, object] | None = None) -> bytes:
    exif = Image.Exif()
    for tag, value in tags.items():
        exif[tag] = value
    for tag, value in (exif_ifd or {}).items():
        exif.get_ifd(0x8769)[tag] = value
    out = io.BytesIO()
    Image.new("RGB", (32, 24), "grey").save(out, "JPEG", exif=exif)
    return out.getvalue()


def test_names_values_and_the_exif_sub_block() -> None:
    data = _jpeg_with({0x010F: "Reconyx", 0x0110: "HF2X"}, {0x9003: "2024:06:21 22:05:09"})
    tags = dict(exif_tags(data))
    assert tags["Make"] == "Reconyx"
    assert tags["Model"] == "HF2X"
    assert tags["DateTimeOriginal"] == "2024:06:21 22:05:09"


def test_long_and_binary_values_are_cut_short() -> None:
    data = _jpeg_with({0x010E: "x" * 1000}, {0x9286: b"\x00\x01" * 50, 0xA420: b"\xff\xfe\x00"})
    tags = dict(exif_tags(data))
    assert len(tags["ImageDescription"]) == MAX_VALUE
    assert tags["ImageDescription"].endswith("…")
    assert "UserComment" not in tags  # a blob nobody reads
    assert tags["ImageUniqueID"] == "(3 bytes)"


def test_files_without_tags_or_not_images_give_none() -> None:
    assert exif_tags(light_trap_jpeg(1, width=64, height=48)) == []
    assert exif_tags(b"not an image at all") == []
    assert exif_tags(b"") == []
    taken = light_trap_jpeg(1, width=64, height=48, captured_at=datetime(2024, 1, 2, 3, 4, 5))
    assert dict(exif_tags(taken[:4000]))["DateTimeOriginal"] == "2024:01:02 03:04:05"
