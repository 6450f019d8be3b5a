"""COCO run-length masks: their counts read lazily, in time linear in their length.

A mask runs down each column in turn (column-major), starting with a run of zeros. Its counts
come as a list of run lengths or as COCO's compressed string: each count in 5-bit groups, low
group first, as characters from ``0`` (48) on; a group with bit 0x20 set continues the number,
and bit 0x10 of the last group is its sign. From the fourth count on, each is stored as the
difference from the count two before it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

#: Groups one count may take: 8 groups of 5 bits hold any run of a 2**40-pixel mask. More would only
#: make one huge number (and big-number arithmetic costs grow with it).
MAX_GROUPS = 8


def iter_counts(counts: str | Sequence[int]) -> Iterator[int]:
    """The run lengths, one at a time; ValueError at the first one that is malformed or
    negative."""
    if not isinstance(counts, str):
        for n, count in enumerate(counts):
            if count < 0:
                raise ValueError(f"count {n} of the RLE is negative")
            yield int(count)
        return
    two_before = one_before = 0  # from the fourth count on, each adds the one two before
    m, p, end = 0, 0, len(counts)
    while p < end:
        value = shift = 0
        for group in range(MAX_GROUPS + 1):
            if group == MAX_GROUPS:
                raise ValueError(f"a count of the RLE string is longer than {MAX_GROUPS} groups")
            if p >= end:
                raise ValueError("the RLE string ends inside a number")
            c = ord(counts[p]) - 48
            if not 0 <= c < 64:
                raise ValueError(f"the RLE string holds {counts[p]!r}, not a count character")
            value |= (c & 0x1F) << shift
            p += 1
            shift += 5
            if not c & 0x20:
                if c & 0x10:
                    value |= -1 << shift
                break
        if m > 2:
            value += two_before
        if value < 0:
            raise ValueError(f"count {m} of the RLE string is negative")
        two_before, one_before = one_before, value
        m += 1
        yield value


def column_runs(
    counts: str | Sequence[int], height: int, most: int
) -> list[tuple[int, int, int]] | None:
    """(x, y, length) of each run of ones cut at column ends, for a mask ``height`` pixels
    tall; None when there are more than ``most`` of them. The counts are read only while they
    can still make at most ``most`` runs (each run of ones, bar empty ones, makes at least one),
    so the work is bounded by ``most`` however long they are."""
    runs: list[tuple[int, int, int]] = []
    start = 0
    for n, count in enumerate(iter_counts(counts)):
        if n > 2 * most:  # a mask of `most` runs has 2 most + 1 counts at most
            return None
        if n % 2:  # a run of ones
            at, end = start, start + count
            while at < end:
                x, y = divmod(at, height)
                length = min(end - at, height - y)
                runs.append((x, y, length))
                if len(runs) > most:
                    return None
                at += length
        start += count
    return runs
