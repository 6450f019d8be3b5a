"""inspect_image and make_thumbnail: what is accepted, what is learned, what is refused."""

from __future__ import annotations

import io
import re
import struct
import warnings
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageChops, ImageStat

from trapline.errors import UnsupportedMediaType
from trapline.imaging.probe import (
    ACCEPTED_FORMATS,
    THUMBNAIL_SIZES,
    ImageFacts,
    inspect_image,
    make_thumbnail,
)
from trapline.imaging.synthetic import light_trap_image, light_trap_jpeg
from trapline.imaging.timestamps import parse_filename_timestamp
from trapline.worker.images import decode

ORIENTATION = 274
#: Real moth-trap photos, where this machine has them; the tests that use them skip otherwise.
REAL_PHOTOS = Path("/work/shared/data/moth-trap-images")


def encoded(image: Image.Image, image_format: str, **options: Any) -> io.BytesIO:
    buffer = io.BytesIO()
    if image_format == "PNG":
        # Grainy pictures take zlib a long time at its default level.
        options.setdefault("compress_level", 1)
    image.save(buffer, image_format, **options)
    buffer.seek(0)
    return buffer


def sheet(width: int = 640, height: int = 480) -> Image.Image:
    image, _ = light_trap_image(7, width, height)
    return image


def thumbnail_size(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as thumbnail:
        assert thumbnail.format == "JPEG"
        assert thumbnail.mode == "RGB"
        return thumbnail.size


@pytest.mark.parametrize(
    ("pillow_format", "content_type", "extension"),
    [
        ("JPEG", "image/jpeg", "jpg"),
        ("PNG", "image/png", "png"),
        ("TIFF", "image/tiff", "tif"),
        ("WEBP", "image/webp", "webp"),
    ],
)
def test_accepted_formats_are_described(
    pillow_format: str, content_type: str, extension: str
) -> None:
    facts = inspect_image(encoded(sheet(640, 480), pillow_format), f"sheet.{extension}")
    assert (facts.format, facts.content_type, facts.extension) == (
        pillow_format,
        content_type,
        extension,
    )
    assert (facts.width, facts.height) == (640, 480)
    assert ACCEPTED_FORMATS[pillow_format] == (content_type, extension)


def test_a_multi_picture_jpeg_counts_as_jpeg() -> None:
    image = sheet(320, 240)
    stream = encoded(image, "MPO", save_all=True, append_images=[image])
    facts = inspect_image(stream, "stereo.jpg")
    assert (facts.format, facts.content_type, facts.width, facts.height) == (
        "JPEG",
        "image/jpeg",
        320,
        240,
    )


def test_width_and_height_are_the_upright_photos() -> None:
    """A photo stored 640x480 that its EXIF orientation turns a quarter (a phone held upright)
    is 480 wide and 640 high: the frame workers detect in, as they turn it upright."""
    exif = Image.Exif()
    exif[ORIENTATION] = 6
    facts = inspect_image(encoded(sheet(640, 480), "JPEG", exif=exif.tobytes()), "turned.jpg")
    assert (facts.width, facts.height) == (480, 640)
    # The thumbnail keeps the tag, so a browser turns it the way it turns the original.
    with Image.open(io.BytesIO(facts.thumbnails[256])) as thumbnail:
        assert thumbnail.size == (256, 192)
        assert thumbnail.getexif()[ORIENTATION] == 6


def _orientation_of_type(kind: int, value: bytes) -> bytes:
    """An EXIF block (little-endian TIFF) whose one tag is the orientation, stored as the TIFF
    type ``kind`` (5: a rational, 12: a double; cameras write a short) holding ``value``."""
    entry = struct.pack("<HHII", ORIENTATION, kind, 1, 26)  # the value follows the directory
    return b"Exif\x00\x00II*\x00" + struct.pack("<IH", 8, 1) + entry + struct.pack("<I", 0) + value


@pytest.mark.parametrize(
    ("kind", "value", "upright"),
    [
        (5, struct.pack("<II", 6, 1), (480, 640)),  # 6/1: a quarter turn
        (12, struct.pack("<d", 6.0), (480, 640)),
        (12, struct.pack("<d", 3.0), (640, 480)),  # half a turn
        (12, struct.pack("<d", 6.5), (640, 480)),  # no orientation: as stored
        (5, struct.pack("<II", 13, 2), (640, 480)),
    ],
    ids=["rational-6", "double-6", "double-3", "double-6.5", "rational-13/2"],
)
def test_an_orientation_of_another_type_is_read_as_workers_read_it(
    kind: int, value: bytes, upright: tuple[int, int]
) -> None:
    """An orientation stored as a number of another type turns the photo as a worker turns it
    before it detects (Pillow's ``exif_transpose``): the server's frame is the boxes' frame."""
    data = encoded(sheet(640, 480), "JPEG", exif=_orientation_of_type(kind, value)).getvalue()
    facts = inspect_image(io.BytesIO(data), "turned.jpg")
    decoded = decode(data, "1")
    assert (facts.width, facts.height) == decoded.original_size == decoded.image.size == upright


def test_exif_time_wins_over_the_file_name() -> None:
    data = light_trap_jpeg(
        1, width=320, height=240, captured_at=datetime(2023, 1, 2, 3, 4, 5), offset="+01:00"
    )
    facts = inspect_image(io.BytesIO(data), "vermont-20220622000459-108-snapshot.jpg")
    assert facts.captured_at == datetime(2023, 1, 2, 3, 4, 5)
    assert facts.captured_offset_minutes == 60


def test_exif_time_without_offset() -> None:
    data = light_trap_jpeg(1, width=320, height=240, captured_at=datetime(2023, 1, 2, 3, 4, 5))
    facts = inspect_image(io.BytesIO(data), "snapshot.jpg")
    assert (facts.captured_at, facts.captured_offset_minutes) == (
        datetime(2023, 1, 2, 3, 4, 5),
        None,
    )


def test_exif_time_is_read_from_png_too() -> None:
    exif = Image.Exif()
    exif.get_ifd(0x8769)[36867] = "2021:05:06 07:08:09"
    facts = inspect_image(encoded(sheet(64, 48), "PNG", exif=exif.tobytes()), "a.png")
    assert facts.captured_at == datetime(2021, 5, 6, 7, 8, 9)


def test_file_name_time_when_there_is_no_exif() -> None:
    data = light_trap_jpeg(1, width=320, height=240)
    facts = inspect_image(io.BytesIO(data), "denmark-20220810232637-00-16.jpg")
    assert facts.captured_at == datetime(2022, 8, 10, 23, 26, 37)
    assert facts.captured_offset_minutes is None


def test_no_time_anywhere_gives_none() -> None:
    facts = inspect_image(io.BytesIO(light_trap_jpeg(1, width=320, height=240)), "moth.jpg")
    assert (facts.captured_at, facts.captured_offset_minutes) == (None, None)


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        ((1600, 1200), {256: (256, 192), 1024: (1024, 768)}),
        ((1200, 1600), {256: (192, 256), 1024: (768, 1024)}),
        ((2887, 1925), {256: (256, 171), 1024: (1024, 683)}),
        ((1000, 1000), {256: (256, 256), 1024: (1000, 1000)}),
        ((200, 150), {256: (200, 150), 1024: (200, 150)}),
    ],
)
@pytest.mark.parametrize("pillow_format", ["JPEG", "PNG"])
def test_thumbnails_keep_the_aspect_and_never_upscale(
    size: tuple[int, int], expected: dict[int, tuple[int, int]], pillow_format: str
) -> None:
    # A plain gradient: only the sizes matter here, and it encodes fast.
    image = Image.linear_gradient("L").resize(size).convert("RGB")
    facts = inspect_image(encoded(image, pillow_format), "sheet")
    assert {side: thumbnail_size(data) for side, data in facts.thumbnails.items()} == expected


def test_thumbnails_are_made_by_default_at_the_standard_sizes() -> None:
    facts = inspect_image(encoded(sheet(), "JPEG"), "sheet.jpg")
    assert sorted(facts.thumbnails) == sorted(THUMBNAIL_SIZES) == [256, 1024]


def test_thumbnail_sizes_can_be_chosen_or_skipped() -> None:
    facts = inspect_image(encoded(sheet(), "JPEG"), "sheet.jpg", thumbnail_sizes=[64])
    assert {side: thumbnail_size(data) for side, data in facts.thumbnails.items()} == {64: (64, 48)}
    assert inspect_image(encoded(sheet(), "JPEG"), "s.jpg", thumbnail_sizes=()).thumbnails == {}
    with pytest.raises(ValueError, match="positive"):
        inspect_image(encoded(sheet(), "JPEG"), "s.jpg", thumbnail_sizes=[0])


def test_thumbnail_shows_the_picture() -> None:
    image = Image.new("RGB", (800, 400), (250, 250, 250))
    image.paste((0, 0, 0), (0, 0, 400, 400))
    facts = inspect_image(encoded(image, "JPEG", quality=95), "half.jpg")
    with Image.open(io.BytesIO(facts.thumbnails[256])) as thumbnail:
        assert thumbnail.size == (256, 128)
        assert sum(thumbnail.getpixel((20, 64))) < 30  # type: ignore[arg-type]
        assert sum(thumbnail.getpixel((236, 64))) > 700  # type: ignore[arg-type]


def test_transparent_areas_become_white() -> None:
    image = Image.new("RGBA", (100, 100), (0, 0, 0, 0))
    facts = inspect_image(encoded(image, "PNG"), "clear.png")
    with Image.open(io.BytesIO(facts.thumbnails[256])) as thumbnail:
        assert thumbnail.getpixel((50, 50)) >= (250, 250, 250)  # type: ignore[operator]


def test_sixteen_bit_images_get_a_stretched_preview() -> None:
    image = Image.new("I;16", (64, 64), 1000)
    image.paste(3000, (32, 0, 64, 64))
    facts = inspect_image(encoded(image, "PNG"), "science.png")
    with Image.open(io.BytesIO(facts.thumbnails[256])) as thumbnail:
        dark, light = thumbnail.convert("L").getextrema()
    assert dark < 20  # type: ignore[operator]
    assert light > 235  # type: ignore[operator]


def test_stream_is_rewound_and_left_open() -> None:
    stream = encoded(sheet(), "JPEG")
    stream.seek(100)
    inspect_image(stream, "sheet.jpg")
    assert stream.tell() == 0
    assert not stream.closed
    assert Image.open(stream).size == (640, 480)


def test_stream_is_rewound_after_a_refusal() -> None:
    stream = io.BytesIO(b"not an image at all")
    with pytest.raises(UnsupportedMediaType):
        inspect_image(stream, "notes.txt")
    assert stream.tell() == 0


def _refusal(data: bytes, filename: str) -> str:
    with pytest.raises(UnsupportedMediaType) as caught:
        inspect_image(io.BytesIO(data), filename)
    assert caught.value.status_code == 415
    assert caught.value.code == "unsupported_media_type"
    assert f'"{filename}" is not an image trapline can read' in caught.value.detail
    return caught.value.detail


def test_non_image_bytes_are_refused_by_name() -> None:
    detail = _refusal(b"Moths seen on 22 June:\n- Large Yellow Underwing\n", "notes.txt")
    assert detail == (
        '"notes.txt" is not an image trapline can read (JPEG, PNG, TIFF or WebP): '
        "cannot identify image file"
    )


def test_empty_file_is_refused() -> None:
    _refusal(b"", "empty.jpg")


def test_gif_is_refused() -> None:
    _refusal(encoded(sheet(64, 48), "GIF").getvalue(), "moth.gif")


@pytest.mark.parametrize("progressive", [False, True])
def test_truncated_jpeg_is_refused(progressive: bool) -> None:
    data = encoded(sheet(), "JPEG", progressive=progressive).getvalue()
    assert "truncated" in _refusal(data[: len(data) // 2], "half.jpg")


def test_jpeg_missing_only_its_end_marker_is_refused() -> None:
    data = encoded(sheet(), "JPEG").getvalue()
    _refusal(data[:-2], "almost.jpg")


@pytest.mark.parametrize("pillow_format", ["PNG", "TIFF", "WEBP"])
def test_truncated_lossless_formats_are_refused(pillow_format: str) -> None:
    data = encoded(sheet(), pillow_format).getvalue()
    _refusal(data[: len(data) // 2], f"half.{pillow_format.lower()}")


def test_decompression_bomb_error_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    data = encoded(sheet(200, 200), "PNG").getvalue()
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 10_000)
    assert "decompression bombs" in _refusal(data, "bomb.png")


def test_decompression_bomb_warning_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    # 15,000 pixels is over the limit but under twice it, where Pillow only warns.
    data = encoded(sheet(150, 100), "JPEG").getvalue()
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 10_000)
    assert "decompression bombs" in _refusal(data, "bomb.jpg")


def test_decompression_bomb_is_refused_even_when_warnings_are_ignored(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = encoded(sheet(150, 100), "PNG").getvalue()
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 10_000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        detail = _refusal(data, "bomb.png")
    assert "15,000 pixels (150x100)" in detail


def test_facts_do_not_print_thumbnail_bytes() -> None:
    facts = inspect_image(encoded(sheet(), "JPEG"), "sheet.jpg")
    assert isinstance(facts, ImageFacts)
    assert "thumbnails" not in repr(facts)


class _Unseekable(io.RawIOBase):
    """A read-only stream like an HTTP body from object storage."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        chunk = self._data.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)


@pytest.mark.parametrize("size", [256, 1024, 64])
def test_make_thumbnail_matches_inspect_image(size: int) -> None:
    data = encoded(sheet(1600, 1200), "JPEG").getvalue()
    thumbnail = make_thumbnail(io.BytesIO(data), size)
    assert max(thumbnail_size(thumbnail)) == size
    if size in THUMBNAIL_SIZES:
        # Not byte-equal: inspect_image cuts the small thumbnail from the large one.
        on_upload = inspect_image(io.BytesIO(data), "sheet.jpg").thumbnails[size]
        with Image.open(io.BytesIO(thumbnail)) as one, Image.open(io.BytesIO(on_upload)) as two:
            difference = ImageChops.difference(one.convert("L"), two.convert("L"))
            assert ImageStat.Stat(difference).mean[0] < 3


def test_make_thumbnail_reads_unseekable_streams() -> None:
    data = encoded(sheet(1600, 1200), "PNG").getvalue()
    assert thumbnail_size(make_thumbnail(_Unseekable(data), 256)) == (256, 192)  # type: ignore[arg-type]


def test_make_thumbnail_refuses_what_it_cannot_read() -> None:
    with pytest.raises(UnsupportedMediaType, match="The stored file is not an image"):
        make_thumbnail(io.BytesIO(b"garbage"), 256)
    with pytest.raises(UnsupportedMediaType, match=re.escape('"k/moth.jpg" is not an image')):
        make_thumbnail(io.BytesIO(b"garbage"), 256, filename="k/moth.jpg")


@pytest.mark.skipif(
    not REAL_PHOTOS.is_dir() or not any(REAL_PHOTOS.glob("*.[jJ][pP][gG]")),
    reason=f"no real moth-trap photos in {REAL_PHOTOS}",
)
def test_real_trap_photos() -> None:
    for path in sorted(REAL_PHOTOS.glob("*.[jJ][pP][gG]")):
        with path.open("rb") as stream:
            facts = inspect_image(stream, path.name)
        assert facts.format == "JPEG", path.name
        assert facts.captured_at is not None, path.name
        # Where the name has a time too, the camera wrote the same one in EXIF.
        from_name = parse_filename_timestamp(path.name)
        assert from_name in (None, facts.captured_at), path.name
        long_side = max(facts.width, facts.height)
        for size, data in facts.thumbnails.items():
            assert max(thumbnail_size(data)) == min(size, long_side), path.name
