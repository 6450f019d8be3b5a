"""What an uploaded file is: format, pixel size, capture time and thumbnails, from one decode."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import BinaryIO, NamedTuple, cast

from PIL import Image, UnidentifiedImageError

from trapline.errors import UnsupportedMediaType
from trapline.imaging.timestamps import exif_timestamp, parse_filename_timestamp

# Truncated files must fail to decode: trapline never sets PIL.ImageFile.LOAD_TRUNCATED_IMAGES,
# whose default (False) makes Pillow raise "image file is truncated".


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
_ORIENTATION_TAG = 274


@dataclass(frozen=True)
class ImageFacts:
    """What inspect_image learned about one image file."""

    format: str
    content_type: str
    extension: str
    width: int
    height: int
    captured_at: datetime | None
    captured_offset_minutes: int | None
    thumbnails: dict[int, bytes] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class _Decoded:
    format: str
    size: tuple[int, int]
    exif: Image.Exif
    pixels: Image.Image


def inspect_image(
    stream: BinaryIO, filename: str, *, thumbnail_sizes: Sequence[int] = THUMBNAIL_SIZES
) -> ImageFacts:
    """Check that the stream holds a whole, accepted image and describe it; rewinds the stream."""
    sizes = _long_sides(thumbnail_sizes)
    try:
        # With no thumbnails wanted, the smallest JPEG scale still proves the file decodes.
        decoded = _decode(stream, f'"{filename}"', sizes[0] if sizes else 1)
    finally:
        stream.seek(0)
    image_format = ACCEPTED_FORMATS[decoded.format]
    captured_at, offset = exif_timestamp(decoded.exif) or (
        parse_filename_timestamp(filename),
        None,
    )
    return ImageFacts(
        format=decoded.format,
        content_type=image_format.content_type,
        extension=image_format.extension,
        width=decoded.size[0],
        height=decoded.size[1],
        captured_at=captured_at,
        captured_offset_minutes=offset,
        thumbnails=_thumbnails(decoded, sizes),
    )


def make_thumbnail(stream: BinaryIO, size: int, *, filename: str | None = None) -> bytes:
    """Return a JPEG of the image whose long side is size pixels (or less, never upscaled)."""
    (long_side,) = _long_sides([size])
    decoded = _decode(stream, f'"{filename}"' if filename else "The stored file", long_side)
    return _thumbnails(decoded, [long_side])[long_side]


def _long_sides(sizes: Sequence[int]) -> list[int]:
    if any(size < 1 for size in sizes):
        raise ValueError(f"thumbnail sizes must be positive pixel counts (got {list(sizes)})")
    # Largest first, so each smaller thumbnail is cut from the one before it.
    return sorted(set(sizes), reverse=True)


def _decode(stream: BinaryIO, label: str, long_side: int) -> _Decoded:
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
    # No `with`: closing the image would not close the caller's stream, only void the pixels.
    image_format = _FORMAT_ALIASES.get(image.format or "", image.format or "")
    if image_format not in ACCEPTED_FORMATS:
        raise _unreadable(label, f"{image.format} files are not accepted")
    size = image.size
    # Pillow only warns between one and two times MAX_IMAGE_PIXELS; refuse from the first.
    limit = Image.MAX_IMAGE_PIXELS
    if limit is not None and size[0] * size[1] > limit:
        raise _unreadable(label, _too_many_pixels(size))
    if image_format == "JPEG":
        # Let libjpeg scale the DCT down to about the largest thumbnail: it still reads
        # every byte (so damage is caught) at a fraction of the full decode's cost.
        image.draft("RGB", _fit(size, long_side))
    try:
        image.load()
    except MemoryError:
        raise
    except Exception as exc:
        raise _unreadable(label, _reason(exc)) from None
    return _Decoded(image_format, size, _exif(image), _to_rgb(image))


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


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode == "RGB":
        return image
    if image.mode.startswith("I") or image.mode == "F":
        # Converting 16-bit or float pixels straight to RGB clips them to white; stretch the
        # actual range onto 0-255 instead so scientific TIFFs get a useful preview.
        wide = image.convert("F")
        # A one-band float image's extrema are two floats, whatever the general signature says.
        low, high = cast(tuple[float, float], wide.getextrema())
        scale = 255 / (high - low) if high > low else 0.0
        return wide.point(lambda value: (value - low) * scale).convert("L").convert("RGB")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info:
        # Transparent areas would turn black; a white backdrop reads better.
        backdrop = Image.new("RGBA", image.size, (255, 255, 255, 255))
        backdrop.alpha_composite(image.convert("RGBA"))
        return backdrop.convert("RGB")
    return image.convert("RGB")


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
    try:
        value = exif.get(_ORIENTATION_TAG)
    except Exception:
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _too_many_pixels(size: tuple[int, int] | None = None) -> str:
    count = f"{size[0] * size[1]:,} pixels ({size[0]}x{size[1]})" if size else "more pixels"
    return (
        f"it has {count}, more than the {Image.MAX_IMAGE_PIXELS:,} trapline decodes "
        "(a guard against decompression bombs)"
    )


def _reason(exc: Exception) -> str:
    return str(exc) or type(exc).__name__


def _unreadable(label: str, reason: str) -> UnsupportedMediaType:
    return UnsupportedMediaType(
        f"{label} is not an image trapline can read ({_ACCEPTED_WORDS}): {reason}"
    )
