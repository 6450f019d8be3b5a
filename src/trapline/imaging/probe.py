"""What an uploaded file is: format, pixel size, capture time and thumbnails, from one decode;
and crops of a stored one."""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import BinaryIO, NamedTuple, cast

from PIL import Image, UnidentifiedImageError

from trapline.errors import PayloadTooLarge, UnsupportedMediaType
from trapline.imaging.limits import DecodeLimits, decode_bytes
from trapline.imaging.timestamps import exif_timestamp, parse_filename_timestamp

# Pillow's block size (whether decoded pixels go back to the system) is set by
# ``trapline.cli.tuning`` when the server starts (TRAPLINE_PILLOW_BLOCK_BYTES), never at import.
# Truncated files must fail to decode: trapline never sets PIL.ImageFile.LOAD_TRUNCATED_IMAGES.


class ImageFormat(NamedTuple):
    """How trapline stores and serves one accepted image format."""

    content_type: str
    extension: str


#: Pillow format name -> content type and file extension; nothing else is accepted.
ACCEPTED_FORMATS: Mapping[str, ImageFormat] = MappingProxyType(
    {
        "JPEG": ImageFormat("image/jpeg", "jpg"),
        "PNG": ImageFormat("image/png", "png"),
        "TIFF": ImageFormat("image/tiff", "tif"),
        "WEBP": ImageFormat("image/webp", "webp"),
    }
)
#: Long-side lengths, in pixels, of the thumbnails made on upload.
THUMBNAIL_SIZES: tuple[int, ...] = (256, 1024)
#: JPEG quality of thumbnails: small files with no visible blocking at these sizes.
THUMBNAIL_QUALITY = 85

# Cameras that write a multi-picture index get opened as "MPO"; its first picture is the JPEG.
_FORMAT_ALIASES = {"MPO": "JPEG"}
_ACCEPTED_WORDS = "JPEG, PNG, TIFF or WebP"
_MIB = 1024 * 1024
_ORIENTATION_TAG = 274
#: The limits of a decode when the caller gives none: the settings' defaults.
DEFAULT_LIMITS = DecodeLimits()


@dataclass(frozen=True)
class ImageFacts:
    """What inspect_image learned about one image file."""

    format: str
    content_type: str
    extension: str
    #: The upright size (EXIF orientation applied), the frame pipelines' boxes are in.
    width: int
    height: int
    captured_at: datetime | None
    captured_offset_minutes: int | None
    thumbnails: dict[int, bytes] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class _Decoded:
    format: str
    #: Size of the stored image (the pixels may be smaller).
    size: tuple[int, int]
    exif: Image.Exif
    #: RGB, at most as large as the largest thumbnail wanted.
    pixels: Image.Image


def inspect_image(
    stream: BinaryIO,
    filename: str,
    *,
    thumbnail_sizes: Sequence[int] = THUMBNAIL_SIZES,
    limits: DecodeLimits = DEFAULT_LIMITS,
) -> ImageFacts:
    """Check that the stream holds a whole, accepted image and describe it; rewinds the stream.

    Raises UnsupportedMediaType for what cannot be read and PayloadTooLarge for an image
    whose decoding would take more memory than ``limits`` allow.
    """
    sizes = _long_sides(thumbnail_sizes)
    try:
        # With no thumbnails wanted, a 1-pixel preview still proves the whole file decodes.
        decoded = _decode(stream, f'"{filename}"', sizes[0] if sizes else 1, limits)
    finally:
        stream.seek(0)
    image_format = ACCEPTED_FORMATS[decoded.format]
    width, height = _upright(decoded.size, _orientation(decoded.exif))
    captured_at, offset = exif_timestamp(decoded.exif) or (
        parse_filename_timestamp(filename),
        None,
    )
    return ImageFacts(
        format=decoded.format,
        content_type=image_format.content_type,
        extension=image_format.extension,
        width=width,
        height=height,
        captured_at=captured_at,
        captured_offset_minutes=offset,
        thumbnails=_thumbnails(decoded, sizes),
    )


def make_thumbnail(
    stream: BinaryIO,
    size: int,
    *,
    filename: str | None = None,
    limits: DecodeLimits = DEFAULT_LIMITS,
) -> bytes:
    """Return a JPEG of the image whose long side is size pixels (or less, never upscaled)."""
    (long_side,) = _long_sides([size])
    label = f'"{filename}"' if filename else "The stored file"
    decoded = _decode(stream, label, long_side, limits)
    return _thumbnails(decoded, [long_side])[long_side]


def make_crop(
    stream: BinaryIO,
    box: tuple[float, float, float, float],
    size: int,
    *,
    limits: DecodeLimits = DEFAULT_LIMITS,
) -> bytes:
    """Return a JPEG of the part of the image inside ``box`` (x1, y1, x2, y2 in pixels of the
    upright image, as pipelines see it), its long side ``size`` pixels or less (never upscaled).

    The image is decoded only as large as the box needs, through the thumbnails' decode.
    """
    x1, y1, x2, y2 = box
    (long_side,) = _long_sides([size])
    shrink = min(1.0, long_side / max(x2 - x1, y2 - y1, 1.0))
    pixels, upright = upright_pixels(stream, lambda side: math.ceil(side * shrink), limits=limits)
    # Out to the whole pixels the box's edges fall in, inside the image.
    left = min(max(0, math.floor(x1)), upright[0] - 1)
    top = min(max(0, math.floor(y1)), upright[1] - 1)
    right = max(left + 1, min(upright[0], math.ceil(x2)))
    bottom = max(top + 1, min(upright[1], math.ceil(y2)))
    # Each axis by its own scale: the decoded sides are rounded apart, so one scale for both
    # could ask for a row past the decoded image's last (which Pillow refuses).
    across, down = pixels.width / upright[0], pixels.height / upright[1]
    region = (left * across, top * down, right * across, bottom * down)
    target = _fit((right - left, bottom - top), long_side)
    piece = pixels.resize(target, Image.Resampling.BOX, box=region)
    return _encode_jpeg(piece, 1)


def upright_pixels(
    stream: BinaryIO, side: Callable[[int], int], *, limits: DecodeLimits = DEFAULT_LIMITS
) -> tuple[Image.Image, tuple[int, int]]:
    """The image decoded upright, its long side about ``side(stored long side)``, and its
    upright size at full resolution (the frame pipelines' boxes are in)."""
    image, _ = _open(stream, "The stored file")
    width, height = image.size
    stream.seek(0)
    decoded = _decode(stream, "The stored file", side(max(width, height)), limits)
    orientation = _orientation(decoded.exif)
    pixels = decoded.pixels.transpose(_UPRIGHT[orientation]) if orientation > 1 else decoded.pixels
    return pixels, _upright((width, height), orientation)


def upright_size(stream: BinaryIO) -> tuple[int, int]:
    """The upright size of a stored image (EXIF orientation applied) from its header alone:
    no pixel is decoded."""
    image, _ = _open(stream, "The stored file")
    return _upright(image.size, _orientation(image.getexif()))


def _upright(size: tuple[int, int], orientation: int) -> tuple[int, int]:
    """The size of an image upright: orientations 5 to 8 turn it a quarter."""
    return (size[1], size[0]) if orientation >= 5 else size


#: How to turn pixels upright for each EXIF orientation (as the worker does before it detects).
_UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def _long_sides(sizes: Sequence[int]) -> list[int]:
    if any(size < 1 for size in sizes):
        raise ValueError(f"thumbnail sizes must be positive pixel counts (got {list(sizes)})")
    # Largest first, so each smaller thumbnail is cut from the one before it.
    return sorted(set(sizes), reverse=True)


def _decode(stream: BinaryIO, label: str, long_side: int, limits: DecodeLimits) -> _Decoded:
    image, image_format = _open(stream, label)
    size = image.size
    target = _fit(size, long_side)
    if image_format == "JPEG":
        # Let libjpeg scale the DCT down to about the largest thumbnail: it still reads
        # every byte (so damage is caught) at a fraction of the full decode's cost.
        image.draft("RGB", target)
    needed = decode_bytes(image, image_format, size)
    if needed > limits.max_bytes:
        raise _too_large(label, size, image.mode, needed, limits.max_bytes)
    with limits.slot():
        exif, pixels = _load_preview(image, label, target)
        # The decoded pixels go before the slot is given back, not when the caller is done.
        del image
    return _Decoded(image_format, size, exif, pixels)


def _open(stream: BinaryIO, label: str) -> tuple[Image.Image, str]:
    """Read the header: what the file is and how large, before any pixel is decoded."""
    try:
        image = Image.open(stream, formats=list(ACCEPTED_FORMATS))
    except UnidentifiedImageError:
        raise _unreadable(label, "cannot identify image file") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        # The warning arrives as an exception only when warnings are errors (as in the tests).
        raise _unreadable(label, _too_many_pixels()) from None
    except MemoryError:
        raise
    except Exception as exc:
        raise _unreadable(label, _reason(exc)) from None
    # No `with`: closing the image would close the caller's stream too.
    image_format = _FORMAT_ALIASES.get(image.format or "", image.format or "")
    if image_format not in ACCEPTED_FORMATS:
        raise _unreadable(label, f"{image.format} files are not accepted")
    # Pillow only warns between one and two times MAX_IMAGE_PIXELS; refuse from the first.
    limit = Image.MAX_IMAGE_PIXELS
    if limit is not None and image.size[0] * image.size[1] > limit:
        raise _unreadable(label, _too_many_pixels(image.size))
    return image, image_format


def _load_preview(
    image: Image.Image, label: str, target: tuple[int, int]
) -> tuple[Image.Exif, Image.Image]:
    try:
        image.load()
    except MemoryError:
        raise
    except Exception as exc:
        raise _unreadable(label, _reason(exc)) from None
    return _exif(image), _preview(image, target, label)


def _thumbnails(decoded: _Decoded, long_sides: Sequence[int]) -> dict[int, bytes]:
    orientation = _orientation(decoded.exif)
    thumbnails: dict[int, bytes] = {}
    source = decoded.pixels
    for long_side in long_sides:
        # Sized from the stored image, not the decoded one: the JPEG scaling rounds up.
        target = _fit(decoded.size, long_side)
        if source.size != target:
            # Speed over the last bit of sharpness, which no one sees at these sizes: area
            # averaging (BOX) costs a third of Lanczos and does not alias when shrinking, and
            # reducing_gap=1.0 averages by whole factors first (1024 -> 256 is 4x4 blocks).
            source = source.resize(target, Image.Resampling.BOX, reducing_gap=1.0)
        thumbnails[long_side] = _encode_jpeg(source, orientation)
    return thumbnails


def _fit(size: tuple[int, int], long_side: int) -> tuple[int, int]:
    width, height = size
    if max(width, height) <= long_side:
        return width, height
    scale = long_side / max(width, height)
    if width >= height:
        return long_side, max(1, round(height * scale))
    return max(1, round(width * scale)), long_side


#: Source bytes converted at a time while shrinking to a preview. Converting (to RGBA for a
#: white backdrop, to float for 16-bit stretching) and resizing copy what they work on;
#: strip by strip, those copies stay a few MB instead of several times the decoded image.
_STRIP_BYTES = 2 * 1024 * 1024


def _preview(image: Image.Image, target: tuple[int, int], label: str) -> Image.Image:
    """The image shrunk to ``target`` and made RGB, without a full-size copy of it."""
    working = _working_mode(image)
    width, height = image.size
    out_width, out_height = target
    preview = Image.new(working, target)
    scale = height / out_height
    strip_rows = max(1, _STRIP_BYTES // (width * 4))
    out_rows = max(1, int(strip_rows / scale))
    for top in range(0, out_height, out_rows):
        bottom = min(out_height, top + out_rows)
        # Source rows of these output rows, fractional at the edges; BOX weighs those parts.
        start, end = top * scale, min(float(height), bottom * scale)
        first, last = math.floor(start), min(height, math.ceil(end))
        part = _convert(image.crop((0, first, width, last)), working, label)
        part = part.resize(
            (out_width, bottom - top),
            Image.Resampling.BOX,
            box=(0, start - first, width, end - first),
        )
        preview.paste(part, (0, top))
    return _to_rgb(preview)


def _working_mode(image: Image.Image) -> str:
    """The mode to shrink in: one whose averages mean what the picture shows."""
    if image.mode.startswith("I") or image.mode == "F":
        return "F"
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info:
        # Shrinking RGBA weighs colours by their alpha, so transparent areas add nothing.
        return "RGBA"
    return "RGB"


def _convert(part: Image.Image, working: str, label: str) -> Image.Image:
    try:
        if part.mode == "La":  # Pillow converts premultiplied grey only to LA
            part = part.convert("LA")
        return part.convert(working)
    except ValueError:
        raise _unreadable(label, f"its colour mode ({part.mode}) cannot be shown") from None


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode == "F":
        # Converting 16-bit or float pixels straight to RGB clips them to white; stretch the
        # actual range onto 0-255 instead so scientific TIFFs get a useful preview.
        # A one-band float image's extrema are two floats, whatever the general signature says.
        low, high = cast(tuple[float, float], image.getextrema())
        scale = 255 / (high - low) if high > low else 0.0
        return image.point(lambda value: (value - low) * scale).convert("L").convert("RGB")
    if image.mode == "RGBA":
        # Transparent areas would turn black; a white backdrop reads better.
        backdrop = Image.new("RGBA", image.size, (255, 255, 255, 255))
        backdrop.alpha_composite(image)
        return backdrop.convert("RGB")
    return image


def _encode_jpeg(image: Image.Image, orientation: int) -> bytes:
    buffer = io.BytesIO()
    extra: dict[str, bytes] = {}
    if orientation != 1:
        # Keep only the orientation tag so browsers turn the thumbnail like the original.
        exif = Image.Exif()
        exif[_ORIENTATION_TAG] = orientation
        extra["exif"] = exif.tobytes()
    image.save(buffer, "JPEG", quality=THUMBNAIL_QUALITY, **extra)
    return buffer.getvalue()


def _exif(image: Image.Image) -> Image.Exif:
    try:
        return image.getexif()
    except Exception:
        # A corrupt EXIF block does not make the pixels unreadable; treat it as absent.
        return Image.Exif()


def _orientation(exif: Image.Exif) -> int:
    """The EXIF orientation (1 to 8; 1 when absent or not one of them), read as Pillow's
    ``ImageOps.exif_transpose`` reads it, by which workers (trapline's, AMI's) turn a photo
    before they detect: a value equal to one of them (``6``, a rational 6/1, a double 6.0)
    is that one, so the server's upright frame is theirs."""
    try:
        value = exif.get(_ORIENTATION_TAG)
        return next((n for n in _UPRIGHT if value == n), 1)
    except Exception:
        return 1


def _too_many_pixels(size: tuple[int, int] | None = None) -> str:
    count = f"{size[0] * size[1]:,} pixels ({size[0]}x{size[1]})" if size else "more pixels"
    return (
        f"it has {count}, more than the {Image.MAX_IMAGE_PIXELS:,} trapline decodes "
        "(a guard against decompression bombs)"
    )


def _too_large(
    label: str, size: tuple[int, int], mode: str, needed: int, allowed: int
) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"{label} is too large to decode: its {size[0]} x {size[1]} pixels ({mode}) would take"
        f" {needed / _MIB:,.0f} MiB of memory, more than the {allowed / _MIB:,.0f} MiB trapline"
        " decodes per image (TRAPLINE_MAX_DECODE_BYTES); save it as a baseline JPEG, which"
        " decodes at a reduced size, or scale it down",
        code="image_too_large",
    )


def _reason(exc: Exception) -> str:
    return str(exc) or type(exc).__name__


def _unreadable(label: str, reason: str) -> UnsupportedMediaType:
    return UnsupportedMediaType(
        f"{label} is not an image trapline can read ({_ACCEPTED_WORDS}): {reason}"
    )
