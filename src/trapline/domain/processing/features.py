"""Feature vectors as stored: 4-byte floats, little-endian, in a column of their own.

A classifier posts a vector of its crop with each verdict (AMI Data Companion: 2,048 numbers);
tracking compares boxes by them. As JSON numbers they took about 20 bytes each and arrived
in memory as 8-byte Python floats, each an object; stored packed they take 4 and are read back
into one ``array`` without an object per number.
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Sequence


def packed(values: Sequence[float]) -> bytes | None:
    """The vector as stored; None for an empty one, or one with a number past a 4-byte
    float's range (tracking compares such a box by its looks instead)."""
    if not values:
        return None
    try:
        vector = array("f", values)
    except OverflowError:
        return None
    if sys.byteorder == "big":
        vector.byteswap()
    return vector.tobytes()


def unpacked(stored: bytes) -> array[float] | None:
    """A stored vector, as 4-byte floats (None for an empty or cut one)."""
    if not stored or len(stored) % 4:
        return None
    vector = array("f")
    vector.frombytes(stored)
    if sys.byteorder == "big":
        vector.byteswap()
    return vector
