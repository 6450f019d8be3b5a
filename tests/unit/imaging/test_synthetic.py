"""Made-up light-trap photos: repeatable, with dark moths where the boxes say."""

from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone

import pytest
from PIL import Image, ImageDraw, ImageStat

from trapline.imaging.synthetic import Insect, light_trap_image, light_trap_jpeg, noisy_jpeg
from trapline.imaging.timestamps import exif_timestamp


def test_same_seed_same_picture() -> None:
    first, first_insects = light_trap_image(11, 400, 300)
    second, second_insects = light_trap_image(11, 400, 300)
    assert first.tobytes() == second.tobytes()
    assert first_insects == second_insects
    assert light_trap_jpeg(11, width=400, height=300) == light_trap_jpeg(11, width=400, height=300)


def test_other_seed_other_picture() -> None:
    first, first_insects = light_trap_image(11, 400, 300)
    second, second_insects = light_trap_image(12, 400, 300)
    assert first.tobytes() != second.tobytes()
    assert first_insects != second_insects


def test_picture_has_the_asked_size_and_mode() -> None:
    image, _ = light_trap_image(3, 640, 480)
    assert (image.mode, image.size) == ("RGB", (640, 480))


def test_default_insect_count_varies_from_5_to_25() -> None:
    counts = {len(light_trap_image(seed, 320, 240)[1]) for seed in range(40)}
    assert min(counts) >= 5
    assert max(counts) <= 25
    assert len(counts) > 5


def test_insect_count_can_be_chosen() -> None:
    assert len(light_trap_image(5, insects=3)[1]) == 3
    assert light_trap_image(5, insects=0)[1] == []


def test_too_small_a_picture_is_refused() -> None:
    with pytest.raises(ValueError, match="16x16"):
        light_trap_image(1, 10, 10)


@pytest.mark.parametrize("seed", range(8))
def test_boxes_lie_inside_the_picture_and_fit_the_size_range(seed: int) -> None:
    image, insects = light_trap_image(seed)
    short_side = min(image.size)
    for insect in insects:
        x1, y1, x2, y2 = insect.box
        assert 0 <= x1 < x2 <= image.width
        assert 0 <= y1 < y2 <= image.height
        assert 4 <= max(x2 - x1, y2 - y1) <= 0.08 * 1.7 * short_side


@pytest.mark.parametrize("seed", range(8))
def test_insects_are_dark_on_a_bright_sheet(seed: int) -> None:
    image, insects = light_trap_image(seed)
    gray = image.convert("L")
    sheet_only = Image.new("L", image.size, 255)
    pen = ImageDraw.Draw(sheet_only)
    for insect in insects:
        pen.rectangle(insect.box, fill=0)
    sheet = ImageStat.Stat(gray, mask=sheet_only).mean[0]
    assert sheet > 180
    for insect in insects:
        assert ImageStat.Stat(gray.crop(insect.box)).mean[0] < 0.9 * sheet, insect


@pytest.mark.parametrize("seed", range(4))
def test_insects_do_not_overlap(seed: int) -> None:
    _, insects = light_trap_image(seed, insects=25)

    def overlap(a: Insect, b: Insect) -> int:
        width = min(a.box[2], b.box[2]) - max(a.box[0], b.box[0])
        height = min(a.box[3], b.box[3]) - max(a.box[1], b.box[1])
        return max(0, width) * max(0, height)

    assert all(overlap(a, b) == 0 for i, a in enumerate(insects) for b in insects[i + 1 :])


def _exif_time(data: bytes) -> tuple[datetime, int | None] | None:
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "JPEG"
        return exif_timestamp(image.getexif())


def test_jpeg_carries_the_capture_time() -> None:
    when = datetime(2022, 6, 22, 0, 4, 59)
    assert _exif_time(light_trap_jpeg(1, width=64, height=48)) is None
    assert _exif_time(light_trap_jpeg(1, width=64, height=48, captured_at=when)) == (when, None)
    with_offset = light_trap_jpeg(1, width=64, height=48, captured_at=when, offset="-04:00")
    assert _exif_time(with_offset) == (when, -240)


def test_jpeg_takes_the_offset_of_an_aware_time() -> None:
    when = datetime(2022, 6, 22, 0, 4, 59, tzinfo=timezone(timedelta(hours=5, minutes=30)))
    data = light_trap_jpeg(1, width=64, height=48, captured_at=when)
    assert _exif_time(data) == (when.replace(tzinfo=None), 330)


def test_jpeg_has_the_asked_size() -> None:
    with Image.open(io.BytesIO(light_trap_jpeg(4, width=300, height=200))) as image:
        assert image.size == (300, 200)


@pytest.mark.parametrize("target", [300_000, 1_000_000, 1_500_000, 2_000_000])
def test_noisy_jpeg_is_about_the_asked_size(target: int) -> None:
    data = noisy_jpeg(1, target)
    assert 0.7 * target <= len(data) <= 1.3 * target
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        assert image.format == "JPEG"
        assert image.width > image.height


def test_noisy_jpeg_is_repeatable() -> None:
    assert noisy_jpeg(5, 200_000) == noisy_jpeg(5, 200_000)
    assert noisy_jpeg(5, 200_000) != noisy_jpeg(6, 200_000)
