"""Fetching and decoding task images: limits, bad images, orientation, reduced decoding."""

from __future__ import annotations

import io

import httpx
import pytest
from PIL import Image

from tests.support.scripted import Script, scripted_server
from trapline.worker.images import ImageError, decode, decode_limit, fetch_bytes


def jpeg(width: int, height: int, orientation: int | None = None) -> bytes:
    image = Image.new("RGB", (width, height), (200, 180, 160))
    out = io.BytesIO()
    exif = Image.Exif()
    if orientation:
        exif[0x0112] = orientation
    image.save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def test_fetch_returns_the_body_and_refuses_oversize_and_error_answers() -> None:
    script = Script()
    script.add("/ok.jpg", 200, b"x" * 1000, {"Content-Type": "image/jpeg"})
    script.add("/big.jpg", 200, b"x" * 5000, {"Content-Type": "image/jpeg"})
    script.add("/gone.jpg", 404, b"")
    with scripted_server(script) as url, httpx.Client() as client:
        assert fetch_bytes(client, f"{url}/ok.jpg", max_bytes=1000) == b"x" * 1000
        with pytest.raises(ImageError, match="5000 bytes; the limit is 1000"):
            fetch_bytes(client, f"{url}/big.jpg", max_bytes=1000)
        with pytest.raises(ImageError, match="HTTP 404"):
            fetch_bytes(client, f"{url}/gone.jpg", max_bytes=1000)
    with httpx.Client() as client, pytest.raises(ImageError, match="download failed"):
        fetch_bytes(client, "http://127.0.0.1:9/nothing.jpg", max_bytes=1000)


def test_decode_gives_rgb_and_original_size() -> None:
    image = decode(jpeg(40, 30), "5", url="http://x/5.jpg")
    assert (image.id, image.url, image.image.mode) == ("5", "http://x/5.jpg", "RGB")
    assert image.size == image.image.size == (40, 30)
    assert image.scale == (1.0, 1.0)


def test_exif_rotation_is_applied_and_the_original_size_follows_it() -> None:
    image = decode(jpeg(40, 30, orientation=6), "1")
    assert image.image.size == (30, 40)
    assert image.size == (30, 40)


def test_huge_photos_are_decoded_at_a_reduced_size_with_the_true_size_kept() -> None:
    image = decode(jpeg(4000, 3000), "1", max_pixels=1_000_000)
    assert image.size == (4000, 3000)
    assert image.image.width * image.image.height <= 1_000_000
    assert image.image.width < 4000
    sx, sy = image.scale
    assert sx == pytest.approx(4000 / image.image.width)
    assert sy == pytest.approx(3000 / image.image.height)


def test_a_27_megapixel_photo_reaches_its_pipeline_whole_as_megadetectors_runner_has_it() -> None:
    """6000 x 4500 (27 MP, a large camera trap's): decoded whole at the defaults, pixel for
    pixel what PIL gives MegaDetector's runner, where the old 24 MP limit halved it."""
    data = jpeg(6000, 4500)
    image = decode(data, "1")
    assert image.image.size == image.size == (6000, 4500)
    with Image.open(io.BytesIO(data)) as whole:
        assert image.image.tobytes() == whole.convert("RGB").tobytes()


def test_a_worker_with_little_memory_decodes_past_a_third_of_its_budget_reduced() -> None:
    """A budget of 64 MiB of images decodes at most 22 MP whole: a 27 MP photo comes reduced,
    its true size kept for the boxes; the default budget (512 MiB) leaves the setting."""
    assert decode_limit(100_000_000, 512 * 1024 * 1024) == 100_000_000
    limit = decode_limit(100_000_000, 64 * 1024 * 1024)
    assert limit == 64 * 1024 * 1024 // 3
    image = decode(jpeg(6000, 4500), "1", max_pixels=limit)
    assert image.size == (6000, 4500)
    assert image.image.width * image.image.height <= limit


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"not an image at all", "could not be decoded"),
        (jpeg(64, 48)[:200], "could not be decoded"),
    ],
    ids=["garbage", "truncated"],
)
def test_bad_images_raise_image_error(data: bytes, why: str) -> None:
    with pytest.raises(ImageError, match=why):
        decode(data, "1")
