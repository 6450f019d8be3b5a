"""Capture times from file names and EXIF tags."""

from __future__ import annotations

import io
import struct
from datetime import datetime

import pytest
from PIL import Image

from trapline.imaging.synthetic import light_trap_jpeg
from trapline.imaging.timestamps import exif_timestamp, parse_filename_timestamp

EXIF_IFD = 0x8769
DATETIME = 306
DATETIME_ORIGINAL = 36867
DATETIME_DIGITIZED = 36868
SUBSEC_TIME_ORIGINAL = 37521
OFFSET_TIME_ORIGINAL = 36881


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("20220622000459.jpg", datetime(2022, 6, 22, 0, 4, 59)),
        ("20220622-000459.jpg", datetime(2022, 6, 22, 0, 4, 59)),
        ("2022-06-22_00-04-59.jpg", datetime(2022, 6, 22, 0, 4, 59)),
        ("20220622_000459.jpg", datetime(2022, 6, 22, 0, 4, 59)),
        ("01-20231110214539-snapshot.jpg", datetime(2023, 11, 10, 21, 45, 39)),
        ("vermont-20220622000459-108-snapshot.jpg", datetime(2022, 6, 22, 0, 4, 59)),
        ("denmark-20220810232637-00-16.jpg", datetime(2022, 8, 10, 23, 26, 37)),
        ("cyprus-84-20220916202959-snapshot.jpg", datetime(2022, 9, 16, 20, 29, 59)),
        ("2022-06-22T00:04:59", datetime(2022, 6, 22, 0, 4, 59)),
        ("2022-06-22 00-04-59", datetime(2022, 6, 22, 0, 4, 59)),
        ("2022-06-22 00.04.59.png", datetime(2022, 6, 22, 0, 4, 59)),
        ("20231231235959.TIFF", datetime(2023, 12, 31, 23, 59, 59)),
        ("IMG_20240229_120000.jpg", datetime(2024, 2, 29, 12, 0, 0)),
        ("uploads/2021/20220622000459.jpg", datetime(2022, 6, 22, 0, 4, 59)),
        ("C:\\traps\\2019\\20220622_000459.jpg", datetime(2022, 6, 22, 0, 4, 59)),
        ("20220622000459-copy-20220622000459.jpg", datetime(2022, 6, 22, 0, 4, 59)),
    ],
)
def test_file_name_patterns_give_the_capture_time(name: str, expected: datetime) -> None:
    assert parse_filename_timestamp(name) == expected


@pytest.mark.parametrize(
    "name",
    [
        "IMG_1234.jpg",
        "",
        "20221345000000.jpg",  # month 13
        "20221301000000.jpg",  # month 13, valid day
        "20220230120000.jpg",  # 30 February
        "20230229120000.jpg",  # 29 February in a common year
        "20220622250000.jpg",  # hour 25
        "20220622006000.jpg",  # minute 60
        "2022-13-01_00-00-00.jpg",
        "12345678901234567890.jpg",  # a 20-digit serial, not a time
        "20220622000459123.jpg",  # 17 digits: a time only by accident
        "120220622000459.jpg",  # 15 digits
        "18500622000459.jpg",  # too long ago to be a camera clock
        "2022-06-22.jpg",  # a date alone says nothing about the hour
        "20220622000459-20220623000459.jpg",  # two different times: ambiguous
    ],
)
def test_names_without_one_valid_time_give_none(name: str) -> None:
    assert parse_filename_timestamp(name) is None


def test_directory_digits_do_not_count() -> None:
    assert parse_filename_timestamp("20220622000459/snapshot.jpg") is None


def _exif(
    original: object = None,
    *,
    datetime_tag: object = None,
    extra: dict[int, object] | None = None,
) -> Image.Exif:
    exif = Image.Exif()
    if datetime_tag is not None:
        exif[DATETIME] = datetime_tag
    exif_ifd = exif.get_ifd(EXIF_IFD)
    if original is not None:
        exif_ifd[DATETIME_ORIGINAL] = original
    exif_ifd.update(extra or {})
    return exif


def test_exif_original_time_without_offset() -> None:
    assert exif_timestamp(_exif("2022:06:22 00:04:59")) == (datetime(2022, 6, 22, 0, 4, 59), None)


@pytest.mark.parametrize(
    ("offset", "minutes"),
    [("+02:00", 120), ("-05:30", -330), ("+00:00", 0), ("+0545", 345), ("-04:00\x00", -240)],
)
def test_exif_offset_gives_minutes_east_of_utc(offset: str, minutes: int) -> None:
    exif = _exif("2022:06:22 00:04:59", extra={OFFSET_TIME_ORIGINAL: offset})
    assert exif_timestamp(exif) == (datetime(2022, 6, 22, 0, 4, 59), minutes)


@pytest.mark.parametrize("offset", ["   :  ", "Europe/Paris", "+25:00", "+02:99", 120])
def test_unreadable_offset_keeps_the_time(offset: object) -> None:
    exif = _exif("2022:06:22 00:04:59", extra={OFFSET_TIME_ORIGINAL: offset})
    assert exif_timestamp(exif) == (datetime(2022, 6, 22, 0, 4, 59), None)


@pytest.mark.parametrize(
    "value",
    ["2022:06:22 00:04:59\x00", "2022:06:22 00:04:59  ", b"2022:06:22 00:04:59\x00"],
)
def test_exif_padding_is_tolerated(value: object) -> None:
    assert exif_timestamp(_exif(value)) == (datetime(2022, 6, 22, 0, 4, 59), None)


@pytest.mark.parametrize(("subseconds", "micro"), [("5", 500_000), ("123", 123_000), ("00", 0)])
def test_exif_subseconds_are_kept(subseconds: str, micro: int) -> None:
    exif = _exif("2022:06:22 00:04:59", extra={SUBSEC_TIME_ORIGINAL: subseconds})
    assert exif_timestamp(exif) == (datetime(2022, 6, 22, 0, 4, 59, micro), None)


def test_garbage_subseconds_are_ignored() -> None:
    exif = _exif("2022:06:22 00:04:59", extra={SUBSEC_TIME_ORIGINAL: "soon"})
    assert exif_timestamp(exif) == (datetime(2022, 6, 22, 0, 4, 59), None)


def test_exif_datetime_in_ifd0_is_the_fallback() -> None:
    exif = _exif(datetime_tag="2021:01:02 03:04:05")
    assert exif_timestamp(exif) == (datetime(2021, 1, 2, 3, 4, 5), None)


def test_exif_original_time_wins_over_the_file_write_time() -> None:
    exif = _exif("2022:06:22 00:04:59", datetime_tag="2023:01:01 00:00:00")
    assert exif_timestamp(exif) == (datetime(2022, 6, 22, 0, 4, 59), None)


def test_garbage_original_time_falls_back_to_digitized_time() -> None:
    exif = _exif("0000:00:00 00:00:00", extra={DATETIME_DIGITIZED: "2022:06:22 00:05:00"})
    assert exif_timestamp(exif) == (datetime(2022, 6, 22, 0, 5, 0), None)


@pytest.mark.parametrize(
    "value",
    [
        "not a date",
        "0000:00:00 00:00:00",
        "    :  :     :  :  ",
        "2022:13:22 00:04:59",
        "2022:06:22 24:04:59",
        "2022:06:22",
        "",
        12345,
        b"\xff\xfe\x00",
    ],
)
def test_garbage_exif_time_gives_none(value: object) -> None:
    assert exif_timestamp(_exif(value, datetime_tag=value)) is None


def test_no_exif_gives_none() -> None:
    assert exif_timestamp(Image.Exif()) is None


def test_corrupt_exif_block_gives_none() -> None:
    # An IFD0 whose only entry points the Exif IFD far past the end of the data.
    tiff = b"MM\x00*\x00\x00\x00\x08" + struct.pack(">HHHII", 1, EXIF_IFD, 4, 1, 99_999)
    exif = Image.Exif()
    exif.load(b"Exif\x00\x00" + tiff + b"\x00\x00\x00\x00")
    assert exif_timestamp(exif) is None


def test_exif_read_back_from_a_jpeg() -> None:
    data = light_trap_jpeg(
        1, width=64, height=48, captured_at=datetime(2022, 6, 22, 0, 4, 59), offset="+02:00"
    )
    with Image.open(io.BytesIO(data)) as image:
        assert exif_timestamp(image.getexif()) == (datetime(2022, 6, 22, 0, 4, 59), 120)
