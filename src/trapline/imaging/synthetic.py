"""Made-up moth light-trap photos, drawn by code, for the demo, tests and benchmarks."""

from __future__ import annotations

import io
import math
import random
import struct
import zlib
from dataclasses import dataclass
from datetime import datetime

from PIL import Image, ImageChops, ImageDraw, ImageFilter

#: Colour of a well-lit trap sheet at its brightest point.
SHEET_TONE = (240, 234, 216)
#: Insect body length as a fraction of the image's short side.
INSECT_SIZE_RANGE = (0.01, 0.08)
#: How far, in grey levels, pixel noise strays from the clean sheet in light_trap_image.
DEFAULT_GRAIN = 6
# Pixel noise of noisy_jpeg and the bytes per pixel its JPEGs then take at quality 90,
# measured once; they set the first guess at the image size that hits a byte target.
_NOISY_GRAIN = 14
_NOISY_BYTES_PER_PIXEL = 0.27
_NOISY_QUALITY = 90

_EXIF_IFD = 0x8769
_DATETIME_ORIGINAL = 36867
_OFFSET_TIME_ORIGINAL = 36881


@dataclass(frozen=True)
class Insect:
    """One drawn insect; box is (x1, y1, x2, y2) in pixels like a Pillow crop box."""

    box: tuple[int, int, int, int]


def light_trap_image(
    seed: int, width: int = 1600, height: int = 1200, insects: int | None = None
) -> tuple[Image.Image, list[Insect]]:
    """Return an RGB photo of a lit sheet with dark moths (fewer if crowded) and their boxes."""
    return _light_trap_image(seed, width, height, insects, DEFAULT_GRAIN)


def light_trap_jpeg(
    seed: int,
    *,
    width: int = 1600,
    height: int = 1200,
    insects: int | None = None,
    captured_at: datetime | None = None,
    offset: str | None = None,
    quality: int = 90,
) -> bytes:
    """Return light_trap_image as JPEG bytes, with EXIF capture time (and offset) if given."""
    image, _ = light_trap_image(seed, width, height, insects)
    return _timed_jpeg(image, captured_at, offset, quality)


def tinted_light_trap_jpeg(
    seed: int,
    tones: list[tuple[int, int, int]],
    *,
    sizes: list[float] | None = None,
    width: int = 640,
    height: int = 480,
    captured_at: datetime | None = None,
) -> tuple[bytes, list[Insect]]:
    """A light-trap JPEG with one insect of each of ``tones`` (RGB, its wings' base colour;
    its body length a fraction of the photo's short side from ``sizes`` when given, else
    drawn at random), and their boxes in the same order: insects of taxa told apart by colour
    (and size)."""
    rng = random.Random(seed)
    image = _sheet(rng, width, height)
    drawn: list[Insect] = []
    for n, tone in enumerate(tones):
        insect = _draw_insect(image, rng, drawn, tone, sizes[n] if sizes else None)
        if insect is None:
            raise ValueError(f"{len(tones)} insects do not fit on {width}x{height} pixels")
        drawn.append(insect)
    return _timed_jpeg(_add_grain(image, rng, DEFAULT_GRAIN), captured_at, None, 90), drawn


def _timed_jpeg(
    image: Image.Image, captured_at: datetime | None, offset: str | None, quality: int
) -> bytes:
    if captured_at is None:
        return _jpeg(image, quality)
    exif = Image.Exif()
    exif_ifd = exif.get_ifd(_EXIF_IFD)
    exif_ifd[_DATETIME_ORIGINAL] = captured_at.strftime("%Y:%m:%d %H:%M:%S")
    utc_offset = captured_at.utcoffset()
    if offset is None and utc_offset is not None:
        minutes = round(utc_offset.total_seconds() / 60)
        offset = f"{'-' if minutes < 0 else '+'}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    if offset is not None:
        exif_ifd[_OFFSET_TIME_ORIGINAL] = offset
    return _jpeg(image, quality, exif)


def noisy_jpeg(seed: int, target_bytes: int) -> bytes:
    """Return a grainy 3:2 light-trap JPEG of about target_bytes (within 30%), for benchmarks."""
    pixels = max(64 * 64, target_bytes / _NOISY_BYTES_PER_PIXEL)
    width = round(math.sqrt(pixels * 1.5))
    height = round(width / 1.5)
    image, _ = _light_trap_image(seed, width, height, None, _NOISY_GRAIN)
    quality = _NOISY_QUALITY
    data = _jpeg(image, quality)
    # Size grows with quality; a few steps fix what the bytes-per-pixel guess missed.
    for _ in range(4):
        ratio = len(data) / target_bytes
        if 0.85 <= ratio <= 1.15 or not 10 <= quality <= 98:
            break
        quality = max(5, min(100, quality + (-4 if ratio > 1 else 4)))
        data = _jpeg(image, quality)
    return data


#: PNG colour type by the number of samples in a pixel: grey, grey + alpha, RGB, RGBA.
_PNG_COLOUR_TYPES = {1: 0, 2: 4, 3: 2, 4: 6}


def flat_png(width: int, height: int, colour: tuple[int, ...], *, bit_depth: int = 8) -> bytes:
    """A PNG of one flat colour, written row by row: a 9,400 x 9,400 RGBA picture (353 MB
    decoded) in under 2 MB, made without ever holding it decoded. For tests of decode limits.

    ``colour`` has 1 (grey), 2 (grey, alpha), 3 (RGB) or 4 (RGBA) samples of ``bit_depth``
    (8 or 16) bits.
    """
    if len(colour) not in _PNG_COLOUR_TYPES or bit_depth not in (8, 16):
        raise ValueError(f"colour needs 1-4 samples of 8 or 16 bits (got {colour}, {bit_depth})")
    header = struct.pack(
        ">IIBBBBB", width, height, bit_depth, _PNG_COLOUR_TYPES[len(colour)], 0, 0, 0
    )
    pixel = b"".join(sample.to_bytes(bit_depth // 8, "big") for sample in colour)
    row = b"\x00" + pixel * width  # filter type 0 (none) starts each row
    packer = zlib.compressobj(1)
    data = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    return b"\x89PNG\r\n\x1a\n" + b"".join(
        _png_chunk(kind, body)
        for kind, body in ((b"IHDR", header), (b"IDAT", data), (b"IEND", b""))
    )


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _light_trap_image(
    seed: int, width: int, height: int, insects: int | None, grain: int
) -> tuple[Image.Image, list[Insect]]:
    if width < 16 or height < 16:
        raise ValueError(f"a light-trap image needs at least 16x16 pixels (got {width}x{height})")
    rng = random.Random(seed)
    count = rng.randint(5, 25) if insects is None else insects
    image = _sheet(rng, width, height)
    drawn: list[Insect] = []
    for _ in range(count):
        insect = _draw_insect(image, rng, drawn)
        if insect is not None:
            drawn.append(insect)
    return _add_grain(image, rng, grain), drawn


def _sheet(rng: random.Random, width: int, height: int) -> Image.Image:
    # Light falls off away from the lamp (an off-centre vignette) and the sheet hangs
    # unevenly (a faint gradient at a random angle); both are drawn small and scaled up.
    spread = 1.2 + rng.random() * 0.6
    big = Image.radial_gradient("L").resize((round(width * spread), round(height * spread)))
    left = rng.randint(0, big.width - width)
    top = rng.randint(0, big.height - height)
    falloff = rng.uniform(0.12, 0.25)
    light = big.crop((left, top, left + width, top + height)).point(
        lambda value: 255 - value * falloff
    )
    tilt = rng.uniform(0.03, 0.1)
    # The middle 180x180 of the turned 256x256 gradient is covered at any angle.
    slope = (
        Image.linear_gradient("L")
        .rotate(rng.uniform(0, 360), resample=Image.Resampling.BILINEAR)
        .crop((38, 38, 218, 218))
        .resize((width, height), Image.Resampling.BILINEAR)
        .point(lambda value: 255 - value * tilt)
    )
    shade = ImageChops.multiply(light, slope)
    return Image.merge(
        "RGB", [shade.point(lambda value, tone=tone: value * tone / 255) for tone in SHEET_TONE]
    )


def _draw_insect(
    image: Image.Image,
    rng: random.Random,
    drawn: list[Insect],
    tone: tuple[int, int, int] | None = None,
    size: float | None = None,
) -> Insect | None:
    short_side = min(image.size)
    length = max(6.0, (size or rng.uniform(*INSECT_SIZE_RANGE)) * short_side)
    reach = math.ceil(length * 0.8) + 3
    if 2 * reach >= short_side:
        return None
    for _ in range(20):
        centre = (rng.randint(reach, image.width - reach), rng.randint(reach, image.height - reach))
        if not any(_overlaps(insect.box, centre, reach) for insect in drawn):
            break
    else:
        return None
    mask, colour = _insect_patch(rng, length, reach, tone)
    bbox = mask.getbbox()
    if bbox is None:
        return None
    corner = (centre[0] - reach, centre[1] - reach)
    # Soft edges, as a real moth slightly out of focus on a fabric sheet.
    soft = mask.filter(ImageFilter.GaussianBlur(max(0.6, length / 60)))
    image.paste(colour, corner, soft)
    x1, y1, x2, y2 = bbox
    return Insect((corner[0] + x1, corner[1] + y1, corner[0] + x2, corner[1] + y2))


def _insect_patch(
    rng: random.Random, length: float, reach: int, tone: tuple[int, int, int] | None = None
) -> tuple[Image.Image, Image.Image]:
    size = (2 * reach, 2 * reach)
    heading = rng.uniform(0, 2 * math.pi)
    ahead = (math.cos(heading), math.sin(heading))
    side = (-ahead[1], ahead[0])

    def at(forward: float, sideways: float) -> tuple[float, float]:
        return (
            reach + (ahead[0] * forward + side[0] * sideways) * length,
            reach + (ahead[1] * forward + side[1] * sideways) * length,
        )

    base = _insect_tone(rng) if tone is None else tone
    wing_tone = _scaled(base, rng.uniform(0.85, 1.2))
    mask = Image.new("L", size, 0)
    colour = Image.new("RGB", size, wing_tone)
    mask_pen, colour_pen = ImageDraw.Draw(mask), ImageDraw.Draw(colour)
    folded = rng.random() < 0.6
    span = rng.uniform(0.3, 0.45) if folded else rng.uniform(0.55, 0.75)
    for hand in (-1.0, 1.0):
        for wing in _wing_outlines(folded, span * hand):
            points = [at(forward, sideways) for forward, sideways in wing]
            mask_pen.polygon(points, fill=255)
            colour_pen.polygon(points, fill=wing_tone)
        spot = at(-0.15 if folded else 0.05, hand * span * 0.5)
        radius = length * rng.uniform(0.03, 0.06)
        colour_pen.ellipse(
            (spot[0] - radius, spot[1] - radius, spot[0] + radius, spot[1] + radius),
            fill=_scaled(base, 0.6),
        )
    # The body's head end shows just past the wings.
    body = [
        at(0.45 * math.cos(turn) - 0.05, 0.08 * math.sin(turn))
        for turn in (i * math.pi / 12 for i in range(24))
    ]
    mask_pen.polygon(body, fill=255)
    colour_pen.polygon(body, fill=_scaled(base, 0.7))
    return mask, colour


def _wing_outlines(folded: bool, span: float) -> list[list[tuple[float, float]]]:
    # (forward, sideways) corners in body lengths; a negative span draws the left side.
    if folded:
        # Noctuid-like: forewings folded back over the body into a delta.
        return [[(0.3, span * 0.1), (-0.25, span), (-0.55, span * 0.8), (-0.5, span * 0.05)]]
    # Geometrid-like: wings spread flat, forewing ahead of hindwing.
    return [
        [(0.25, span * 0.08), (0.2, span), (-0.05, span * 0.95), (-0.15, span * 0.08)],
        [(-0.05, span * 0.08), (-0.1, span * 0.75), (-0.4, span * 0.5), (-0.45, span * 0.06)],
    ]


def _insect_tone(rng: random.Random) -> tuple[int, int, int]:
    if rng.random() < 0.6:
        red = rng.randint(70, 135)
        return red, round(red * rng.uniform(0.7, 0.85)), round(red * rng.uniform(0.45, 0.6))
    grey = rng.randint(55, 125)
    return grey, grey, round(grey * 0.95)


def _scaled(tone: tuple[int, int, int], factor: float) -> tuple[int, int, int]:
    red, green, blue = (min(255, round(channel * factor)) for channel in tone)
    return red, green, blue


def _overlaps(box: tuple[int, int, int, int], centre: tuple[int, int], reach: int) -> bool:
    x1, y1, x2, y2 = box
    return (
        centre[0] + reach > x1
        and centre[0] - reach < x2
        and centre[1] + reach > y1
        and centre[1] - reach < y2
    )


def _add_grain(image: Image.Image, rng: random.Random, grain: int) -> Image.Image:
    if grain <= 0:
        return image
    # Pillow's effect_noise draws from C's rand() and so is not repeatable; seeded bytes
    # are, and are cheap. Per-channel noise, as a camera sensor makes.
    noise = Image.frombytes("RGB", image.size, rng.randbytes(3 * image.width * image.height))
    centred = noise.point(lambda value: 128 + (value - 128) * grain / 128)
    return ImageChops.add(image, centred, offset=-128)


def _jpeg(image: Image.Image, quality: int, exif: Image.Exif | None = None) -> bytes:
    buffer = io.BytesIO()
    if exif is not None:
        image.save(buffer, "JPEG", quality=quality, exif=exif.tobytes())
    else:
        image.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()
