"""Bodies for ``body_memory.py``: the shapes that cost the most memory per byte once parsed,
whole or in parts at the part caps (posts of results and ``/process`` answers are read part by
part), and a post as the AMI Data Companion writes it."""

from __future__ import annotations

import json
from collections.abc import Callable


def filler(shape: str, size: int) -> bytes:
    """A JSON array of about ``size`` bytes made of one costly shape."""
    if shape == "floats":
        unit, count = b"0.1,", size // 4
        return b"[" + unit * count + b"0]"
    if shape == "strings":  # distinct, so no string cache can share them
        return b"[" + b",".join(b'"%07x"' % n for n in range(size // 10)) + b"]"
    if shape == "long strings":
        text = b'"' + b"x" * 250 + b'"'
        return b"[" + b",".join([text] * (size // 253)) + b"]"
    if shape.startswith("mixed:"):  # the value budget in short strings, the rest long strings
        text = b'"' + b"x" * 2500 + b'"'
        values = int(shape.split(":")[1]) - 2_000
        short_count = values - size // 2500
        short = b",".join(b'"%07x"' % n for n in range(short_count))
        longs = (size - len(short)) // (len(text) + 1)
        return b"[" + short + b"," + b",".join([text] * longs) + b"]"
    if shape == "objects":
        return b"[" + b",".join([b'{"a":1}'] * (size // 8)) + b"]"
    raise ValueError(shape)


#: Classes of the classifier of the benchmark's pipeline (an ADC-shaped post uses them all).
CLASSES = [f"Genus species-{n:04d}" for n in range(3_000)]


def in_parts(cap: int, part: bytes, wrap: Callable[[list[bytes]], bytes]) -> bytes:
    """``wrap`` of as many copies of ``part`` as the byte cap and the post's budgets allow."""
    from trapline.protocol.base import (
        MAX_RESULTS_CONTAINERS,
        MAX_RESULTS_VALUES,
        json_containers,
        json_values,
    )

    count = min(
        (cap - len(wrap([]))) // (len(part) + 1),
        (MAX_RESULTS_VALUES - 1_000) // (json_values(part) + 1),
        (MAX_RESULTS_CONTAINERS - 1_000) // max(json_containers(part), 1),
    )
    return wrap([part] * max(count, 1))


def part_filler(shape: str) -> bytes:
    """A filler at the part caps: a post of results or an answer is read part by part."""
    from trapline.protocol.base import MAX_PART_BYTES, MAX_PART_VALUES

    size, values = MAX_PART_BYTES - 2_000, MAX_PART_VALUES - 200
    if shape == "floats":
        return b"[" + b"0.1," * (values - 1) + b"0]"
    if shape == "strings":
        return filler(shape, min(size, values * 10))
    if shape == "objects":
        return b"[" + b",".join([b'{"a":1}'] * (values // 2)) + b"]"
    if shape == "mixed":
        return filler(f"mixed:{values + 2_000}", size)
    return filler(shape, size)


def adc_post(lease: str, cap: int) -> bytes:
    """A post shaped as the AMI Data Companion sends it (``json.dumps`` defaults): detections
    whose classification carries labels, scores and logits over every class."""
    import random

    rng = random.Random(1)

    def detection() -> dict[str, object]:
        scores = [rng.random() / len(CLASSES) for _ in CLASSES]
        return {
            "source_image_id": "IMAGE",
            "bbox": {"x1": 1.0, "y1": 1.0, "x2": 20.0, "y2": 20.0},
            "algorithm": {"name": "d", "key": "d"},
            "classifications": [
                {
                    "classification": CLASSES[0],
                    "labels": CLASSES,
                    "scores": scores,
                    "logits": [rng.gauss(0, 3) for _ in CLASSES],
                    "algorithm": {"name": "c", "key": "c"},
                }
            ],
        }

    one = json.dumps(detection()).encode()
    count = (cap - 10_000) // (len(one) + 2)
    result = {"pipeline": "p", "detections": [detection() for _ in range(count)]}
    return json.dumps({"results": [{"reply_subject": lease, "result": result}]}).encode()


def halves(array: bytes) -> list[bytes]:
    """A JSON array of strings as two arrays (a classification holds 100,000 labels at most)."""
    items = array[1:-1].split(b",")
    middle = len(items) // 2
    return [b"[" + b",".join(items[:middle]) + b"]", b"[" + b",".join(items[middle:]) + b"]"]
