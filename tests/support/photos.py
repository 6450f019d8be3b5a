"""Small generated light-trap photos with insects on them, as a pull source serves them."""

from __future__ import annotations

from trapline.imaging.synthetic import light_trap_jpeg


def photo(seed: int) -> bytes:
    return light_trap_jpeg(seed, width=96, height=64, insects=2)
