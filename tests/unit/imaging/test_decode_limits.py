"""Decode limits: the memory an image takes is judged from its header, bounded, and shared."""

from __future__ import annotations

import io
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from PIL import Image, ImageChops, TiffImagePlugin

from trapline.errors import PayloadTooLarge, Unavailable
from trapline.imaging import limits as decode_limits
from trapline.imaging.limits import DEFAULT_MAX_DECODE_BYTES, DecodeLimits, decode_bytes
from trapline.imaging.probe import _fit, _preview, inspect_image, make_thumbnail
from trapline.imaging.synthetic import flat_png

MIB = 1024 * 1024


def encoded(image: Image.Image, image_format: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, image_format, **options)
    return buffer.getvalue()


def estimate(data: bytes, long_side: int = 256) -> int:
    with Image.open(io.BytesIO(data)) as image:
        size = image.size
        image_format = image.format or ""
        if image_format == "JPEG":
            image.draft("RGB", _fit(size, long_side))
        return decode_bytes(image, image_format, size)


def test_a_small_png_of_huge_pixels_is_refused_before_decoding() -> None:
    data = flat_png(9400, 9400, (30, 90, 160, 255))
    assert len(data) < 2 * MIB
    with pytest.raises(PayloadTooLarge) as caught:
        inspect_image(io.BytesIO(data), "flat.png")
    assert caught.value.status_code == 413
    assert caught.value.code == "image_too_large"
    assert caught.value.detail.startswith(
        '"flat.png" is too large to decode: its 9400 x 9400 pixels (RGBA) would take 337 MiB'
        " of memory, more than the 128 MiB trapline decodes per image"
    )


def test_the_stored_file_is_refused_the_same_way_for_a_thumbnail() -> None:
    data = flat_png(3000, 3000, (1, 2, 3, 4))
    with pytest.raises(PayloadTooLarge, match="The stored file is too large to decode"):
        make_thumbnail(io.BytesIO(data), 1024, limits=DecodeLimits(max_bytes=16 * MIB))


def test_an_image_exactly_at_the_budget_is_decoded() -> None:
    data = flat_png(1000, 500, (200, 100, 50, 255))
    facts = inspect_image(io.BytesIO(data), "edge.png", limits=DecodeLimits(1000 * 500 * 4))
    assert (facts.width, facts.height) == (1000, 500)
    with pytest.raises(PayloadTooLarge):
        inspect_image(io.BytesIO(data), "edge.png", limits=DecodeLimits(1000 * 500 * 4 - 1))


@pytest.mark.parametrize(
    ("colour", "bit_depth", "bytes_per_pixel"),
    [
        ((9,), 8, 1),  # L
        ((9,), 16, 2),  # I;16: scientific greyscale keeps 2 bytes a pixel
        ((9, 9), 8, 4),  # LA
        ((9, 9, 9), 8, 4),  # RGB takes 4 bytes a pixel in Pillow
        ((9, 9, 9, 9), 8, 4),  # RGBA
        ((9, 9, 9, 9), 16, 4),  # 16-bit RGBA is decoded to 8 bits a sample
    ],
)
def test_png_estimates_follow_the_mode(
    colour: tuple[int, ...], bit_depth: int, bytes_per_pixel: int
) -> None:
    assert estimate(flat_png(300, 200, colour, bit_depth=bit_depth)) == 300 * 200 * bytes_per_pixel


def test_webp_counts_the_decoder_canvases() -> None:
    data = encoded(Image.new("RGBA", (300, 200)), "WEBP", lossless=True)
    assert estimate(data) == 300 * 200 * 4 * 4


def test_tiff_counts_one_raw_strip(monkeypatch: pytest.MonkeyPatch) -> None:
    many = encoded(Image.new("RGB", (300, 200)), "TIFF", compression="tiff_adobe_deflate")
    # A writer may put the whole picture in one strip, which libtiff reads whole.
    monkeypatch.setattr(TiffImagePlugin, "STRIP_SIZE", 2**30)
    one = encoded(Image.new("RGB", (300, 200)), "TIFF", compression="tiff_adobe_deflate")
    assert estimate(one) == 300 * 200 * 4 + 300 * 200 * 3
    assert 300 * 200 * 4 < estimate(many) < estimate(one)


def test_progressive_jpeg_counts_every_coefficient() -> None:
    image = Image.new("RGB", (1600, 1200), (10, 200, 30))
    baseline = estimate(encoded(image, "JPEG"))
    # Scaled to 1/4 for a 256 thumbnail (1/8 would be smaller): 400 x 300 pixels of 4 bytes.
    assert baseline == 400 * 300 * 4
    # 4:2:0: a full-size luma plane and two quarter-size chroma planes of 2-byte samples.
    progressive = estimate(encoded(image, "JPEG", progressive=True))
    assert progressive == baseline + 1600 * 1200 * 2 * 3 // 2


def test_baseline_jpeg_of_any_accepted_size_fits_the_default_budget() -> None:
    # 89 megapixels, Pillow's ceiling: decoded at 1/8 scale for a 1024 thumbnail.
    with Image.open(io.BytesIO(encoded(Image.new("RGB", (64, 64)), "JPEG"))) as image:
        image._size = (11_000, 8_100)  # only the header is read; no decode follows
        image.draft("RGB", _fit(image.size, 1024))
        assert decode_bytes(image, "JPEG", (11_000, 8_100)) < DEFAULT_MAX_DECODE_BYTES // 20


def test_shrinking_in_strips_matches_one_resize() -> None:
    # Noise in every band: any seam or shift between strips would show.
    bands = [Image.effect_noise((2400, 1800), 60 + 10 * i) for i in range(3)]
    image = Image.merge("RGB", bands)
    strips = _preview(image, (1024, 768), "noise")
    whole = image.resize((1024, 768), Image.Resampling.BOX)
    assert ImageChops.difference(strips, whole).getbbox() is None


def test_a_transparent_image_shrinks_onto_white() -> None:
    image = Image.new("RGBA", (2400, 1800), (0, 0, 0, 0))
    image.paste((200, 0, 0, 255), (0, 0, 1200, 1800))
    facts = inspect_image(io.BytesIO(encoded(image, "PNG")), "half.png")
    with Image.open(io.BytesIO(facts.thumbnails[256])) as thumbnail:
        red = thumbnail.getpixel((40, 96))
        white = thumbnail.getpixel((216, 96))
    assert isinstance(red, tuple)
    assert isinstance(white, tuple)
    assert red[0] > 180
    assert red[1] < 20
    assert min(white) > 245


def test_decodes_beyond_the_slots_wait_then_give_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(decode_limits, "SLOT_WAIT_SECONDS", 0)
    limits = DecodeLimits(concurrent=1)
    data = flat_png(64, 64, (1, 2, 3))
    with DecodeLimits(concurrent=1).slot():  # the same process-wide slot
        with pytest.raises(Unavailable, match="busy decoding other images") as caught:
            inspect_image(io.BytesIO(data), "waiting.png", limits=limits)
        assert caught.value.status_code == 503
    assert inspect_image(io.BytesIO(data), "waiting.png", limits=limits).width == 64


_MEASURE = textwrap.dedent(
    """
    import io, resource, sys
    from trapline.imaging.probe import inspect_image
    data = open(sys.argv[1], "rb").read()
    inspect_image(io.BytesIO(b"" + open(sys.argv[2], "rb").read()), "warm.png")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    inspect_image(io.BytesIO(data), "big.png", thumbnail_sizes=(1024,))
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print((after - before) * 1024)
    """
)


@pytest.mark.parametrize(
    ("colour", "bit_depth", "decoded_bytes"),
    [
        ((30, 90, 160, 128), 8, 4000 * 4000 * 4),  # RGBA onto white
        ((1234,), 16, 4000 * 4000 * 2),  # 16-bit grey, stretched
    ],
    ids=["rgba", "16-bit"],
)
def test_decoding_holds_little_beside_the_decoded_pixels(
    tmp_path: Path, colour: tuple[int, ...], bit_depth: int, decoded_bytes: int
) -> None:
    # In a process of its own, whose peak RSS says what the decode took; converting the
    # full-size image (to RGBA over white, to float) used to take 3 to 5 times the pixels.
    big, warm = tmp_path / "big.png", tmp_path / "warm.png"
    big.write_bytes(flat_png(4000, 4000, colour, bit_depth=bit_depth))
    warm.write_bytes(flat_png(64, 64, colour, bit_depth=bit_depth))
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(big), str(warm)],
        capture_output=True,
        text=True,
        check=True,
    )
    grew = int(done.stdout)
    assert grew < decoded_bytes * 1.3 + 16 * MIB, f"{grew / MIB:.0f} MiB"
