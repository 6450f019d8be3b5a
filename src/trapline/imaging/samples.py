"""Sample photos for trying trapline out: generated light-trap shots, named by capture time."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from trapline.imaging.synthetic import light_trap_jpeg

#: When the first sample photo was taken; the others follow every ``SAMPLE_INTERVAL``.
SAMPLE_NIGHT = datetime(2024, 6, 22, 0, 4, 59)
#: Time between two sample photos, as a trap camera on a timer takes them.
SAMPLE_INTERVAL = timedelta(minutes=10)
#: Most sample photos one call writes.
MAX_SAMPLES = 1000


def write_sample_photos(folder: Path, count: int, *, width: int = 1600) -> list[Path]:
    """Write ``count`` light-trap JPEGs into ``folder`` (made if missing) and return their paths.

    Each file is named by its capture time (``20240622000459.jpg``), which is also in its EXIF,
    and the same call always writes the same bytes, so a second run changes nothing.
    """
    if not 1 <= count <= MAX_SAMPLES:
        raise ValueError(f"count must be from 1 to {MAX_SAMPLES} (got {count})")
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for n in range(count):
        when = SAMPLE_NIGHT + n * SAMPLE_INTERVAL
        path = folder / f"{when:%Y%m%d%H%M%S}.jpg"
        data = light_trap_jpeg(seed=1000 + n, width=width, height=width * 3 // 4, captured_at=when)
        path.write_bytes(data)
        paths.append(path)
    return paths
