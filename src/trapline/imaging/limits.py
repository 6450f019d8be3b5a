"""How much memory decoding may take: a byte budget per image, a cap on decodes at once, and
what decoding one image takes (``decode_bytes``, read from its header).

A few hundred KB of PNG can hold a flat 9,400 x 9,400 RGBA picture, 353 MB once decoded. The
budget is checked from the file's header, before any pixel is decoded; the cap is one set of
slots shared by every decode of the process (uploads and thumbnails made on demand), so a
request of many such files, or many requests at once, hold at most ``concurrent x max_bytes``.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from PIL import Image

from trapline.errors import Unavailable
from trapline.settings import DEFAULT_MAX_CONCURRENT_DECODES, DEFAULT_MAX_DECODE_BYTES

#: Seconds a decode waits for a free slot before the request is answered 503.
SLOT_WAIT_SECONDS = 120.0


@dataclass(frozen=True)
class DecodeLimits:
    """The memory bounds of decoding, from the settings of the process."""

    #: Most bytes the decoder and the decoded pixels of one image may take.
    max_bytes: int = DEFAULT_MAX_DECODE_BYTES
    #: Decodes run at once in this process; more wait for a slot.
    concurrent: int = DEFAULT_MAX_CONCURRENT_DECODES

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one of the process's decode slots for the block."""
        slots = _slots(self.concurrent)
        if not slots.acquire(timeout=SLOT_WAIT_SECONDS):
            raise Unavailable(
                "the server is busy decoding other images; retry in a moment",
                retry_after=5,
                code="busy",
            )
        try:
            yield
        finally:
            slots.release()


_registry_lock = threading.Lock()
_registry: dict[int, threading.BoundedSemaphore] = {}


def _slots(count: int) -> threading.BoundedSemaphore:
    # One semaphore per size, made once: every app of the process with the same setting
    # shares it (a process normally has one app; the tests make many).
    with _registry_lock:
        slots = _registry.get(count)
        if slots is None:
            slots = _registry[count] = threading.BoundedSemaphore(count)
        return slots


def decode_bytes(image: Image.Image, image_format: str, stored_size: tuple[int, int]) -> int:
    """Bytes that loading the opened ``image`` takes: its pixels as Pillow keeps them, and
    what the format's decoder holds besides (measured for each format with Pillow 13).

    ``image`` is opened, not loaded; for a JPEG, after ``draft`` (its size is then the
    reduced one, ``stored_size`` the file's).
    """
    width, height = image.size
    pixels = width * height * _BYTES_PER_PIXEL.get(image.mode, 4)
    if image_format == "WEBP":
        # libwebp's animation decoder keeps two RGBA canvases and hands Pillow a copy,
        # which Pillow unpacks into its own image: four canvases in all.
        return width * height * 4 * 4
    if image_format == "TIFF":
        return pixels + _tiff_strip_bytes(image)
    if image_format == "JPEG" and image.info.get("progressive"):
        # A progressive JPEG is refined scan by scan, so libjpeg holds every DCT coefficient
        # of the full-size image (2 bytes a sample), however small the scale it outputs.
        return pixels + _coefficient_bytes(image, stored_size)
    return pixels


#: Bytes a pixel takes in Pillow's memory, by mode; every other mode takes 4.
_BYTES_PER_PIXEL = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16L": 2, "I;16B": 2, "I;16N": 2}


def _tiff_strip_bytes(image: Image.Image) -> int:
    """libtiff's buffer of one raw strip or tile; a file written as one strip has them all."""
    width, height = image.size
    tags = getattr(image, "tag_v2", {})
    try:
        samples = int(tags.get(277, 1))
        bits = tags.get(258, (8,))
        bits = bits if isinstance(bits, tuple) else (bits,)
        bits_per_pixel = (
            sum(int(b) for b in bits) if len(bits) == samples else int(bits[0]) * samples
        )
        if 322 in tags and 323 in tags:
            tile_width, tile_height = int(tags[322]), int(tags[323])
            return math.ceil(tile_width * bits_per_pixel / 8) * tile_height
        rows = min(height, int(tags.get(278, height)))
        return math.ceil(width * bits_per_pixel / 8) * rows
    except (TypeError, ValueError, IndexError):
        # Tags too odd to size the buffer by: assume the largest raw image (8 bytes a pixel).
        return width * height * 8


def _coefficient_bytes(image: Image.Image, stored_size: tuple[int, int]) -> int:
    width, height = stored_size
    layers = getattr(image, "layer", None) or [("", 1, 1, 0)] * 3
    h_max = max(max(1, int(layer[1])) for layer in layers)
    v_max = max(max(1, int(layer[2])) for layer in layers)
    total = 0
    for _id, h, v, _table in layers:
        columns = math.ceil(math.ceil(width * max(1, h) / h_max) / 8) * 8
        rows = math.ceil(math.ceil(height * max(1, v) / v_max) / 8) * 8
        total += columns * rows * 2
    return total
