"""Generated light-trap photos for tests: small ones with insects on them, as a pull source
serves them, and any photo kept for the test process (``kept_jpeg``)."""

from __future__ import annotations

from functools import lru_cache

from trapline.imaging.synthetic import light_trap_jpeg

#: ``light_trap_jpeg``, its last 64 photos kept: scenes and fixtures ask for the same ones again
#: (drawing them was 3% of the web pages' tests).
kept_jpeg = lru_cache(maxsize=64)(light_trap_jpeg)


def photo(seed: int) -> bytes:
    return kept_jpeg(seed, width=96, height=64, insects=2)
