"""Fetching and decoding task images, with limits that turn bad images into per-image errors.

Images are fetched with a client that carries no platform credentials: ``image_url`` is a
signed or public URL. A photo past the decode limit (100 MP by default, less for a worker with
little memory) is decoded at a reduced size (JPEG draft mode) so that it fits in memory;
``SourceImage.original_size`` keeps the true size for boxes.
"""

from __future__ import annotations

import io
import warnings

import httpx
from PIL import Image, ImageOps

from trapline.pipelines.base import SourceImage

#: Pixels a decoded image may have (width times height) before it is decoded at a reduced size:
#: 100 MP (300 MB of RGB), so that every camera trap's and nearly every phone's photo reaches a
#: pipeline whole, as MegaDetector's runner decodes it, within the worker's default budget. A
#: worker whose memory budget is smaller decodes at a reduced size past a third of it.
DEFAULT_MAX_DECODE_PIXELS = 100_000_000
#: Refuse images whose header claims more pixels than this (decompression bombs).
MAX_HEADER_PIXELS = 400_000_000
_CHUNK = 256 * 1024


def decode_limit(max_pixels: int, budget: int) -> int:
    """Pixels a photo is decoded whole up to: ``max_pixels``, within a third of the worker's
    image budget in bytes (three bytes a pixel), so one photo never holds more than it."""
    return max(1, min(max_pixels, budget // 3))


class ImageError(Exception):
    """An image could not be fetched or decoded; the message says why, for the task's error."""


def fetch_bytes(client: httpx.Client, url: str, *, max_bytes: int) -> bytes:
    """The body at ``url``, refusing more than ``max_bytes``.

    Raises:
        ImageError: for an HTTP error status, a body over the limit, or a transport failure
            that persisted through the client's own retries.
    """
    try:
        with client.stream("GET", url) as response:
            if response.status_code != 200:
                raise ImageError(f"image download failed: HTTP {response.status_code}")
            declared = response.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise ImageError(f"image is {int(declared)} bytes; the limit is {max_bytes}")
            # Chunks joined once: growing one buffer would copy it over and over.
            chunks, size = [], 0
            for chunk in response.iter_bytes(_CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise ImageError(f"image is larger than the limit of {max_bytes} bytes")
                chunks.append(chunk)
            return b"".join(chunks)
    except httpx.HTTPError as exc:
        raise ImageError(f"image download failed: {type(exc).__name__}: {exc}") from exc


def decode(
    data: bytes,
    image_id: str,
    *,
    url: str | None = None,
    max_pixels: int = DEFAULT_MAX_DECODE_PIXELS,
) -> SourceImage:
    """``data`` decoded to RGB and upright (EXIF orientation applied), possibly reduced.

    Raises:
        ImageError: when the bytes are not a complete image PIL can read.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            width, height = image.size
            if width * height > MAX_HEADER_PIXELS:
                raise ImageError(f"image is {width}x{height} pixels; too large to decode")
            if width * height > max_pixels and image.format == "JPEG":
                # Draft mode scales by 1/2, 1/4 or 1/8 to at least the size asked for; asking
                # for half the target keeps the result within max_pixels.
                scale = (max_pixels / (width * height)) ** 0.5 / 2
                image.draft("RGB", (max(1, int(width * scale)), max(1, int(height * scale))))
            image.load()
    except ImageError:
        raise
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombWarning) as exc:
        raise ImageError(f"image could not be decoded: {exc}") from exc
    original = _oriented_size(image, (width, height))
    ImageOps.exif_transpose(image, in_place=True)  # no copy when the photo is upright
    rgb = image if image.mode == "RGB" else image.convert("RGB")
    return SourceImage(id=image_id, image=rgb, url=url, original_size=original)


def decoded_bytes(image: SourceImage) -> int:
    """Memory the decoded pixels take, for the worker's memory budget."""
    width, height = image.image.size
    return width * height * 3


def _oriented_size(image: Image.Image, size: tuple[int, int]) -> tuple[int, int]:
    # EXIF orientations 5 to 8 rotate by 90°, so the upright original swaps width and height.
    orientation = image.getexif().get(0x0112, 1)
    return (size[1], size[0]) if orientation in (5, 6, 7, 8) else size
